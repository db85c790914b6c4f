from __future__ import annotations

import pytest

from engine.data.sources import DATABASE, SYNTHETIC, resolve_source
from engine.errors import SpecError


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], DATABASE),
        (["IBKR"], DATABASE),
        (["synthetic"], SYNTHETIC),
        (["Database"], DATABASE),
        (["db"], DATABASE),
        (["Yahoo-Finance", "Alpha_Vantage"], DATABASE),
    ],
)
def test_sources_resolve(names, expected):
    assert resolve_source(names) == expected


@pytest.mark.parametrize(
    ("names", "match"), [(["Bloomberg"], "unknown data source"), (["synthetic", "db"], "mixed")]
)
def test_bad_sources_name_the_field(names, match):
    with pytest.raises(SpecError, match=match) as caught:
        resolve_source(names)
    assert "data_sources" in caught.value.errors
