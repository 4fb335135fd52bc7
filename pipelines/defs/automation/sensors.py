"""What starts the ingestion job, and what tells people when something needs them.

- `source_folder_sensor`: a file added, changed or removed in a source folder, a contract edited,
  corpusgov.yaml edited;
- `nightly_full_pass`: a schedule, off by default;
- `contract_alert_sensor`: sends new alerts to the sinks and logs each batch as a materialization
  of the `alert_log` asset, so the UI lists what was sent;
- `run_failure_alert_sensor`: a failed ingestion run becomes a `run_failed` alert;
- `publication_sensor`: every publication (the gate's, a promote's, a rollback's, from the CLI or
  the UI) becomes an observation of `chunk_index`, so its history shows what RAG apps read when.
"""

import hashlib
import os
from datetime import UTC
from pathlib import Path
from typing import Any

import dagster as dg

from contracts import ContractError, load_contract
from pipelines.defs.automation.jobs import DECISION_JOBS, INGESTION_JOB_NAME, WRITER_TAGS
from pipelines.defs.failures import failure_message
from pipelines.defs.index.assets import CHUNK_INDEX
from pipelines.defs.index.checks import reconciliation_after_failed_run
from pipelines.defs.markdown import markdown_table
from pipelines.defs.resources import CorpusgovResource
from pipelines.defs.sources.assets import source_of_step
from pipelines.errors import CorpusgovError
from pipelines.governance.alerts import DispatchReport, dispatch_alerts
from pipelines.ledger import Ledger, Publication
from pipelines.run.failed_runs import record_failed_run
from pipelines.run.ingestion import bind_source
from pipelines.settings import Settings

ALERT_LOG = dg.AssetKey(["alert_log"])
# Dagster stops a sensor evaluation after 60 s by default: give up on retries well before that.
DISPATCH_DEADLINE_SECONDS = 40.0


def governed_paths(settings: Settings) -> list[Path]:
    """What a run depends on: the source folders, their contracts, corpusgov.yaml itself."""
    paths: list[Path] = [settings.config_path]
    for source in settings.sources:
        paths.append(Path(source.contract))
        if source.path is None:
            # Bound by its contract: the contract names the folder.
            try:
                bound = bind_source(settings, source, load_contract(Path(source.contract)))
            except ContractError:
                continue
            if isinstance(bound, str):
                continue
            source = bound
        paths.append(source.root)
    return paths


def fingerprint(paths: list[Path]) -> str:
    """Changes when a file under the paths is added, removed, resized or touched."""
    digest = hashlib.sha256()
    for root in paths:
        if root.is_file():
            _stamp(digest, str(root))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                _stamp(digest, os.path.join(dirpath, name))
    return digest.hexdigest()[:20]


def _stamp(digest: "hashlib._Hash", path: str) -> None:
    try:
        info = os.lstat(path)
    except OSError:
        return
    digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))


@dg.sensor(
    name="source_folder_sensor",
    job_name=INGESTION_JOB_NAME,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts an ingestion run when a file in a source folder is added, changed or "
    "removed, when a contract is edited, or when corpusgov.yaml is. Running by default, so the "
    "sample corpus is ingested when the service starts. A source added to corpusgov.yaml is "
    "ingested at once; its asset appears after Reload definitions.",
)
def source_folder_sensor(
    context: dg.SensorEvaluationContext, corpusgov: CorpusgovResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        settings = corpusgov.settings()
    except CorpusgovError as err:
        return dg.SkipReason(f"corpusgov config cannot be read: {err}")
    current = fingerprint(governed_paths(settings))
    if context.cursor == current:
        return dg.SkipReason("No source file, contract or config changed since the last run request.")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=current, tags=WRITER_TAGS)], cursor=current)


nightly_full_pass = dg.ScheduleDefinition(
    name="nightly_full_pass",
    job_name=INGESTION_JOB_NAME,
    cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    tags=WRITER_TAGS,
    description="A full pass every night at 02:00: catches what the sensor cannot see (a file "
    "restored with an old timestamp, a freshness rule that ages documents out). Off by default.",
)

alert_log = dg.AssetSpec(
    ALERT_LOG,
    group_name="alerts",
    kinds={"python"},
    description="What `contract_alert_sensor` sent: one materialization per evaluation that sent "
    "something, with the alerts as a table. Nothing runs to make it; the sensor records it.",
)


@dg.sensor(
    name="contract_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends new alerts to the webhook and JSONL sinks under `alerts:` in corpusgov.yaml: "
    "contract violations (once per document, reason and contract version), blocked sources, "
    "broken sources, failed runs, eval regressions. A failed sink is retried next evaluation. "
    "Each evaluation that sent something is an `alert_log` materialization.",
)
def contract_alert_sensor(
    context: dg.SensorEvaluationContext, corpusgov: CorpusgovResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        settings = corpusgov.settings()
        report = dispatch_alerts(settings, deadline_seconds=DISPATCH_DEADLINE_SECONDS)
    except CorpusgovError as err:
        return dg.SkipReason(f"Alerts not evaluated: {err}")
    for sink, error in sorted(report.failures.items()):
        # Failure messages name the sink, never its URL.
        context.log.warning(f"Alert sink {sink} failed: {error}")
    if not report.sent_alerts and not report.failures:
        return dg.SkipReason(report.summary())
    return dg.SensorResult(
        asset_events=[_alert_log_event(report)],
        # The tick list shows what this evaluation sent, in full, on its own row ("0 runs
        # requested" otherwise); a quiet tick says so, never repeats the last send (no cursor).
        skip_reason=dg.SkipReason(report.summary()),
    )


def _alert_log_event(report: DispatchReport) -> dg.AssetMaterialization:
    rows = [[a.kind, a.source, a.doc_id or "", a.message] for a in report.sent_alerts]
    return dg.AssetMaterialization(
        asset_key=ALERT_LOG,
        description=report.summary(),
        metadata={
            "sent": report.sent,
            "not_sent": report.unsent,
            "failing_sinks": ", ".join(sorted(report.failures)) or "none",
            "alerts": dg.MetadataValue.md(markdown_table(["kind", "source", "document", "message"], rows)),
        },
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitored_jobs=None,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A failed run of corpusgov's assets becomes a `run_failed` alert, sent by "
    "contract_alert_sensor like any other.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, corpusgov: CorpusgovResource) -> None:
    if context.dagster_run.job_name in DECISION_JOBS:
        return  # a refused promote or rollback: its run says why, nothing failed in the pipeline
    # The failed step's own words (a one-line `dg.Failure`, else the innermost error), not the
    # run's "Execution of run ... failed. An exception was thrown during execution.".
    steps = context.get_step_failure_events()
    failure = steps[0] if steps else context.failure_event
    step = failure.step_key or "the run"
    message = failure_message(failure) or failure.message or "the run failed"
    settings = corpusgov.settings()
    configured = [s.name for s in settings.sources]
    # The source whose step failed, else the sources the run selected (none: every source).
    failed_in = source_of_step(failure.step_key, configured)
    selected = {k.path[-1] for k in context.dagster_run.asset_selection or ()} & set(configured)
    record_failed_run(
        settings,
        context.dagster_run.run_id,
        f"Dagster step {step}",
        message,
        (failed_in,) if failed_in else tuple(sorted(selected)),
    )
    if context.dagster_run.job_name == INGESTION_JOB_NAME:
        # Its reconciliation check did not run: evaluated here, it says whether the index is intact.
        context.instance.report_runless_asset_event(
            reconciliation_after_failed_run(settings, context.dagster_run.run_id)
        )


@dg.sensor(
    name="publication_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Shows every publication on `chunk_index` as an observation: the version RAG apps "
    "read from then on, how it was published (the gate, a promote, a rollback, a rebuild), by whom, "
    "and what the gate had found. Publications from the CLI included.",
)
def publication_sensor(
    context: dg.SensorEvaluationContext, corpusgov: CorpusgovResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        publications = Ledger.of(corpusgov.settings()).publications()
    except CorpusgovError as err:
        return dg.SkipReason(f"Publications not read: {err}")
    # The cursor is the newest publication shown; the ledger lists the newest first.
    new = [p for p in reversed(publications) if context.cursor is None or _published_at(p) > context.cursor]
    if not new:
        served = publications[0].index_version if publications else None
        return dg.SkipReason(
            f"No new publication: RAG apps read index version {served}."
            if served is not None
            else "Nothing is published yet."
        )
    return dg.SensorResult(asset_events=[_publication_event(p) for p in new], cursor=_published_at(new[-1]))


def _published_at(publication: Publication) -> str:
    return publication.published_at.astimezone(UTC).isoformat()


def _publication_event(publication: Publication) -> dg.AssetObservation:
    version = publication.index_version
    gate = publication.gate
    failures = [str(line) for line in gate.get("failures", [])]
    held_out = [f"- {h['doc_id']}: {h['reason']}" for h in gate.get("held_out", [])]
    metadata: dict[str, Any] = {
        "serving_version": version if version is not None else "withdrawn",
        "how": publication.how,
        "published_by": publication.published_by,
        "published_at": _published_at(publication),
        "gate_failures": dg.MetadataValue.md("\n".join(f"- {line}" for line in failures) or "none"),
    }
    if "restored_from" in gate:
        metadata["restored_from"] = gate["restored_from"]
        metadata["not_readmitted"] = dg.MetadataValue.md("\n".join(held_out) or "none")
    described = (
        f"Index version {version} published ({publication.how}, by {publication.published_by}): RAG apps "
        "reading `serving` read it from then on."
        if version is not None
        else f"What was served is withdrawn ({publication.how}): nothing is published until a version is."
    )
    return dg.AssetObservation(asset_key=CHUNK_INDEX, description=described, metadata=metadata)
