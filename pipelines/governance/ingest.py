"""The ingest use case, one set of functions for every path: a run under the writer lock, a failed
run on record for the alerts, the eval sets following the index the run committed, then the
publication of the new version when it passes the gate (pipelines/governance/publication.py).

`corpusgov ingest` calls `ingest`; `corpusgov index rollback` calls `roll_back`; `doctor --repair`
and `evals rebaseline` call `follow_index`.
The Dagster path runs the same steps as assets: the source graphs and `chunk_index` make the run,
`run_failure_alert_sensor` puts a failure in any step on record with `record_failed_run`, the
eval assets call `bind_eval_sets` and `score_eval_sets`, the two halves of `follow_index`, and
the `publication_gate` check on `chunk_index` calls `publish_candidates`. After a commit, `ingest`
applies corpusgov.yaml's `retention:` (pipelines/governance/versions.py `apply_retention`), and so
do `roll_back` and, on the Dagster path, the `publication_gate` check once a version was committed;
the `nightly_retention` schedule applies it when nothing is committed.
"""

import logging
import uuid
from dataclasses import dataclass

from evals import EvalSetError
from pipelines.embedding.model import Embedder
from pipelines.errors import (
    CommittedRunError,
    CorpusgovError,
    IngestionConflictError,
    LedgerBusyError,
    first_line,
)
from pipelines.evaluation import (
    Reversion,
    StoredVersion,
    baseline_eval_sets,
    check_eval_sets,
    reversion_eval_sets,
    version_eval_sets,
)
from pipelines.governance.publication import PublicationOutcome, publish_candidates
from pipelines.governance.versions import Cleanup, Rollback, apply_retention, rollback_index
from pipelines.index.commit_protocol import writer_lock
from pipelines.run.failed_runs import record_failed_run
from pipelines.run.ingestion import run_ingestion
from pipelines.run.records import IngestionReport, ProgressReporter
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOutcome:
    """A run's report, what following its index did to each eval set, its publication, and the
    index versions retention removed after it."""

    report: IngestionReport
    reversions: list[Reversion]
    publication: PublicationOutcome
    retention: Cleanup | None = None  # None: no index version was due for removal


def ingest(
    settings: Settings,
    embedder: Embedder,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
    keep_parser: bool = True,
) -> IngestOutcome:
    """Ingest the sources (all, or `source_names`), bind and score the eval sets on the new index
    version (nothing to do when the index did not move), then publish it if it passes the gate. A run that fails is on record, so
    the alert sinks hear of it; a run refused because another writer is at work is not a failure.
    `keep_parser=False` (the CLI, a process that runs one ingest) stops the parser worker once
    every file is parsed (pipelines/run/ingestion.py `ingest_holding_lock`)."""
    try:
        check_eval_sets(settings)  # before the index is touched: a malformed set stops the run
        report = run_ingestion(settings, embedder, source_names, on_progress, keep_parser)
    except (IngestionConflictError, LedgerBusyError):
        raise
    except Exception as err:
        sources = tuple(source_names or (s.name for s in settings.sources))
        record_failed_run(settings, f"cli-{uuid.uuid4().hex[:12]}", "corpusgov ingest", err, sources)
        raise
    return IngestOutcome(report, *_after_commit(settings, embedder, report))


def _after_commit(
    settings: Settings, embedder: Embedder, report: IngestionReport
) -> tuple[list[Reversion], PublicationOutcome, Cleanup | None]:
    """The eval sets follow the committed run, then the gate publishes it, then the retention
    policy lets old versions go. A failure of the first two (the ledger or the bucket lost) does
    not undo the commit, and is not a failed run: it says the run is committed, and the next run
    (or `doctor --repair`) finishes both steps. A failure of retention is a warning."""
    number = report.index_version.index_version if report.index_version else None
    try:
        reversions = follow_index(settings, embedder)
    except (CorpusgovError, EvalSetError, OSError, RuntimeError) as err:
        raise CommittedRunError(number, "re-versioning the eval sets on it", err) from err
    try:
        publication = publish_candidates(settings, embedder)
    except (CorpusgovError, OSError, RuntimeError) as err:
        raise CommittedRunError(number, "the publication gate", err) from err
    # A run that committed nothing leaves retention to the nightly schedule: a no-op ingest, what
    # a sensor runs most, opens no LanceDB.
    return reversions, publication, None if number is None else retain_after_commit(settings, number)


def retain_after_commit(settings: Settings, number: int) -> Cleanup | None:
    """The retention policy after a commit. Failing here leaves old versions on disk a little
    longer, never a run to repeat: a warning, and the next commit or the nightly schedule retries."""
    try:
        return apply_retention(settings)
    except (CorpusgovError, OSError, RuntimeError) as err:
        logger.warning(
            "Index version %s is committed; removing old index versions under `retention:` failed "
            "(%s). The next commit or `corpusgov index cleanup` tries again.",
            number,
            first_line(err),
        )
        return None


@dataclass(frozen=True)
class RollbackOutcome:
    """A rollback's published version and what following it did to each eval set."""

    rollback: Rollback
    reversions: list[Reversion]


def roll_back(settings: Settings, embedder: Embedder, number: int) -> RollbackOutcome:
    """Serve version `number`'s content again as a new, published index version (the documents
    the corpus let go of since stay out: pipelines/governance/versions.py), then bind and score
    the eval sets on it like on any other index version."""
    rollback = rollback_index(settings, number)
    try:
        reversions = follow_index(settings, embedder)
    except (CorpusgovError, OSError, RuntimeError) as err:
        raise CommittedRunError(
            rollback.version.index_version, "re-versioning the eval sets on it", err
        ) from err
    retain_after_commit(settings, rollback.version.index_version)
    return RollbackOutcome(rollback, reversions)


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
