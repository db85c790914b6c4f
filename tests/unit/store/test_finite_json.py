"""Undefined numbers reach the database as null, never as NaN (PostgreSQL refuses NaN in JSON)."""

from __future__ import annotations

import json
import math

import numpy as np
import sqlalchemy as sa

from store.db import finite_json, make_engine


def test_non_finite_numbers_become_null_at_any_depth():
    doc = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": "NaN", "e": 2}
    assert json.loads(finite_json(doc)) == {"a": None, "b": [1.0, None, {"c": None}], "d": "NaN",
                                            "e": 2}  # fmt: skip


def test_engines_store_them_as_null(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    table = sa.Table("t", sa.MetaData(), sa.Column("doc", sa.JSON))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(doc={"sharpe": math.nan}))
        assert conn.execute(sa.select(table.c.doc)).scalar_one() == {"sharpe": None}


def test_numpy_values_and_integer_keys_are_written_as_the_standard_library_would():
    doc = {1: np.float64(2.5), "n": np.int64(3), "v": np.array([1.0, np.nan]), "t": (1, 2)}
    assert json.loads(finite_json(doc)) == {"1": 2.5, "n": 3, "v": [1.0, None], "t": [1, 2]}


def test_integers_beyond_64_bits_take_the_standard_librarys_path():
    assert json.loads(finite_json({"big": 2**70, "x": math.nan})) == {"big": 2**70, "x": None}
