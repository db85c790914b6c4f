"""Optional sections of a result document (trades, positions, analytics) without storing copies.

The engine renders a document with or without each section. We store the full document and,
per section, a patch from the full rendering to the lighter one (keys dropped, values replaced,
nested objects patched recursively); reading applies the patches of the sections not wanted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECTIONS = ("include_trades", "include_positions", "include_analytics")


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
