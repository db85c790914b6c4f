"""Optional sections of a result document (trades, positions, analytics) without storing copies.

The engine renders a document with or without each section. We store the full document and,
per section, a patch from the full rendering to the lighter one (keys dropped, values replaced,
nested objects patched recursively); reading applies the patches of the sections not wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECTIONS = ("include_trades", "include_positions", "include_analytics")
CURVES_SECTION = "include_curves"
"""An optimization's best sets' equity curves: the report reads them, ``GET /optimization/{id}``
leaves them out."""


def diff(full: Mapping[str, Any], lighter: Mapping[str, Any]) -> dict[str, Any]:
    """The patch that turns ``full`` into ``lighter`` (empty parts omitted)."""
    patch: dict[str, Any] = {}
    drop = sorted(k for k in full if k not in lighter)
    replace: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in lighter.items():
        old = full.get(key)
        if key in full and old == value:
            continue
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            nested[key] = diff(old, value)
        else:
            replace[key] = value
    for name, part in (("drop", drop), ("replace", replace), ("nested", nested)):
        if part:
            patch[name] = part
    return patch


def apply(document: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with ``patch`` applied (a new object; ``document`` is left alone)."""
    out = dict(document)
    for key in patch.get("drop", ()):
        out.pop(key, None)
    out.update(patch.get("replace", {}))
    for key, sub in patch.get("nested", {}).items():
        if isinstance(out.get(key), Mapping):
            out[key] = apply(out[key], sub)
    return out


def section_patches(
    full: Mapping[str, Any], pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Per section, the patch that removes it: the difference between a rendering with the
    section and one without it (``pairs[section] = (with, without)``)."""
    return {section: diff(with_, without) for section, (with_, without) in pairs.items()}


def select_sections(
    full: Mapping[str, Any], patches: Mapping[str, Mapping[str, Any]], include: Mapping[str, bool]
) -> dict[str, Any]:
    """The document with every section whose ``include`` flag is False taken out."""
    document = dict(full)
    for section, wanted in include.items():
        if not wanted and section in patches:
            document = apply(document, patches[section])
    return document


KEY_ORDER = "_key_order"
"""Where ``sections`` keeps the document's key order: PostgreSQL's JSONB reorders object keys."""


def key_order(value: Any) -> Any:
    """The key order of every object in ``value``, as nested lists (which JSONB keeps):
    an object is ``[[key, child order], ...]``, a list ``{"each": order of its first item}``."""
    if isinstance(value, Mapping):
        return [[key, key_order(child)] for key, child in value.items()]
    if isinstance(value, list):
        first = next((v for v in value if isinstance(v, Mapping | list)), None)
        return {"each": key_order(first)} if first is not None else None
    return None


def reorder(value: Any, order: Any) -> Any:
    """``value`` with its objects' keys in ``order`` (keys ``order`` lacks keep their place
    after those it names)."""
    if isinstance(value, Mapping) and isinstance(order, list):
        out = {key: reorder(value[key], child) for key, child in order if key in value}
        out.update((key, child) for key, child in value.items() if key not in out)
        return out
    if isinstance(value, list) and isinstance(order, Mapping):
        return [reorder(item, order.get("each")) for item in value]
    return value
