"""Ingestion: discover → parse → contract → assess → chunk → embed → one LanceDB commit → ledger.

Two phases, so Dagster can put a blocking contract check between them:
- `prepare_ingestion` does everything but embedding and writing, for new and changed files only
  (incremental by content hash and config hash);
- `commit_ingestion` embeds the chunks the index does not have yet, writes them as ONE LanceDB
  version tagged `index-v<N>`, and records the run in the ledger in one transaction.
Chunk texts and vectors do not stay in memory: they are spooled to Parquet as documents are
prepared and streamed into LanceDB at the commit (pipelines/run/spool.py, pipelines/run/index_rows.py).
The CLI runs both with `run_ingestion`; the Dagster assets run one each. Same code either way.

The steps of preparing one source are in pipelines/run/source.py, the run's records (the
prepared run, the report, the index version's manifest) in pipelines/run/records.py; their
public names are importable from here too. The walk over the files (`process_file`), the index
rows (`build_index_rows`) and the commit protocol's steps (`stop_point`, `undo_interrupted_write`)
are called from this module: tests substitute them here to stop or break a run at those steps.
"""

import logging
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from corpus_quality.near_duplicates import NearDuplicateIndex
from corpus_quality.registry import SelfOutputRegistry
from pipelines.contract.checks import blocked_message
from pipelines.document.assessment import CorpusContext, process_file, rejected_outcome
from pipelines.document.chunking import Chunk
from pipelines.document.discovery import read_source_file
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.embedding.model import Embedder
from pipelines.errors import (
    IndexStateError,
    IngestionConflictError,
    WriterLockLostError,
)
from pipelines.index.commit_protocol import (
    nothing_to_recover,
    recover_index,
    require_writer_lock,
    tag_index_version,
    undo_interrupted_write,
    writer_lock,
)
from pipelines.index.table import ChunkIndex
from pipelines.ledger import IndexVersion, Ledger, LedgerCommit, LedgerDocument
from pipelines.ledger.erasures import ERASED, ERASED_DETAIL
from pipelines.ledger.quarantine import releases_in_force
from pipelines.run.embedding_prefetch import EmbeddingPrefetch
from pipelines.run.index_rows import IndexRows, build_index_rows, documents_held_as_written
from pipelines.run.records import (
    IngestionReport,
    PreparedIngestion,
    ProgressReporter,
    combine_prepared,
    index_manifest,
    new_run_id,
    run_summary,
    state_counts_after,
)
from pipelines.run.shards import ShardPart, SourcePlan, merge_shards, plan_and_open_source, shard_run
from pipelines.run.source import (
    SourceInRun,
    bind_source,
    capped_parse_attempts,
    selected_sources,
    start_parsing,
    stop_parsing,
)
from pipelines.run.spool import ChunkSink, ChunkSpool, clear_staging, scratch_dir
from pipelines.settings import Settings
from pipelines.stop_points import stop_point

__all__ = [
    "IngestionReport",
    "PreparedIngestion",
    "ProgressReporter",
    "bind_source",
    "blocked_message",
    "combine_prepared",
    "commit_ingestion",
    "ingest_holding_lock",
    "new_run_id",
    "prepare_ingestion",
    "prepare_source",
    "run_ingestion",
    "selected_sources",
]

logger = logging.getLogger(__name__)


def prepare_ingestion(
    settings: Settings,
    embedding_model: str,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
    sink: ChunkSink | None = None,
    run_id: str | None = None,
    keep_parser: bool = True,
) -> PreparedIngestion:
    """Discover, parse, assess and contract-check what changed since the ledger's last run, source
    by source (`prepare_source`), as one run. The chunks go to `sink` (the embedding thread, or a
    spool: then the commit embeds them). `keep_parser=False`: the parser worker stops after the
    last source's last file (`prepare_shard`'s `stop_parser`)."""
    sources = selected_sources(settings, source_names)
    run_id = run_id or new_run_id(datetime.now(UTC))
    last = len(sources) - 1
    parts = [
        prepare_source(
            settings,
            s.name,
            embedding_model,
            on_progress,
            run_id,
            sink,
            stop_parser=not keep_parser and i == last,
        )
        for i, s in enumerate(sources)
    ]
    return combine_prepared(parts, run_id)


def prepare_source(
    settings: Settings,
    source_name: str,
    embedding_model: str,
    on_progress: ProgressReporter | None = None,
    run_id: str | None = None,
    sink: ChunkSink | None = None,
    stop_parser: bool = False,
) -> PreparedIngestion:
    """One source's part of a run: what the CLI does for each source, and what the source's own
    Dagster asset does. Each source is compared with the corpus as the ledger holds it. Without a
    `sink`, the source spools its chunks itself (unembedded). `stop_parser`: as `prepare_shard`."""
    started_at = datetime.now(UTC)
    run_id = run_id or new_run_id(started_at)
    if sink is not None:
        return _prepare_source(settings, source_name, embedding_model, on_progress, run_id, sink, stop_parser)
    # Read back in this process: the local scratch folder, whatever staging_uri says.
    spool = ChunkSpool(str(scratch_dir(settings, run_id)))
    try:
        part = _prepare_source(
            settings, source_name, embedding_model, on_progress, run_id, spool, stop_parser
        )
        spool.close()
    except BaseException:
        spool.discard()
        raise
    return part


def _prepare_source(
    settings: Settings,
    source_name: str,
    embedding_model: str,
    on_progress: ProgressReporter | None,
    run_id: str,
    sink: ChunkSink,
    stop_parser: bool,
) -> PreparedIngestion:
    """A plan with one shard and its merge: the steps the Dagster path runs in parallel
    (pipelines/run/shards.py), here in one process."""
    # The contract and the source's ledger rows are read once, by the plan, for all three steps.
    plan, run = plan_and_open_source(settings, source_name, embedding_model, run_id, max_shards=1)
    if plan.skipped:
        if stop_parser:
            stop_parsing()  # the sources before it may have started the worker
        return replace(merge_shards(settings, plan, []), spools=(sink.path,))
    shard = prepare_shard(settings, plan, 0, sink, on_progress, run, stop_parser)
    return merge_shards(settings, plan, [shard], run)


def prepare_shard(
    settings: Settings,
    plan: SourcePlan,
    shard: int,
    sink: ChunkSink,
    on_progress: ProgressReporter | None = None,
    run: SourceInRun | None = None,
    stop_parser: bool = False,
) -> ShardPart:
    """Parse, assess and chunk the files of one shard of a source's plan, handing their chunks
    to `sink` as each document is done. Writes neither the index nor the ledger. `run` is the
    source as the plan opened it, when the shard runs in the plan's process. `stop_parser`: the
    process parses nothing after this shard (the CLI's last source, a Dagster shard step), so the
    parser worker stops after its last file, before the merge and while the embedding, which
    reaches its peak at the walk's end, still has chunks to embed."""
    checks_here = run is not None  # the plan's process merges, and checks the contract, too
    run = run or shard_run(settings, plan)
    contract, config_hash = run.contract, run.config_hash
    corpus: CorpusContext | None = None  # built at the first file to assess: a no-op run never pays
    releases: dict[str, tuple[str | None, str | None]] = {}
    positions: list[int] = []
    outcomes: list[DocumentOutcome] = []
    vanished: list[str] = []
    erased: set[str] | None = None  # tombstoned content hashes, read at the first file
    for position, path in plan.shard_files(shard):
        file, data = read_source_file(run.source, path, contract.limits.max_file_bytes)
        if file.rejected and not os.path.lexists(path):
            vanished.append(file.doc_id)  # deleted since the plan listed it
            continue
        if erased is None:
            erased = run.ledger.tombstoned()
        if file.content_hash in erased:
            # Bytes a person erased (`corpusgov erase`): refused before any of them is read.
            file, data = replace(file, rejection=ERASED, rejection_detail=ERASED_DETAIL), None
        if file.rejected or data is None:
            outcomes.append(rejected_outcome(file, config_hash, contract))
        else:
            if corpus is None:
                start_parsing(checks_here)
                corpus = _corpus_context(run.ledger)
                releases = releases_in_force(run.ledger)
            # Released bytes are read in full, even over the contract's length (apply_contract).
            released = releases.get(file.doc_id) == (file.content_hash, contract.version)
            outcome, chunks = process_file(
                file, data, contract, config_hash, run.started_at, corpus, released=released
            )
            outcomes.append(capped_parse_attempts(run, outcome))
            if chunks:
                _submit_chunks(run, sink, file.doc_id, chunks)
        positions.append(position)
        if on_progress is not None:
            on_progress(f"assess {plan.source}", len(outcomes), 0)
    if stop_parser:
        stop_parsing()
    stop_point(f"prepare.shard_{shard}.assessed")
    return ShardPart(plan.source, shard, tuple(positions), tuple(outcomes), sink.path, tuple(vanished))


def _corpus_context(ledger: Ledger) -> CorpusContext:
    """What each assessed document is compared with: the RAG app's outputs and the corpus."""
    return CorpusContext(
        registry=SelfOutputRegistry.from_rows(ledger.self_output_rows()),
        near_duplicates=NearDuplicateIndex.from_rows(ledger.near_duplicate_rows()),
        generation_depths=ledger.generation_depths(),
    )


def _submit_chunks(run: SourceInRun, sink: ChunkSink, doc_id: str, chunks: list[Chunk]) -> None:
    # An edited document keeps the vectors of its unchanged chunks: not embedded again.
    known = run.known.get(doc_id)
    indexed_before = known is not None and known.state is DocumentState.INDEXED
    sink.submit(chunks, run.ledger.chunk_ids([doc_id]) if indexed_before else ())


def _hold_back_blocked_sources(
    prepared: PreparedIngestion,
) -> tuple[PreparedIngestion, tuple[DocumentOutcome, ...]]:
    """A source over its error budget blocks only its own changes: they are held back (and shown
    by `corpusgov quarantine list --blocked`), the other sources' changes are committed."""
    blocked = {c.source for c in prepared.blocked_by}
    held_back = tuple(o for o in prepared.outcomes if o.source in blocked)
    kept = tuple(o for o in prepared.outcomes if o.source not in blocked)
    return replace(prepared, outcomes=kept), held_back


def commit_ingestion(
    settings: Settings,
    prepared: PreparedIngestion,
    embedder: Embedder,
    on_progress: ProgressReporter | None = None,
) -> IngestionReport:
    """Embed what is new and write the run: one LanceDB version (if the index changes) + the ledger.
    The spooled chunks carry the vectors the run embedded while it prepared."""
    _require_prepared_model(prepared, embedder)
    ledger = Ledger.of(settings)
    prepared, held_back = _hold_back_blocked_sources(prepared)
    known = ledger.documents()
    outcomes = prepared.outcomes
    was_indexed = {
        o.doc_id for o in outcomes if (prev := known.get(o.doc_id)) and prev.state is DocumentState.INDEXED
    }
    now_indexed = [o for o in outcomes if o.state is DocumentState.INDEXED]
    if now_indexed or was_indexed or not nothing_to_recover(settings):
        # A run that leaves the index as it is and finds no interrupted writer never opens
        # LanceDB: a scheduled no-op ingest stays cheap.
        recover_index(settings)
    index = ChunkIndex(settings.lancedb_uri)
    latest = ledger.latest_index_version()
    _require_base_index_version(prepared, latest)
    # Documents processed again (their key was cleared, or it changed) whose index rows come out
    # the same: neither rewritten nor listed as modified (pipelines/run/index_rows.py says what
    # counts). Their ledger rows are still replaced: that records their new processing key.
    unchanged = documents_held_as_written(
        index, {o.doc_id: o for o in now_indexed if o.doc_id in was_indexed}
    )
    changing = [o for o in now_indexed if o.doc_id not in unchanged]
    replaced = was_indexed - unchanged
    rows: IndexRows | None = None
    embedded = reused = chunks_added = chunks_removed = 0
    if changing or replaced:
        rows, chunks_added, chunks_removed = _index_rows(
            settings, ledger, index, prepared, changing, replaced, embedder, on_progress
        )
        embedded, reused = rows.embedded, rows.reused
    # Otherwise the run changes no row of the index: it commits no LanceDB version and no index
    # version (and the eval sets, which follow index versions, stay where they are); the ledger
    # still records its documents.
    write = RunWrite(
        prepared=prepared,
        base=latest,
        rows=rows,
        was_indexed=frozenset(was_indexed),
        unchanged=unchanged,
        known=known,
        chunks_added=chunks_added,
        chunks_removed=chunks_removed,
        summary=run_summary(prepared, embedded, reused, held_back=len(held_back)),
        held_back=held_back,
    )
    index_version = _write_run(settings, ledger, index, write)
    counts = state_counts_after(known, outcomes)
    return IngestionReport(
        run_id=prepared.run_id,
        index_version=index_version,
        discovered=prepared.discovered,
        unchanged=prepared.unchanged,
        outcomes=outcomes,
        chunks_embedded=embedded,
        chunks_reused=reused,
        contract_checks=prepared.contract_checks,
        state_counts=counts,
        held_back=held_back,
    )


def _require_prepared_model(prepared: PreparedIngestion, embedder: Embedder) -> None:
    if embedder.model_id != prepared.embedding_model:
        raise IndexStateError(
            f"The run was prepared for {prepared.embedding_model} but the embedder is "
            f"{embedder.model_id}. Prepare and commit with the same model."
        )


def _require_base_index_version(prepared: PreparedIngestion, latest: IndexVersion | None) -> None:
    """The run commits on the index version it was prepared on, or not at all."""
    if (latest.index_version if latest else None) != prepared.base_index_version:
        raise IngestionConflictError(
            f"The index moved to version {latest.index_version if latest else None} after this run "
            f"was prepared on {prepared.base_index_version}. Prepare the run again."
        )


def _index_rows(
    settings: Settings,
    ledger: Ledger,
    index: ChunkIndex,
    prepared: PreparedIngestion,
    now_indexed: list[DocumentOutcome],
    was_indexed: set[str],
    embedder: Embedder,
    on_progress: ProgressReporter | None,
) -> tuple[IndexRows, int, int]:
    """The rows the run writes to the index (embedding what is not embedded yet), with the
    number of chunks it adds and removes."""
    new_ids = {c.chunk_id for o in now_indexed for c in o.chunks}
    previous_ids = ledger.chunk_ids(sorted(was_indexed | {o.doc_id for o in now_indexed}))

    def embed_progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress("embed", done, total)

    rows = build_index_rows(
        scratch_dir(settings, prepared.run_id) / "index-rows.parquet",
        prepared.spools,
        {o.doc_id: o for o in now_indexed},
        index,
        previous_ids,
        embedder,
        embed_progress,
    )
    return rows, len(new_ids - previous_ids), len(previous_ids - new_ids)


@dataclass(frozen=True)
class RunWrite:
    """What the commit writes for one run: the rows for the index (None when the index does not
    change), what the manifest is computed from, and what the ledger records."""

    prepared: PreparedIngestion  # the blocked sources' changes taken out (`held_back`)
    base: IndexVersion | None  # the index version the run was prepared on
    rows: IndexRows | None
    was_indexed: frozenset[str]  # doc ids of the run that were indexed before it
    # doc ids of the run indexed before and after it whose index rows stay as they are
    unchanged: frozenset[str]
    known: dict[str, LedgerDocument]  # every document as the ledger held it before the run
    chunks_added: int
    chunks_removed: int
    summary: dict[str, Any]  # the run's counts and contract checks (`ingestion_runs.summary`)
    held_back: tuple[DocumentOutcome, ...]


def _write_run(settings: Settings, ledger: Ledger, index: ChunkIndex, write: RunWrite) -> IndexVersion | None:
    """Steps 4-7 of the commit protocol (pipelines/index/commit_protocol.py) for one run."""
    prepared, base = write.prepared, write.base
    index_version: IndexVersion | None = None
    touched_index = False
    try:
        with ledger.writer() as writer:
            # Again under the ledger's write lock, which every commit takes: no other writer
            # can commit between this check and this run's COMMIT.
            require_writer_lock("writing the index")
            _require_base_index_version(prepared, writer.latest_index_version())
            stop_point("commit.before_intent")
            if write.rows is not None:
                writer.record_intent(prepared.run_id, "ingestion", base.lance_version if base else None)
                stop_point("commit.after_intent")
                touched_index = True
                lance_version = index.write(write.rows.reader(), sorted(write.was_indexed - write.unchanged))
                stop_point("commit.after_index_write")
                index_version = index_manifest(
                    (base.index_version if base else 0) + 1,
                    lance_version,
                    prepared,
                    write.known,
                    write.was_indexed,
                    write.unchanged,
                    chunks_added=write.chunks_added,
                    chunks_removed=write.chunks_removed,
                    total_chunks=index.count_rows(),
                )
            writer.commit(
                LedgerCommit(
                    run_id=prepared.run_id,
                    started_at=prepared.started_at,
                    sources=prepared.sources,
                    outcomes=prepared.outcomes,
                    index_version=index_version,
                    summary=write.summary,
                    held_back=write.held_back,
                ),
                before_commit=lambda: require_writer_lock("the ledger commit"),
            )
    except WriterLockLostError:
        # Another writer may hold the lock now, and recovers LanceDB itself: touching it here
        # could undo that writer's work.
        raise
    except BaseException:
        if touched_index:
            # Leave nothing half-written: LanceDB goes back to where the ledger is.
            undo_interrupted_write(settings)
        raise
    stop_point("commit.after_ledger_commit")
    if index_version is not None:
        tag_index_version(settings, index_version)
    return index_version


def run_ingestion(
    settings: Settings,
    embedder: Embedder,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
    keep_parser: bool = True,
) -> IngestionReport:
    """Prepare and commit under the writer lock: what `corpusgov ingest` does."""
    with writer_lock(settings):
        return ingest_holding_lock(settings, embedder, source_names, on_progress, keep_parser)


def ingest_holding_lock(
    settings: Settings,
    embedder: Embedder,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
    keep_parser: bool = True,
) -> IngestionReport:
    """`run_ingestion` for a caller that already holds the writer lock (`doctor --repair`).
    Embedding runs beside parsing and assessment (pipelines/run/embedding_prefetch.py).
    `keep_parser`: keep the extraction worker for this process's next run (its parsers imported
    once); False in a process that runs one (the CLI): the worker stops once every file is
    parsed, and its memory is free for the embedding's peak and the commit."""

    def embed_progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress("embed", done, total)

    run_id = new_run_id(datetime.now(UTC))
    try:
        # One process prepares and commits: its spool stays in the local scratch folder.
        spool = ChunkSpool(str(scratch_dir(settings, run_id)))
        with EmbeddingPrefetch(embedder, spool, embed_progress) as prefetch:
            prepared = prepare_ingestion(
                settings, embedder.model_id, source_names, on_progress, prefetch, run_id, keep_parser
            )
            prefetch.finish()
        return commit_ingestion(settings, prepared, embedder, on_progress)
    finally:
        clear_staging(settings, run_id)
