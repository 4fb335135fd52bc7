"""Retention on a schedule: `nightly_retention` runs `apply_retention` (corpusgov.yaml's
`retention:`), so versions that age out while nothing is committed still free their space. Each
ingest applies the same policy after its commit (pipelines/governance/ingest.py)."""

import dagster as dg

from pipelines.defs.automation.jobs import WRITER_TAGS
from pipelines.defs.failures import one_line_failures
from pipelines.defs.resources import CorpusgovResource
from pipelines.defs.sources.assets import WRITER_POOL
from pipelines.governance.versions import apply_retention

RETENTION_JOB_NAME = "index_retention"


@dg.op(name="apply_retention", pool=WRITER_POOL)
@one_line_failures
def apply_retention_op(context: dg.OpExecutionContext, corpusgov: CorpusgovResource) -> None:
    """Remove the index versions `retention:` lets go (never the served one or a candidate after
    it) and log what was freed; nothing, not even a compaction, while no version is due."""
    cleanup = apply_retention(corpusgov.settings())
    if cleanup is None:
        context.log.info("No index version is due for removal under `retention:`.")
        return
    context.log.info(
        f"Removed index versions {', '.join(map(str, cleanup.cleaned)) or 'none'}; kept "
        f"{', '.join(map(str, cleanup.kept))}; freed {cleanup.bytes_freed:,} bytes."
    )


@dg.job(name=RETENTION_JOB_NAME, tags=WRITER_TAGS, description=apply_retention_op.description)
def index_retention() -> None:
    apply_retention_op()


nightly_retention = dg.ScheduleDefinition(
    name="nightly_retention",
    job=index_retention,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 03:30: remove the index versions corpusgov.yaml's `retention:` lets "
    "go, as each ingest does after its commit. On by default; the policy decides what stays.",
)
