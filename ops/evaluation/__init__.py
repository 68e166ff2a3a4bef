"""Evaluation of the service on labeled data: the pair evaluation against a running stack, and
the metric definitions it shares with the offline simulation (bench/eval_offline.py)."""

from ops.evaluation.metrics import MetricsRow, Pair, baseline, metrics_row, pearson, prf
from ops.evaluation.pairs import (
    EvaluationError,
    EvaluationReport,
    evaluate_with_fresh_stack,
    format_report,
    run_pair_evaluation,
)

__all__ = [
    "EvaluationError",
    "EvaluationReport",
    "MetricsRow",
    "Pair",
    "baseline",
    "evaluate_with_fresh_stack",
    "format_report",
    "metrics_row",
    "pearson",
    "prf",
    "run_pair_evaluation",
]
