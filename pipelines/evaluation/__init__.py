"""Evals bound to index versions: re-version every eval set on every index change, re-baseline,
and refuse comparisons between results measured on different things.

- `reversion`: what an index change does to each eval set (the automatic path);
- `baseline`: scoring a version on an index, incrementally, and `corpusgov evals rebaseline`;
- `compare`: comparisons, refused or decomposed, and AI-text amplification;
- `snapshots` and `configured`: what an index version holds, and the configured eval sets
  (checked before a run touches the index, and by `corpusgov evals lint`).

The rows live in the ledger (pipelines/ledger/evals.py); the pure logic in the `evals` library.
"""

from evals.sets import DEV, HOLDOUT
from pipelines.evaluation.baseline import BaselineTask, question_vectors, rebaseline, run_baseline
from pipelines.evaluation.compare import (
    Amplification,
    amplification,
    compare_index_versions,
    decompose_results,
)
from pipelines.evaluation.configured import EvalSetProblem, check_eval_sets, lint_configured_sets
from pipelines.evaluation.reversion import (
    Reversion,
    baseline_eval_sets,
    reversion_eval_sets,
    version_eval_sets,
)
from pipelines.evaluation.snapshots import index_snapshot, result_config_hash
from pipelines.ledger.evals import (
    StoredResult,
    StoredVersion,
    eval_results,
    eval_versions,
    holdout_exposures,
    item_resolutions,
    latest_eval_version,
    latest_result,
    record_eval_event,
    result_on_index,
)

__all__ = [
    "DEV",
    "BaselineTask",
    "HOLDOUT",
    "Amplification",
    "EvalSetProblem",
    "Reversion",
    "StoredResult",
    "StoredVersion",
    "amplification",
    "baseline_eval_sets",
    "check_eval_sets",
    "compare_index_versions",
    "decompose_results",
    "eval_results",
    "eval_versions",
    "holdout_exposures",
    "index_snapshot",
    "item_resolutions",
    "latest_eval_version",
    "latest_result",
    "lint_configured_sets",
    "question_vectors",
    "rebaseline",
    "record_eval_event",
    "result_config_hash",
    "result_on_index",
    "reversion_eval_sets",
    "run_baseline",
    "version_eval_sets",
]
