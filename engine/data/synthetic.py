"""Deterministic synthetic OHLCV markets, for demos, tests and benchmarks without real data.

Model. Each symbol's daily log return is ``drift + beta * market + idiosyncratic``: one market
factor shared by all symbols (seeded by ``seed`` alone) and a per-symbol part. The symbol's
volatility (15-45 % a year), correlation with the market (0.3-0.8, so ``beta = rho * vol /
market_vol``), drift, starting price and typical volume all come from a SHA-256 hash of
``(symbol, seed)``, never from Python's salted ``hash``. Two symbols' daily returns therefore
correlate about ``rho_a * rho_b`` (see :func:`symbol_profile`).

Determinism. A bar depends only on ``(symbol, seed, frequency, timestamp)``, not on the other
symbols requested nor on the window. Each stream is a PCG64 generator keyed by a hash, and bar
``k`` always reads the uniforms at offset ``k * width`` of that stream, reached with
``PCG64.advance`` (offsets may be negative: the 2**128 cycle wraps), so a stream can start at
any bar without drawing the ones before it. Normals come from those uniforms by Box-Muller in
our code, which keeps the streams stable across numpy versions. Daily bars are indexed by
weekday count from the origin 2000-01-03 and the close chain is summed outward from that origin,
forward and backward, so prices are bit-identical for every window; the cost grows with the
distance from 2000 (about 40 ms per 1,000 weekdays for 500 symbols). Intraday bars of a day read
that day's slot of a ``(symbol, seed, frequency)`` stream and form a Brownian bridge from the
day's daily open to its daily close, so days chain through the daily series (open gaps from the
previous close) and never depend on the requested start. Intraday opens/closes per day thus
match the daily series; intraday highs/lows do not.

Calendar. Weekdays only; daily bars are stamped 00:00 UTC of the session date, intraday bars
at their opening time inside a 14:30-21:00 UTC session (the last 1h bar is 30 minutes long).
The synthetic session ignores DST and holidays; a real exchange calendar comes later.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import SpecError
from engine.market import Market

FREQUENCIES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "1d": 1440}
ORIGIN = np.datetime64("2000-01-03", "D")  # a Monday: daily bar index 0
SESSION_OPEN = np.timedelta64(14 * 60 + 30, "m")
SESSION_MINUTES = 390
TRADING_DAYS = 252
MARKET_VOL = 0.16  # annualised volatility of the market factor
MARKET_DRIFT = 0.06
VERSION_PREFIX = "synthetic-v1:"
_CYCLE = 1 << 128


@dataclass(frozen=True)
class SymbolProfile:
    """Per-symbol constants of the synthetic model (annualised where it matters)."""

    volatility: float
    correlation: float  # with the market factor
    beta: float
    drift: float
    price0: float  # close on the origin day
    volume0: float  # typical daily volume


def synthetic_market(
    symbols: Iterable[str] | str,
    start: Any,
    end: Any,
    frequency: str = "1d",
    seed: int = 42,
) -> Market:
    """A reproducible ``source="synthetic"`` market for ``symbols`` between ``start`` and ``end``.

    ``start``/``end`` are inclusive, anything ``pd.Timestamp`` accepts, read as UTC when naive.
    Raises :class:`SpecError` naming ``symbols``, ``start_date``, ``end_date``, ``frequency`` or
    ``seed`` when an input is unusable. A window without sessions gives a market with no bars.
    """
    names, t0, t1 = _validate(symbols, start, end, frequency, seed)
    profiles = [symbol_profile(s, seed) for s in names]
    if frequency == "1d":
        stamps, bars = _daily_window(names, profiles, seed, t0, t1)
    else:
        stamps, bars = _intraday_window(names, profiles, seed, t0, t1, frequency)
    arrays = {k: np.ascontiguousarray(v.T) for k, v in bars.items()}
    return Market(
        timestamps=stamps.astype("datetime64[ns]"),
        symbols=names,
        open=arrays["open"],
        high=arrays["high"],
        low=arrays["low"],
        close=arrays["close"],
        volume=arrays["volume"],
        frequency=frequency,
        source="synthetic",
        version=_version(names, t0, t1, frequency, seed),
    )


def symbol_profile(symbol: str, seed: int = 42) -> SymbolProfile:
    """The model constants of ``symbol`` under ``seed``, from a stable hash of both."""
    digest = _digest("profile", symbol, seed)
    u = [int.from_bytes(digest[4 * i : 4 * i + 4], "big") / 2**32 for i in range(5)]
    volatility = 0.15 + 0.30 * u[0]
    correlation = 0.30 + 0.50 * u[1]
    return SymbolProfile(
        volatility=volatility,
        correlation=correlation,
        beta=correlation * volatility / MARKET_VOL,
        drift=-0.02 + 0.14 * u[2],
        price0=float(np.exp(np.log(10.0) + u[3] * np.log(50.0))),  # 10 .. 500
        volume0=float(np.exp(np.log(1e5) + u[4] * np.log(100.0))),  # 1e5 .. 1e7
    )


# --- validation -----------------------------------------------------------------------------


def _validate(
    symbols: Iterable[str] | str, start: Any, end: Any, frequency: str, seed: int
) -> tuple[tuple[str, ...], pd.Timestamp, pd.Timestamp]:
    """Check every input at once; raise one SpecError listing each bad field."""
    errors: dict[str, list[str]] = {}
    names: tuple[Any, ...]  # strings once _symbols_problem finds none wrong
    try:
        names = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    except TypeError:
        names = (symbols,)  # not iterable: reported below as a non-string symbol
    if msg := _symbols_problem(names):
        errors["symbols"] = [msg]
    if not isinstance(frequency, str) or frequency not in FREQUENCIES:
        errors["frequency"] = [
            f"unknown frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}"
        ]
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        errors["seed"] = [f"seed must be an integer, got {seed!r}"]
    t0, t1 = _timestamp(start, "start_date", errors), _timestamp(end, "end_date", errors)
    if t0 is not None and t1 is not None and t1 < t0:
        errors["end_date"] = [
            f"end_date {t1.isoformat()} is before start_date {t0.isoformat()}; "
            "give an end_date on or after start_date"
        ]
    if errors:
        raise SpecError(errors)
    return names, t0, t1


def _symbols_problem(names: tuple[Any, ...]) -> str | None:
    if not names:
        return "give at least one symbol, e.g. ['AAPL', 'MSFT']"
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            return f"symbols must be non-empty strings; item {i} is {name!r}"
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        return f"symbols {dupes} are listed more than once; list each symbol once"
    return None


def _timestamp(value: Any, field: str, errors: dict[str, list[str]]) -> pd.Timestamp | None:
    """``value`` as a tz-naive UTC Timestamp, or None after recording why it is unusable."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        ts = None
    if ts is None or pd.isna(ts):
        errors[field] = [f"cannot read {value!r} as a date; use ISO 8601, e.g. 2020-01-31"]
        return None
    return ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts


def _version(
    names: tuple[str, ...], t0: pd.Timestamp, t1: pd.Timestamp, frequency: str, seed: int
) -> str:
    payload = json.dumps([list(names), t0.isoformat(), t1.isoformat(), frequency, int(seed)])
    return VERSION_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- random streams -------------------------------------------------------------------------


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).digest()


def _uniforms(key: tuple[Any, ...], first: int, rows: int, width: int, out: np.ndarray) -> None:
    """Fill ``out`` (rows, width) with the uniforms of rows ``first..`` of stream ``key``."""
    bits = np.random.PCG64(np.random.SeedSequence(int.from_bytes(_digest(*key), "big")))
    bits.advance((first * width) % _CYCLE)
    np.random.Generator(bits).random(out=out.reshape(rows, width))


def _box_muller(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals from two uniforms in [0, 1) (in place where it can)."""
    radius = np.log1p(-u1)  # 1 - u lies in (0, 1]
    radius *= -2.0
    np.sqrt(radius, out=radius)
    angle = u2 * (2.0 * np.pi)
    cos = np.cos(angle)
    cos *= radius
    np.sin(angle, out=angle)
    angle *= radius
    return cos, angle


def _exponential(u: np.ndarray) -> np.ndarray:
    """Unit exponentials (mean 1) from uniforms: cheap one-sided noise for candle wicks."""
    out = np.log1p(-u)
    return np.negative(out, out=out)


def _draws(keys: list[tuple[Any, ...]], first: int, rows: int, width: int) -> np.ndarray:
    """``(width, len(keys), rows)`` uniforms, one independent stream per key.

    Row ``k`` of a stream always holds its draws ``k * width ..``; each of the ``width``
    variables lands in its own contiguous ``(S, rows)`` block.
    """
    out = np.empty((width, len(keys), rows))
    buffer = np.empty((rows, width))
    for i, key in enumerate(keys):
        _uniforms(key, first, rows, width, buffer)
        out[:, i, :] = buffer.T
    return out


def _logistic(u: np.ndarray) -> np.ndarray:
    """Unit-variance logistic noise (normal-like, heavier tails) from uniforms, without trig."""
    u = np.clip(u, 1e-12, 1.0 - 1e-12)
    odds = np.subtract(1.0, u)
    np.divide(u, odds, out=odds)
    np.log(odds, out=odds)
    odds *= np.sqrt(3.0) / np.pi
    return odds


def _market(seed: int, frequency: str, first: int, rows: int) -> np.ndarray:
    """The market factor's standard normals for bars ``first .. first + rows - 1``."""
    u = _draws([("market", seed, frequency)], first, rows, 2)
    return _box_muller(u[0, 0], u[1, 0])[0]


def _column(profiles: list[SymbolProfile], name: str, ndim: int = 2) -> np.ndarray:
    """One profile constant per symbol, shaped ``(S, 1, ...)`` to broadcast over bars."""
    return np.array([getattr(p, name) for p in profiles]).reshape((-1,) + (1,) * (ndim - 1))


def _shock(profiles, market, z_idio, vol, market_vol, ndim: int = 2) -> np.ndarray:
    """Zero-mean log return per bar: ``beta * market + idiosyncratic``, total sd ``vol``."""
    beta, rho = _column(profiles, "beta", ndim), _column(profiles, "correlation", ndim)
    return beta * market_vol * market + vol * np.sqrt(1.0 - rho**2) * z_idio


def _candles(log_open, log_close, wick_scale, e_high, e_low) -> dict[str, np.ndarray]:
    """OHLC with exponential wicks beyond the body, so high >= max(o, c), low <= min(o, c).

    Consumes ``e_high`` and ``e_low`` (they become the high and low).
    """
    e_high *= wick_scale
    e_high += np.maximum(log_open, log_close)
    e_low *= -wick_scale
    e_low += np.minimum(log_open, log_close)
    arrays = {"open": log_open, "high": e_high, "low": e_low, "close": log_close}
    return {name: np.exp(values, out=values) for name, values in arrays.items()}


def _volume(base: np.ndarray, noise: np.ndarray, surprise: np.ndarray) -> np.ndarray:
    """Lognormal-ish whole-share volume that rises with the size of the move (``surprise``)."""
    level = surprise - 0.8
    level *= 0.4
    level += 0.35 * noise
    np.exp(level, out=level)
    level *= base
    np.round(level, out=level)
    return np.maximum(level, 1.0, out=level)


# --- daily ----------------------------------------------------------------------------------


def _sessions(first: np.datetime64, last: np.datetime64) -> np.ndarray:
    days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
    return days[np.is_busday(days)]


def _empty(n_symbols: int) -> dict[str, np.ndarray]:
    return {k: np.empty((n_symbols, 0)) for k in ("open", "high", "low", "close", "volume")}


def _daily_window(names, profiles, seed, t0, t1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Daily bars stamped at 00:00 of each weekday with ``t0 <= stamp <= t1``."""
    days = _sessions(np.datetime64(t0.ceil("D").date()), np.datetime64(t1.floor("D").date()))
    if len(days) == 0:
        return days, _empty(len(names))
    k0 = int(np.busday_count(ORIGIN, days[0]))
    return days, _daily_bars(names, profiles, seed, k0, k0 + len(days) - 1)


def _daily_bars(names, profiles, seed, k0: int, k1: int) -> dict[str, np.ndarray]:
    """``(S, k1 - k0 + 1)`` daily OHLCV for weekday indices ``k0..k1`` counted from the origin."""
    a, b = min(k0 - 1, 0), max(k1, 0)  # a range holding the origin and the previous close
    u = _draws([("symbol", s, seed, "1d") for s in names], a, b - a + 1, 5)
    z_idio, z_gap = _box_muller(u[0], u[1])
    vol = _column(profiles, "volatility") / np.sqrt(TRADING_DAYS)
    market = _market(seed, "1d", a, b - a + 1)
    shock = _shock(profiles, market, z_idio, vol, MARKET_VOL / np.sqrt(TRADING_DAYS))
    drift = _column(profiles, "drift") / TRADING_DAYS - vol**2 / 2
    log_close = _chain(np.log(_column(profiles, "price0")), drift + shock, origin=-a)
    now, prev = slice(k0 - a, k1 - a + 1), slice(k0 - a - 1, k1 - a)
    log_open = log_close[:, prev] + 0.3 * shock[:, now] + 0.15 * vol * z_gap[:, now]
    e_high, e_low = _exponential(u[2][:, now]), _exponential(u[3][:, now])
    bars = _candles(log_open, log_close[:, now], 0.4 * vol, e_high, e_low)
    surprise = np.abs(shock[:, now]) / vol
    bars["volume"] = _volume(_column(profiles, "volume0"), _logistic(u[4][:, now]), surprise)
    return bars


def _chain(log_p0: np.ndarray, returns: np.ndarray, origin: int) -> np.ndarray:
    """Log closes from per-bar log returns, summed outward from column ``origin``.

    Summing from the origin (never from the window's edge) keeps every value bit-identical
    whatever range was drawn, because cumulative sums of a common prefix are equal.
    """
    out = np.empty_like(returns)
    out[:, origin] = log_p0[:, 0]
    out[:, origin + 1 :] = log_p0 + np.cumsum(returns[:, origin + 1 :], axis=1)
    if origin:
        back = np.cumsum(returns[:, origin:0:-1], axis=1)  # r_0, r_-1, ... r_(a+1)
        out[:, :origin] = (log_p0 - back)[:, ::-1]
    return out


# --- intraday -------------------------------------------------------------------------------


def _intraday_window(
    names, profiles, seed, t0, t1, frequency
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Intraday bars of every weekday session touching the window, cut to ``[t0, t1]``."""
    minutes = FREQUENCIES[frequency]
    per_day = -(-SESSION_MINUTES // minutes)
    days = _sessions(np.datetime64(t0.floor("D").date()), np.datetime64(t1.floor("D").date()))
    offsets = SESSION_OPEN + np.arange(per_day) * np.timedelta64(minutes, "m")
    stamps = (days.astype("datetime64[m]")[:, None] + offsets).ravel()
    keep = (stamps >= np.datetime64(t0)) & (stamps <= np.datetime64(t1))
    if not keep.any():
        return stamps[keep], _empty(len(names))
    k0 = int(np.busday_count(ORIGIN, days[0]))
    daily = _daily_bars(names, profiles, seed, k0, k0 + len(days) - 1)
    bars = _intraday_bars(names, profiles, seed, frequency, k0, daily)
    return stamps[keep], {k: v.reshape(len(names), -1)[:, keep] for k, v in bars.items()}


def _intraday_bars(names, profiles, seed, frequency, k0, daily) -> dict[str, np.ndarray]:
    """``(S, days, per_day)`` bars bridging each day's daily open to its daily close."""
    per_day = -(-SESSION_MINUTES // FREQUENCIES[frequency])
    n_days, rows = daily["open"].shape[1], daily["open"].shape[1] * per_day
    keys = [("symbol", s, seed, frequency) for s in names]
    u = _draws(keys, k0 * per_day, rows, 4).reshape(4, len(names), n_days, per_day)
    z_idio, z_volume = _box_muller(u[0], u[1])
    market = _market(seed, frequency, k0 * per_day, rows).reshape(n_days, per_day)
    scale = np.sqrt(TRADING_DAYS * per_day)
    vol = _column(profiles, "volatility", 3) / scale
    shock = _shock(profiles, market, z_idio, vol, MARKET_VOL / scale, ndim=3)
    log_open, log_close = _bridge(np.log(daily["open"]), np.log(daily["close"]), shock)
    bars = _candles(log_open, log_close, 0.4 * vol, _exponential(u[2]), _exponential(u[3]))
    bars["volume"] = _intraday_volume(daily["volume"], z_volume, np.abs(shock) / vol)
    return bars


def _bridge(log_open_d, log_close_d, shock) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar log opens and closes walking from each day's open to exactly its close.

    Removing each day's mean shock and adding an equal share of the day's move is a Brownian
    bridge: the bars keep their noise but always sum to the daily return.
    """
    per_day = shock.shape[-1]
    move = (log_close_d - log_open_d)[..., None] / per_day
    steps = shock - shock.mean(axis=-1, keepdims=True) + move
    log_close = log_open_d[..., None] + np.cumsum(steps, axis=-1)
    log_close[..., -1] = log_close_d  # land exactly on the daily close
    log_open = np.concatenate([log_open_d[..., None], log_close[..., :-1]], axis=-1)
    return log_open, log_close


def _intraday_volume(daily: np.ndarray, noise: np.ndarray, surprise: np.ndarray) -> np.ndarray:
    """Split daily volume over a U-shaped session profile, with noise and move sensitivity."""
    per_day = noise.shape[-1]
    x = (np.arange(per_day) + 0.5) / per_day
    profile = 1.0 + 2.0 * (2.0 * x - 1.0) ** 2
    return _volume(daily[..., None] * profile / profile.sum(), noise, surprise)
