"""Ingestion: discover → parse → contract → assess → chunk → embed → one LanceDB commit → ledger.

Two phases, so Dagster can put a blocking contract check between them:
- `prepare_ingestion` does everything but embedding and writing, for new and changed files only
  (incremental by content hash and config hash);
- `commit_ingestion` embeds the chunks the index does not have yet, writes them as ONE LanceDB
  version tagged `index-v<N>`, and records the run in the ledger in one transaction.
Chunk texts and vectors do not stay in memory: they are spooled to Parquet as documents are
prepared and streamed into LanceDB at the commit (pipelines/chunk_spool.py, pipelines/index_rows.py).
The CLI runs both with `run_ingestion`; the Dagster assets run one each. Same code either way.
"""

import hashlib
import importlib
import logging
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts import BudgetVerdict, ContractError, DocumentContract, contract_ref, load_contract
from corpus_quality.near_duplicates import NearDuplicateIndex
from corpus_quality.registry import SelfOutputRegistry
from corpus_quality.vocabulary import ProvenanceLabel
from pipelines.chunk_spool import ChunkSink, ChunkSpool, clear_staging, staging_dir
from pipelines.commit_protocol import (
    nothing_to_recover,
    recover_index,
    tag_index_version,
    undo_interrupted_write,
    writer_lock,
)
from pipelines.contract_checks import (
    ContractCheck,
    apply_contract,
    blocked_message,
    contract_check,
    contract_table,
    duplicate_of,
    violates_contract,
)
from pipelines.contract_report import write_contract_report
from pipelines.discovery import discover_source
from pipelines.documents import DocumentOutcome, DocumentState
from pipelines.embedding import Embedder, require_index_model
from pipelines.embedding_prefetch import EmbeddingPrefetch
from pipelines.errors import CorpusgovError, IndexStateError, IngestionConflictError, first_line
from pipelines.index import ChunkIndex, index_tag
from pipelines.index_rows import IndexRows, build_index_rows
from pipelines.ledger import IndexVersion, Ledger, LedgerCommit, LedgerDocument
from pipelines.processing import CorpusContext, document_config_hash, process_file, rejected_outcome
from pipelines.settings import Settings, SourceConfig
from pipelines.stop_points import stop_point

logger = logging.getLogger(__name__)

# (stage, done, total): the CLI draws a progress bar from it, Dagster logs it.
ProgressReporter = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PreparedIngestion:
    """The outcome of every new, changed or removed document, ready to commit."""

    run_id: str
    started_at: datetime
    sources: tuple[str, ...]
    base_index_version: int | None
    embedding_model: str
    outcomes: tuple[DocumentOutcome, ...]
    discovered: int
    unchanged: int
    contract_checks: tuple[ContractCheck, ...]
    config_hashes: dict[str, str] = field(default_factory=dict)  # source -> config hash
    spools: tuple[str, ...] = ()  # the chunks' texts and vectors (pipelines/chunk_spool.py)

    @property
    def blocked_by(self) -> tuple[ContractCheck, ...]:
        return tuple(c for c in self.contract_checks if c.blocked)


@dataclass(frozen=True)
class IngestionReport:
    run_id: str
    index_version: IndexVersion | None
    discovered: int
    unchanged: int
    outcomes: tuple[DocumentOutcome, ...]
    chunks_embedded: int
    chunks_reused: int
    contract_checks: tuple[ContractCheck, ...]
    state_counts: dict[str, int]
    held_back: tuple[DocumentOutcome, ...] = ()  # changes of blocked sources, not committed

    @property
    def changed(self) -> bool:
        return bool(self.outcomes)

    @property
    def blocked(self) -> tuple[ContractCheck, ...]:
        return tuple(c for c in self.contract_checks if c.blocked)

    @property
    def source_errors(self) -> tuple[ContractCheck, ...]:
        return tuple(c for c in self.contract_checks if c.error is not None)

    def run_counts(self) -> dict[str, int]:
        counts = Counter(o.state.value for o in self.outcomes)
        return {state.value: counts.get(state.value, 0) for state in DocumentState}

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "index_version": self.index_version.index_version if self.index_version else None,
            "lance_version": self.index_version.lance_version if self.index_version else None,
            "discovered": self.discovered,
            "unchanged": self.unchanged,
            "changed": self.run_counts(),
            "added": list(self.index_version.added) if self.index_version else [],
            "modified": list(self.index_version.modified) if self.index_version else [],
            "removed": list(self.index_version.removed) if self.index_version else [],
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "documents": self.state_counts,
            "source_errors": {c.source: c.error for c in self.source_errors},
            "blocked_sources": {c.source: blocked_message(c) for c in self.blocked},
            "held_back": [o.doc_id for o in self.held_back],
        }


def selected_sources(settings: Settings, source_names: list[str] | None) -> list[SourceConfig]:
    if not source_names:
        return list(settings.sources)
    return [settings.source(name) for name in source_names]


def prepare_ingestion(
    settings: Settings,
    embedding_model: str,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
    sink: ChunkSink | None = None,
    run_id: str | None = None,
) -> PreparedIngestion:
    """Discover, parse, assess and contract-check what changed since the ledger's last run, source
    by source (`prepare_source`), as one run. The chunks go to `sink` (the embedding thread, or a
    spool: then the commit embeds them)."""
    sources = selected_sources(settings, source_names)
    run_id = run_id or new_run_id(datetime.now(UTC))
    parts = [
        prepare_source(settings, s.name, embedding_model, on_progress, run_id, sink) for s in sources
    ]
    return combine_prepared(parts, run_id)


def prepare_source(
    settings: Settings,
    source_name: str,
    embedding_model: str,
    on_progress: ProgressReporter | None = None,
    run_id: str | None = None,
    sink: ChunkSink | None = None,
) -> PreparedIngestion:
    """One source's part of a run: what the CLI does for each source, and what the source's own
    Dagster asset does. Each source is compared with the corpus as the ledger holds it. Without a
    `sink`, the source spools its chunks itself (unembedded)."""
    started_at = datetime.now(UTC)
    run_id = run_id or new_run_id(started_at)
    if sink is not None:
        return _prepare_source(settings, source_name, embedding_model, on_progress, run_id, sink)
    spool = ChunkSpool(staging_dir(settings, run_id))
    try:
        part = _prepare_source(settings, source_name, embedding_model, on_progress, run_id, spool)
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
) -> PreparedIngestion:
    started_at = datetime.now(UTC)
    configured = settings.source(source_name)
    ledger = Ledger(settings.ledger_path)
    latest = ledger.latest_index_version()
    if latest is not None:
        require_index_model(latest.embedding_model, embedding_model, settings.data_dir)
    part = PreparedIngestion(
        run_id=run_id, started_at=started_at, sources=(configured.name,),
        base_index_version=latest.index_version if latest else None,
        embedding_model=embedding_model, outcomes=(), discovered=0, unchanged=0,
        contract_checks=(), spools=(str(sink.path),),
    )
    shared = _sources_sharing_a_folder(settings, list(settings.sources))
    loaded = _load_source_contract(settings, configured, embedding_model, shared)
    if isinstance(loaded, ContractCheck):
        return replace(part, contract_checks=(loaded,))
    contract, source = loaded
    config_hash = document_config_hash(contract, embedding_model)
    source_known = ledger.documents(source=source.name)
    corpus: CorpusContext | None = None  # built at the first file to assess: a no-op run never pays
    seen: set[str] = set()
    processed: list[DocumentOutcome] = []
    discovered = unchanged = 0
    for file, data in discover_source(source, contract.limits.max_file_bytes):
        discovered += 1
        seen.add(file.doc_id)
        if _is_unchanged(source_known.get(file.doc_id), file.content_hash, config_hash, file.rejection):
            unchanged += 1
            continue
        if file.rejected or data is None:
            processed.append(rejected_outcome(file, config_hash, contract))
        else:
            if corpus is None:
                corpus = CorpusContext(
                    registry=SelfOutputRegistry.from_rows(ledger.self_output_rows()),
                    near_duplicates=NearDuplicateIndex.from_rows(ledger.near_duplicate_rows()),
                    generation_depths=ledger.generation_depths(),
                )
            outcome, chunks = process_file(file, data, contract, config_hash, started_at, corpus)
            processed.append(outcome)
            if len(processed) == 1:
                _import_contract_checks_in_the_background()
            if chunks:
                # An edited document keeps the vectors of its unchanged chunks: not embedded again.
                known = source_known.get(file.doc_id)
                indexed_before = known is not None and known.state is DocumentState.INDEXED
                sink.submit(chunks, ledger.chunk_ids([file.doc_id]) if indexed_before else ())
        if on_progress is not None:
            on_progress(f"assess {source.name}", len(processed), 0)
    duplicates = duplicate_of(processed, source_known)
    frame = contract_table(processed, duplicates)
    rule_reasons: dict[str, tuple[str, ...]] = {}
    if len(frame):
        # Imported here: Great Expectations takes seconds to import, and only a run with
        # documents to check needs it (a no-op ingest and the read commands never do).
        from contracts.enforcement import enforce_contract

        rule_reasons = enforce_contract(contract, frame, now=started_at).reasons
    decided = apply_contract(contract, processed, rule_reasons, ledger.releases_in_force())
    removed = [
        _removed_outcome(doc, config_hash, contract)
        for doc_id, doc in sorted(source_known.items())
        if doc_id not in seen and doc.state is not DocumentState.REMOVED
    ]
    changing = {o.doc_id for o in decided} | {o.doc_id for o in removed}
    still_indexed = sum(
        1 for d, doc in source_known.items() if doc.state is DocumentState.INDEXED and d not in changing
    )
    budget = BudgetVerdict(
        violating=sum(1 for o in decided if violates_contract(o)),
        governed=still_indexed + len(frame),
        max_violation_rate=contract.max_violation_rate,
    )
    check = contract_check(source, contract, len(frame), budget, decided)
    if check.violations:
        # Only when something failed: a person follows the link from the Dagster check.
        check = replace(check, report=str(write_contract_report(settings, check, part.run_id)))
    return replace(
        part,
        outcomes=tuple(decided) + tuple(removed),
        discovered=discovered,
        unchanged=unchanged,
        contract_checks=(check,),
        config_hashes={source.name: config_hash},
    )


def _import_contract_checks_in_the_background() -> None:
    """Great Expectations takes seconds to import and a run with documents to check needs it at
    the end of each source: import it while the files are parsed (the main thread mostly waits on
    the extraction worker then). Started after the first document, whose assessment has made its
    own lazy imports, so the two threads do not import the same modules at once."""
    if "contracts.enforcement" not in sys.modules:
        threading.Thread(
            target=importlib.import_module, args=("contracts.enforcement",),
            name="corpusgov-import-ge", daemon=True,
        ).start()


def combine_prepared(parts: list[PreparedIngestion], run_id: str | None = None) -> PreparedIngestion:
    """The sources' parts as one run: one commit, one index version."""
    if not parts:
        raise CorpusgovError("No source to ingest: add one under `sources:` in corpusgov.yaml.")
    bases = {p.base_index_version for p in parts}
    if len(bases) > 1:
        raise IngestionConflictError(
            f"The sources of this run were prepared on different index versions ({sorted(bases, key=str)}): "
            "another run committed in between. Prepare the run again."
        )
    models = {p.embedding_model for p in parts}
    if len(models) > 1:
        raise IndexStateError(f"The sources were prepared for different embedding models: {sorted(models)}.")
    started_at = min(p.started_at for p in parts)
    return PreparedIngestion(
        run_id=run_id or new_run_id(started_at),
        started_at=started_at,
        sources=tuple(s for p in parts for s in p.sources),
        base_index_version=parts[0].base_index_version,
        embedding_model=parts[0].embedding_model,
        outcomes=tuple(o for p in parts for o in p.outcomes),
        discovered=sum(p.discovered for p in parts),
        unchanged=sum(p.unchanged for p in parts),
        contract_checks=tuple(c for p in parts for c in p.contract_checks),
        config_hashes={k: v for p in parts for k, v in p.config_hashes.items()},
        spools=tuple(dict.fromkeys(s for p in parts for s in p.spools)),
    )


def new_run_id(started_at: datetime) -> str:
    return f"{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def commit_ingestion(
    settings: Settings,
    prepared: PreparedIngestion,
    embedder: Embedder,
    on_progress: ProgressReporter | None = None,
) -> IngestionReport:
    """Embed what is new and write the run: one LanceDB version (if the index changes) + the ledger.
    The spooled chunks carry the vectors the run embedded while it prepared."""
    if embedder.model_id != prepared.embedding_model:
        raise IndexStateError(
            f"The run was prepared for {prepared.embedding_model} but the embedder is "
            f"{embedder.model_id}. Prepare and commit with the same model."
        )
    ledger = Ledger(settings.ledger_path)
    # A source over its error budget blocks only its own changes: they are held back (and shown
    # by `corpusgov quarantine list --blocked`), the other sources' changes are committed.
    blocked = {c.source for c in prepared.blocked_by}
    held_back = tuple(o for o in prepared.outcomes if o.source in blocked)
    prepared = replace(prepared, outcomes=tuple(o for o in prepared.outcomes if o.source not in blocked))
    known = ledger.documents()
    outcomes = prepared.outcomes
    was_indexed = {
        o.doc_id for o in outcomes
        if (prev := known.get(o.doc_id)) is not None and prev.state is DocumentState.INDEXED
    }
    now_indexed = [o for o in outcomes if o.state is DocumentState.INDEXED]
    if now_indexed or was_indexed or not nothing_to_recover(settings):
        # A run that leaves the index as it is and finds no interrupted writer never opens
        # LanceDB: a scheduled no-op ingest stays cheap.
        recover_index(settings)
    index = ChunkIndex(settings.lancedb_uri)
    latest = ledger.latest_index_version()
    if (latest.index_version if latest else None) != prepared.base_index_version:
        raise IngestionConflictError(
            f"The index moved to version {latest.index_version if latest else None} after this run "
            f"was prepared on {prepared.base_index_version}. Prepare the run again."
        )
    rows: IndexRows | None = None
    embedded = reused = chunks_added = chunks_removed = 0
    if now_indexed or was_indexed:
        new_ids = {c.chunk_id for o in now_indexed for c in o.chunks}
        previous_ids = ledger.chunk_ids(sorted(was_indexed | {o.doc_id for o in now_indexed}))

        def embed_progress(done: int, total: int) -> None:
            if on_progress is not None:
                on_progress("embed", done, total)

        rows = build_index_rows(
            staging_dir(settings, prepared.run_id) / "index-rows.parquet", prepared.spools,
            {o.doc_id: o for o in now_indexed}, index, previous_ids, embedder, embed_progress,
        )
        embedded, reused = rows.embedded, rows.reused
        chunks_added, chunks_removed = len(new_ids - previous_ids), len(previous_ids - new_ids)
    summary = {**_run_summary(prepared), "blocked": bool(blocked), "chunks_embedded": embedded,
               "chunks_reused": reused, "held_back": len(held_back)}
    index_version = _write_run(
        settings, ledger, index, prepared, latest, rows, was_indexed, known,
        chunks_added, chunks_removed, summary, held_back,
    )
    counts = _state_counts_after(known, outcomes)
    return IngestionReport(
        run_id=prepared.run_id, index_version=index_version, discovered=prepared.discovered,
        unchanged=prepared.unchanged, outcomes=outcomes, chunks_embedded=embedded,
        chunks_reused=reused, contract_checks=prepared.contract_checks, state_counts=counts,
        held_back=held_back,
    )


def _write_run(
    settings: Settings,
    ledger: Ledger,
    index: ChunkIndex,
    prepared: PreparedIngestion,
    latest: IndexVersion | None,
    rows: IndexRows | None,
    was_indexed: set[str],
    known: dict[str, LedgerDocument],
    chunks_added: int,
    chunks_removed: int,
    summary: dict[str, Any],
    held_back: tuple[DocumentOutcome, ...],
) -> IndexVersion | None:
    """Steps 4-7 of the commit protocol (pipelines/commit_protocol.py) for one run."""
    index_version: IndexVersion | None = None
    touched_index = False
    try:
        with ledger.writer() as writer:
            stop_point("commit.before_intent")
            if rows is not None:
                writer.record_intent(
                    prepared.run_id, "ingestion", latest.lance_version if latest else None
                )
                stop_point("commit.after_intent")
                touched_index = True
                lance_version = index.write(rows.reader(), sorted(was_indexed))
                stop_point("commit.after_index_write")
                number = (latest.index_version if latest else 0) + 1
                index_version = _manifest(
                    number, lance_version, prepared, known, was_indexed,
                    chunks_added=chunks_added, chunks_removed=chunks_removed,
                    total_chunks=index.count_rows(),
                )
            writer.commit(
                LedgerCommit(
                    run_id=prepared.run_id, started_at=prepared.started_at,
                    sources=prepared.sources, outcomes=prepared.outcomes,
                    index_version=index_version, summary=summary, held_back=held_back,
                )
            )
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
) -> IngestionReport:
    """Prepare and commit under the writer lock: what `corpusgov ingest` does."""
    with writer_lock(settings):
        return ingest_holding_lock(settings, embedder, source_names, on_progress)


def ingest_holding_lock(
    settings: Settings,
    embedder: Embedder,
    source_names: list[str] | None = None,
    on_progress: ProgressReporter | None = None,
) -> IngestionReport:
    """`run_ingestion` for a caller that already holds the writer lock (`doctor --repair`).
    Embedding runs beside parsing and assessment (pipelines/embedding_prefetch.py)."""
    def embed_progress(done: int, total: int) -> None:
        if on_progress is not None:
            on_progress("embed", done, total)

    run_id = new_run_id(datetime.now(UTC))
    try:
        spool = ChunkSpool(staging_dir(settings, run_id))
        with EmbeddingPrefetch(embedder, spool, embed_progress) as prefetch:
            prepared = prepare_ingestion(
                settings, embedder.model_id, source_names, on_progress, prefetch, run_id
            )
            prefetch.finish()
        return commit_ingestion(settings, prepared, embedder, on_progress)
    finally:
        clear_staging(settings, run_id)


def _run_summary(prepared: PreparedIngestion) -> dict[str, Any]:
    return {
        "discovered": prepared.discovered,
        "unchanged": prepared.unchanged,
        "changed": dict(Counter(o.state.value for o in prepared.outcomes)),
        "contract_checks": [
            {
                "source": c.source, "contract": c.contract_path, "contract_id": c.contract_id,
                "contract_version": c.contract_version, "checked": c.checked,
                "violations_by_reason": c.violations_by_reason,
                "violation_rate": c.violation_rate, "max_violation_rate": c.max_violation_rate,
                "within_budget": c.within_budget, "error": c.error, "blocked": c.blocked,
                "governed": c.governed, "violating": c.violating,
            }
            for c in prepared.contract_checks
        ],
    }


def record_failed_run(
    settings: Settings, run_id: str, step: str, error: BaseException | str,
    sources: tuple[str, ...] = (),
) -> None:
    """Put a failed run on record so the alert sinks hear of it (a `run_failed` alert), whichever
    path ran it. Best effort: when the ledger itself is what failed, the error is all there is."""
    message = first_line(error) if isinstance(error, BaseException) else error
    kind = type(error).__name__ if isinstance(error, BaseException) else "error"
    try:
        Ledger(settings.ledger_path, busy_retry_seconds=5).record_run_without_changes(
            run_id, datetime.now(UTC), sources,
            {"failed": {"step": step, "error": message, "kind": kind}, "sources": list(sources)},
        )
    except CorpusgovError as err:
        logger.warning("The failed run %s could not be recorded for alerts: %s", run_id, err)


def bind_source(settings: Settings, source: SourceConfig, contract: DocumentContract) -> SourceConfig | str:
    """The source with its folder: from corpusgov.yaml, or from the contract's local server.

    Returns an error message when they disagree: a contract that names its folder governs that
    folder only. Relative server paths are relative to the project (the config file's folder).
    """
    if contract.source_path is None:
        if source.path is None:
            return (
                f"source '{source.name}' has no path and its contract {contract.path} names no local "
                "server. Set `path` in corpusgov.yaml or `servers[].path` in the contract."
            )
        return source
    bound = Path(contract.source_path).expanduser()
    if not bound.is_absolute():
        bound = settings.config_path.parent / bound
    if source.path is None:
        return source.model_copy(update={"path": str(bound)})
    if Path(source.path).resolve() != bound.resolve():
        return (
            f"source '{source.name}' reads {source.path}, but its contract {contract.path} binds "
            f"servers[].path to {contract.source_path}. Use the same folder in both, or drop `path` "
            "from the source in corpusgov.yaml."
        )
    return source


def _sources_sharing_a_folder(settings: Settings, sources: list[SourceConfig]) -> dict[str, str]:
    """Source name -> error for every source whose folder another source also claims."""
    folders: dict[str, list[SourceConfig]] = {}
    for source in sources:
        if source.path is not None and not source.is_glob:
            folders.setdefault(str(Path(source.path).resolve()), []).append(source)
    errors: dict[str, str] = {}
    for folder, claimants in folders.items():
        if len(claimants) > 1:
            names = ", ".join(f"'{s.name}' ({s.contract})" for s in claimants)
            for source in claimants:
                errors[source.name] = (
                    f"source '{source.name}' skipped: the folder {folder} is claimed by several sources "
                    f"and contracts: {names}. Give each folder one source (sources[].path in corpusgov.yaml)."
                )
    return errors


def _load_source_contract(
    settings: Settings, source: SourceConfig, embedding_model: str, shared: dict[str, str]
) -> tuple[DocumentContract, SourceConfig] | ContractCheck:
    def broken(message: str, contract: DocumentContract | None = None) -> ContractCheck:
        return ContractCheck(
            source=source.name, contract_path=source.contract,
            contract_id=contract.id if contract else None,
            contract_version=contract.version if contract else None, checked=0,
            violations_by_reason={}, violation_rate=0.0, max_violation_rate=0.0,
            within_budget=False, error=message,
        )

    if source.name in shared:
        return broken(shared[source.name])
    try:
        contract = load_contract(Path(source.contract))
    except ContractError as err:
        return broken(f"source '{source.name}' skipped, its contract is broken: {err}")
    bound = bind_source(settings, source, contract)
    if isinstance(bound, str):
        return broken(bound, contract)
    source = bound
    if source.path is None or (not source.is_glob and not Path(source.path).is_dir()):
        return broken(
            f"source '{source.name}' skipped: its folder {source.path} does not exist. "
            "Fix `path` in corpusgov.yaml.",
            contract,
        )
    pinned = contract.embedding_model
    if pinned and embedding_model.split("@", 1)[0] != pinned:
        # One index holds one model's vectors: mixing would make every distance meaningless.
        return broken(
            f"source '{source.name}' skipped: its contract {contract.path} pins the embedding model "
            f"{pinned}, but the index embeds with {embedding_model.split('@', 1)[0]}. Change the "
            "contract's pinned model or re-index into a new data_dir with that model.",
            contract,
        )
    return contract, source


def _is_unchanged(
    prev: LedgerDocument | None, content_hash: str | None, config_hash: str, rejection: str | None
) -> bool:
    if prev is None or prev.state is DocumentState.REMOVED or prev.config_hash != config_hash:
        return False
    if content_hash is None:
        # Unreadable without a hash (empty, permissions, symlink): same rejection, same file.
        return prev.content_hash is None and prev.reasons == (rejection,)
    return prev.content_hash == content_hash


def _removed_outcome(doc: LedgerDocument, config_hash: str, contract: DocumentContract) -> DocumentOutcome:
    return DocumentOutcome(
        doc_id=doc.doc_id, source=doc.source, path=doc.path, state=DocumentState.REMOVED,
        reasons=("discover.deleted_from_source",), content_hash=doc.content_hash, mime_type=None,
        size=0, config_hash=config_hash, contract_id=contract.id,
        contract_version=contract.version, detail="the file is no longer in the source",
    )


def _state_counts_after(
    known: dict[str, LedgerDocument], outcomes: tuple[DocumentOutcome, ...]
) -> dict[str, int]:
    states = {doc_id: doc.state.value for doc_id, doc in known.items()}
    states.update({o.doc_id: o.state.value for o in outcomes})
    counts = Counter(states.values())
    return {state.value: counts.get(state.value, 0) for state in DocumentState}


def _manifest(
    number: int,
    lance_version: int,
    prepared: PreparedIngestion,
    known: dict[str, LedgerDocument],
    was_indexed: set[str],
    chunks_added: int,
    chunks_removed: int,
    total_chunks: int,
) -> IndexVersion:
    after: dict[str, tuple[str, str | None, str | None]] = {
        d: (doc.state.value, doc.grade, doc.provenance) for d, doc in known.items()
    }
    after.update({o.doc_id: (o.state.value, o.grade, o.provenance) for o in prepared.outcomes})
    indexed = [v for v in after.values() if v[0] == DocumentState.INDEXED.value]
    added = sorted(o.doc_id for o in prepared.outcomes
                   if o.state is DocumentState.INDEXED and o.doc_id not in was_indexed)
    modified = sorted(o.doc_id for o in prepared.outcomes
                      if o.state is DocumentState.INDEXED and o.doc_id in was_indexed)
    removed = sorted(o.doc_id for o in prepared.outcomes
                     if o.state is not DocumentState.INDEXED and o.doc_id in was_indexed)
    config = hashlib.sha256(
        "\x1f".join(f"{s}={h}" for s, h in sorted(prepared.config_hashes.items())).encode()
    ).hexdigest()[:16]
    return IndexVersion(
        index_version=number,
        lance_version=lance_version,
        tag=index_tag(number),
        created_at=datetime.now(UTC),
        config_hash=config,
        embedding_model=prepared.embedding_model,
        added=tuple(added),
        modified=tuple(modified),
        removed=tuple(removed),
        chunks_added=chunks_added,
        chunks_removed=chunks_removed,
        total_chunks=total_chunks,
        counts={
            "by_state": dict(Counter(v[0] for v in after.values())),
            "by_grade": dict(Counter(v[1] or "none" for v in indexed)),
            "by_provenance": dict(Counter(v[2] or ProvenanceLabel.UNKNOWN for v in indexed)),
        },
        contract_versions={
            c.source: contract_ref(c.contract_id, c.contract_version)
            for c in prepared.contract_checks if c.error is None
        },
    )
