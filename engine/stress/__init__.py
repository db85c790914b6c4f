"""Stress tests: the request, scenarios, Monte Carlo paths, strategy re-runs, their inputs.

Pure engine code (no I/O): ``tasks.stress`` reads the market and calls ``montecarlo``
(or its parts). See ``docs/stress.md``.
"""

from engine.stress.request import StressRequest, openapi_schema, parse_stress_request

__all__ = ["StressRequest", "openapi_schema", "parse_stress_request"]
