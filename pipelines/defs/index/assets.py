"""The index asset: every source's changes, embedded and committed as one LanceDB version."""

from typing import Any

import dagster as dg

from corpus_quality import Grade, ProvenanceLabel
from pipelines.defs.failures import one_line_failures
from pipelines.defs.markdown import counts_table, reasons_table
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.defs.sources.assets import WRITER_POOL, configured_sources, source_asset_key, staging_key
from pipelines.evaluation import check_eval_sets
from pipelines.governance.catalog import corpus_status
from pipelines.index.commit_protocol import writer_lock
from pipelines.ledger import Ledger
from pipelines.run.ingestion import (
    IngestionReport,
    PreparedIngestion,
    blocked_message,
    combine_prepared,
    commit_ingestion,
    prepare_source,
)
from pipelines.run.spool import clear_staging
from pipelines.run.staging import staged_part
from pipelines.settings import Settings
from pipelines.storage import file_exists

CHUNK_INDEX = dg.AssetKey(["chunk_index"])
INDEX_GROUP = "index"
# The run tag that says a run held a source back (over its contract's error budget).
BLOCKED_TAG = "corpusgov/blocked"
# A materialization started from the UI while a sensor run commits waits its turn.
WRITER_WAIT_SECONDS = 600.0


def build_chunk_index(source_names: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        key=CHUNK_INDEX,
        deps=[source_asset_key(name) for name in source_names],
        group_name=INDEX_GROUP,
        kinds={"lancedb", "duckdb"},
        owners=["team:data-platform"],
        pool=WRITER_POOL,
        code_version="2",
    )
    @one_line_failures
    def chunk_index(
        context: dg.AssetExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource
    ) -> dg.MaterializeResult[None]:
        """The LanceDB table `chunks` that the RAG app queries: every indexed document's chunks
        with their vectors, quality grade, provenance label and safety flags. One commit per run,
        tagged `index-v<N>`; a run with nothing to change commits nothing. A source over its
        contract's error budget is held back; the other sources' changes are committed. A
        malformed eval set fails the step before anything is committed.
        Materialized on its own, it prepares every source itself.
        """
        settings = corpusgov.settings()
        # The first step that commits refuses a malformed eval set, as `corpusgov ingest` does:
        # the eval assets after it could not follow the index it would commit. Before the
        # staging is cleared: re-executed from failure once the set is fixed, the run commits what
        # its source steps staged (pipelines/run/spool.py `clear_staging` removes it otherwise).
        check_eval_sets(settings)
        model = embedder.embedder(settings)

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage == "embed" and (done == total or done % 1024 == 0):
                context.log.info(f"embedded {done}/{total} chunks")

        try:
            with writer_lock(settings, wait_seconds=WRITER_WAIT_SECONDS):
                prepared = _prepared_run(settings, context.run_id, staging_key(context), model.model_id)
                # The parts' spools hold the vectors the source assets embedded; commit embeds
                # the chunks of a part prepared here.
                report = commit_ingestion(settings, prepared, model, on_progress)
        finally:
            clear_staging(settings, context.run_id)
            clear_staging(settings, staging_key(context))
        unloaded = sorted({s.name for s in settings.sources} - set(source_names))
        if report.blocked:
            # The run goes on for the other sources, so it ends "Success": the tag says, in the
            # Runs list and on the run's page, that a source was held back.
            blocked = ", ".join(sorted(c.source for c in report.blocked))
            context.instance.add_run_tags(context.run_id, {BLOCKED_TAG: blocked})
            context.log.warning(f"Sources blocked, their changes held back: {blocked}.")
        interrupted = report.interrupted_message()
        if interrupted is not None:
            context.log.warning(interrupted)  # as the CLI's exit: the run was not a clean one
        return dg.MaterializeResult(metadata=index_metadata(settings, report, unloaded))

    return chunk_index


def _prepared_run(settings: Settings, run_id: str, staged_under: str, model_id: str) -> PreparedIngestion:
    """The sources' parts staged by this run (under its first run's id when it re-executes one);
    a source not staged (chunk_index materialized on its own) or staged on an index that has
    moved since is prepared here."""
    latest = Ledger.of(settings).latest_index_version()
    base = latest.index_version if latest else None
    parts = []
    for source in settings.sources:
        part = staged_part(settings, staged_under, source.name)
        if (
            part is None
            or part.base_index_version != base
            or part.embedding_model != model_id
            or not all(file_exists(spool) for spool in part.spools)
        ):
            part = prepare_source(settings, source.name, model_id, run_id=run_id)
        parts.append(part)
    return combine_prepared(parts, run_id=run_id)


def index_metadata(settings: Settings, report: IngestionReport, unloaded: list[str]) -> dict[str, Any]:
    status = corpus_status(settings)
    version = report.index_version
    not_updated = [blocked_message(c) for c in report.blocked]
    not_updated += [f"source '{c.source}' skipped: {c.error}" for c in report.source_errors]
    interrupted = report.interrupted_message()
    if interrupted is not None:
        not_updated.append(interrupted)
    metadata: dict[str, Any] = {
        "index_version": status.index_version,
        "lance_version": status.lance_version,
        "chunks": status.chunks,
        # Before this run's publication_gate check: a new version is a candidate until it passes.
        "serving_version": status.serving_version if status.serving_version is not None else "none yet",
        "embedding_model": status.embedding_model or "none yet",
        "changed_this_run": "yes" if version else "no (nothing entered or left the index)",
        "not_updated": dg.MetadataValue.md(
            "\n".join(f"- not updated: {line}" for line in not_updated) or "every source updated"
        ),
        "held_back": len(report.held_back),
        "chunks_embedded": report.chunks_embedded,
        "chunks_reused": report.chunks_reused,
        "documents_by_state": dg.MetadataValue.md(counts_table("state", status.documents)),
        "reasons_not_indexed": dg.MetadataValue.md(reasons_table(Ledger.of(settings).reason_counts())),
        **{f"documents_{state}": dg.MetadataValue.int(n) for state, n in status.documents.items()},
    }
    if unloaded:
        metadata["reload_definitions"] = (
            f"corpusgov.yaml has sources the loaded definitions do not: {', '.join(unloaded)}. "
            "They were ingested; click Reload definitions to see their assets and checks."
        )
    if version is not None:
        # A run's manifest counts every part (only a rollback's version starts without them).
        by_grade = version.counts.by_grade or {}
        by_provenance = version.counts.by_provenance or {}
        metadata.update(
            {
                "tag": version.tag,
                "added": len(version.added),
                "modified": len(version.modified),
                "removed": len(version.removed),
                "grade_mix": dg.MetadataValue.md(counts_table("grade", by_grade)),
                "provenance_mix": dg.MetadataValue.md(counts_table("provenance", by_provenance)),
            }
        )
        indexed = sum(by_grade.values()) or 1
        # Numeric entries are plotted by the UI across materializations: the mix over index versions.
        for grade in Grade:
            metadata[f"share_grade_{grade}"] = dg.MetadataValue.float(
                round(by_grade.get(grade, 0) / indexed, 4)
            )
        for label in ProvenanceLabel:
            metadata[f"share_{label}"] = dg.MetadataValue.float(
                round(by_provenance.get(label, 0) / indexed, 4)
            )
    return metadata


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_chunk_index([s.name for s in configured_sources()])])
