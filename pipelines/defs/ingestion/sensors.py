"""Automation for ingestion: a source-folder sensor and a nightly full pass."""

import hashlib
import os
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from contracts import ContractError, load_contract
from pipelines.defs.resources import CorpusgovResource
from pipelines.errors import CorpusgovError
from pipelines.ingestion import bind_source

INGESTION_JOB_NAME = "ingestion"
# The run queue lets one run with this tag write at a time (dagster_home/dagster.yaml).
WRITER_TAGS = {"corpusgov/writer": "ingestion"}


def source_fingerprint(paths: list[Path]) -> str:
    """Changes when any file under the folders is added, removed, resized or touched."""
    digest = hashlib.sha256()
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def build_source_folder_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="source_folder_sensor",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts an ingestion run when a file in any source folder is added, changed or "
        "removed. Running by default, so the sample corpus is ingested when the service starts.",
    )
    def source_folder_sensor(
        context: dg.SensorEvaluationContext, corpusgov: CorpusgovResource
    ) -> dg.SensorResult | dg.SkipReason:
        try:
            settings = corpusgov.settings()
        except CorpusgovError as err:
            return dg.SkipReason(f"corpusgov config cannot be read: {err}")
        roots = []
        for source in settings.sources:
            if source.path is None:
                # Bound by its contract: the contract names the folder.
                try:
                    bound = bind_source(settings, source, load_contract(Path(source.contract)))
                except ContractError:
                    continue
                if isinstance(bound, str):
                    continue
                source = bound
            if source.root.exists():
                roots.append(source.root)
        fingerprint = source_fingerprint(roots)
        if context.cursor == fingerprint:
            return dg.SkipReason("No file added, changed or removed since the last run request.")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=fingerprint, tags=WRITER_TAGS)],
            cursor=fingerprint,
        )

    return source_folder_sensor


def build_nightly_schedule(job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_full_pass",
        job=job,
        cron_schedule="0 2 * * *",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        tags=WRITER_TAGS,
        description="A full pass every night at 02:00: catches changes the sensor could not see "
        "(a contract edited, a file restored with an old timestamp). Off by default.",
    )
