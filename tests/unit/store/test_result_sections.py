from __future__ import annotations

import json

from store.result_sections import apply, diff, section_patches, select_sections

FULL = {
    "summary": {"a": 1, "b": 2},
    "trades": [1, 2, 3],
    "positions": {"cash": [1.0]},
    "risk": {"var": -1},
    "same": 5,
}
WITHOUT = {
    "include_trades": {k: v for k, v in FULL.items() if k != "trades"},
    "include_positions": {
        **{k: v for k, v in FULL.items() if k != "positions"},
        "summary": {"a": 1},
    },
    "include_analytics": {k: v for k, v in FULL.items() if k != "risk"},
}


def test_diff_then_apply_gives_the_lighter_document():
    for lighter in WITHOUT.values():
        assert apply(FULL, diff(FULL, lighter)) == lighter


def test_select_combines_sections_and_leaves_the_stored_document_alone():
    patches = section_patches(FULL, {k: (FULL, v) for k, v in WITHOUT.items()})
    chosen = select_sections(
        FULL,
        patches,
        {"include_trades": False, "include_positions": False, "include_analytics": True},
    )
    assert chosen == {"summary": {"a": 1}, "risk": {"var": -1}, "same": 5}
    assert "trades" in FULL and FULL["summary"] == {"a": 1, "b": 2}


def test_everything_included_is_the_full_document():
    patches = section_patches(FULL, {k: (FULL, v) for k, v in WITHOUT.items()})
    assert select_sections(FULL, patches, dict.fromkeys(WITHOUT, True)) == FULL


def test_patches_from_independent_renderings_apply_to_the_full_document():
    base = {"summary": 1}
    with_trades, with_positions = base | {"trades": [1]}, base | {"positions": [2]}
    full = base | {"trades": [1], "positions": [2]}
    patches = section_patches(
        full, {"include_trades": (with_trades, base), "include_positions": (with_positions, base)}
    )
    assert select_sections(full, patches, {"include_trades": False}) == base | {"positions": [2]}
    assert select_sections(full, patches, {"include_positions": False}) == base | {"trades": [1]}


def test_key_order_survives_a_store_that_sorts_keys():
    from store.result_sections import key_order, reorder

    document = {
        "zeta": 1,
        "alpha": {"b": 2, "a": [1, 2]},
        "trades": [{"symbol": "X", "pnl": 1.0}, {"symbol": "Y", "pnl": 2.0}],
        "series": [1.0, None],
    }
    order = json.loads(json.dumps(key_order(document)))
    scrambled = json.loads(json.dumps(document, sort_keys=True))
    assert list(scrambled) != list(document)
    restored = reorder(scrambled, order)
    assert json.dumps(restored) == json.dumps(document)
    assert list(reorder({"new": 0, **scrambled}, order))[-1] == "new"
