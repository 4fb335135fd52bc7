"""Eval sets, their versions bound to index versions, retrieval metrics and the comparability guard.

A plain library: it never imports dagster or `pipelines`. The pipeline builds an `IndexSnapshot`
for each index version, calls `resolve_eval_set`, scores with `evaluate_retrieval` and keys every
result by (eval set version hash, index version, config hash, judge, answers fingerprint) so that
`compare_results` can refuse numbers that were not measured on the same thing. With an LLM judge,
`evaluate_generation` adds ragas' generation metrics (evals/generation.py, evals/judge.py,
evals/answers.py).
"""

from evals.comparison import (
    Comparison,
    Decomposition,
    EvalResult,
    MetricDelta,
    ResultKey,
    compare_results,
    decompose,
    detect_regression,
    should_supersede,
)
from evals.contamination import find_contamination
from evals.errors import EvalError, EvalResolutionError, EvalSetError, IncomparableResultsError
from evals.generation import GenerationItem, GenerationMetrics, evaluate_generation
from evals.metrics import ItemRetrievalScores, RetrievalReport, RetrievedChunk, evaluate_retrieval
from evals.resolution import (
    EvalSetVersion,
    IndexedChunk,
    IndexSnapshot,
    ItemResolution,
    active_items,
    changed_share,
    changelog,
    resolve_eval_set,
)
from evals.sets import EvalItem, EvalSet, GoldEvidence, lint_eval_set, load_eval_set

__all__ = [
    "Comparison",
    "Decomposition",
    "EvalError",
    "EvalItem",
    "EvalResolutionError",
    "EvalResult",
    "EvalSet",
    "EvalSetError",
    "EvalSetVersion",
    "GenerationItem",
    "GenerationMetrics",
    "GoldEvidence",
    "IncomparableResultsError",
    "IndexSnapshot",
    "IndexedChunk",
    "ItemResolution",
    "ItemRetrievalScores",
    "MetricDelta",
    "ResultKey",
    "RetrievalReport",
    "RetrievedChunk",
    "active_items",
    "changed_share",
    "changelog",
    "compare_results",
    "decompose",
    "detect_regression",
    "evaluate_generation",
    "evaluate_retrieval",
    "find_contamination",
    "lint_eval_set",
    "load_eval_set",
    "resolve_eval_set",
    "should_supersede",
]
