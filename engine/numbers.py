"""Numbers a strategy reads: finite, and zero or normal, so that every backend reads them alike.

XLA's CPU and GPU programs flush subnormal floats (magnitude below 2.2250738585072014e-308) to
zero and numba's do not, so ``momentum < 5e-324`` held at a zero return on one backend and not
on the other. Such a threshold means nothing a trader could intend; it is refused with the
reason rather than rounded silently.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TypeGuard

SMALLEST_NORMAL = sys.float_info.min


def finite(value: Any) -> TypeGuard[float]:
    """A JSON number (not a bool) that is a finite float, also an int too large for one not."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and abs(value) <= sys.float_info.max and math.isfinite(value)


def number_problem(value: Any, kind: str = "number") -> str | None:
    """Why ``value`` is not a usable ``kind`` (``number``, ``int``, ``float``), or None."""
    if not finite(value):
        return f"must be a finite {kind}, got {value!r}"
    if kind == "int" and float(value) != int(value):
        return f"must be a whole number, got {value!r}"
    if value != 0 and abs(value) < SMALLEST_NORMAL:
        return (f"must be 0 or at least {SMALLEST_NORMAL!r} in magnitude, got {value!r} "
                "(accelerators read smaller numbers as 0)")  # fmt: skip
    return None
