"""The ingest use case, one set of functions for every path: a run under the writer lock, a failed
run on record for the alerts, then the eval sets following the index the run committed.

`corpusgov ingest` calls `ingest`; `doctor --repair` and `evals rebaseline` call `follow_index`.
The Dagster path runs the same steps as assets: the source graphs and `chunk_index` make the run,
`run_failure_alert_sensor` puts a failure in any step on record with `record_failed_run`, and the
eval assets call `bind_eval_sets` and `score_eval_sets`, the two halves of `follow_index`.
"""

import uuid
from dataclasses import dataclass

from pipelines.embedding.model import Embedder
from pipelines.errors import IngestionConflictError, LedgerBusyError
from pipelines.evaluation import (
    Reversion,
    StoredVersion,
    baseline_eval_sets,
    reversion_eval_sets,
    version_eval_sets,
)
from pipelines.index.commit_protocol import writer_lock
from pipelines.run.ingestion import record_failed_run, run_ingestion
from pipelines.run.records import IngestionReport, ProgressReporter
from pipelines.settings import Settings


@dataclass(frozen=True)
class IngestOutcome:
    """A run's report, and what following its index did to each eval set."""

    report: IngestionReport
    reversions: list[Reversion]


def ingest(
    settings: Settings,
    embedder: Embedder,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
) -> IngestOutcome:
    """Ingest the sources (all, or `source_names`), then bind and score the eval sets on the new
    index version (nothing to do when the index did not move). A run that fails is on record, so
    the alert sinks hear of it; a run refused because another writer is at work is not a failure."""
    try:
        report = run_ingestion(settings, embedder, source_names, on_progress)
    except (IngestionConflictError, LedgerBusyError):
        raise
    except Exception as err:
        sources = tuple(source_names or (s.name for s in settings.sources))
        record_failed_run(settings, f"cli-{uuid.uuid4().hex[:12]}", "corpusgov ingest", err, sources)
        raise
    return IngestOutcome(report, follow_index(settings, embedder))


def follow_index(settings: Settings, embedder: Embedder, wait_seconds: float = 0.0) -> list[Reversion]:
    """Every index change re-versions the eval sets: bind each to the latest index version and
    score what is new, under the writer lock (`wait_seconds` for another writer to finish)."""
    with writer_lock(settings, wait_seconds=wait_seconds):
        return reversion_eval_sets(settings, embedder)


def bind_eval_sets(settings: Settings, wait_seconds: float = 0.0) -> list[StoredVersion]:
    """The first half of `follow_index` (the `eval_set_versions` asset): needs no model."""
    with writer_lock(settings, wait_seconds=wait_seconds):
        return version_eval_sets(settings)


def score_eval_sets(settings: Settings, embedder: Embedder, wait_seconds: float = 0.0) -> list[Reversion]:
    """The second half of `follow_index` (the `eval_baselines` asset)."""
    with writer_lock(settings, wait_seconds=wait_seconds):
        return baseline_eval_sets(settings, embedder)
