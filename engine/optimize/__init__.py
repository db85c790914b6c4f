"""Parameter optimization: requests, search spaces, batched scoring, validation, overfitting.

Pure engine code (no I/O): the service's chord calls these pieces from its tasks, and
``engine.optimize.run.optimize`` runs them all in one process. See ``docs/optimization.md``.
"""

from engine.optimize.evaluate import evaluate_batch
from engine.optimize.request import OptimizationRequest, parse_optimization_request
from engine.optimize.run import optimization_document, optimize, score_sets

__all__ = [
    "OptimizationRequest",
    "evaluate_batch",
    "optimization_document",
    "optimize",
    "parse_optimization_request",
    "score_sets",
]
