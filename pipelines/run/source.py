"""The steps of preparing one source for a run (`prepare_source` in pipelines/run/ingestion.py):
bind the source to its contract and folder, tell unchanged files from changed ones, then decide
the changed documents under the contract and its error budget.

The walk over the files (parse, assess, chunk) stays in pipelines/run/ingestion.py; what is here
reads the ledger and the contract but writes nothing to the index or the ledger.
"""

import importlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from contracts import BudgetVerdict, ContractError, DocumentContract, load_contract
from pipelines.contract.checks import (
    ContractCheck,
    apply_contract,
    contract_check,
    contract_table,
    duplicate_of,
    violates_contract,
)
from pipelines.contract.report import write_contract_report
from pipelines.document.extraction import PARSE_ATTEMPTS, PARSE_FAILED, PARSE_INTERRUPTED, shared_worker
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.ledger import Ledger, LedgerDocument
from pipelines.ledger.quarantine import releases_in_force
from pipelines.settings import Settings, SourceConfig


@dataclass(frozen=True)
class SourceInRun:
    """One source as a run prepares it: its contract, and the ledger it is compared with."""

    ledger: Ledger
    source: SourceConfig  # bound to its folder (`bind_source`)
    contract: DocumentContract
    config_hash: str
    known: dict[str, LedgerDocument]  # the source's documents as the ledger holds them
    started_at: datetime


@dataclass
class AssessedFiles:
    """What the walk over a source's files found: every file seen, and the outcome of each new
    or changed one (before the contract decides)."""

    processed: list[DocumentOutcome] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    discovered: int = 0
    unchanged: int = 0


def selected_sources(settings: Settings, source_names: list[str] | None) -> list[SourceConfig]:
    if not source_names:
        return list(settings.sources)
    return [settings.source(name) for name in source_names]


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


def sources_sharing_a_folder(settings: Settings, sources: list[SourceConfig]) -> dict[str, str]:
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


def load_source_contract(
    settings: Settings, source: SourceConfig, embedding_model: str, shared: dict[str, str]
) -> tuple[DocumentContract, SourceConfig] | ContractCheck:
    """The source's contract and the source bound to its folder, or the failed check that skips
    the source (a shared folder, a broken contract, a missing folder, another pinned model)."""

    def broken(message: str, contract: DocumentContract | None = None) -> ContractCheck:
        return ContractCheck(
            source=source.name,
            contract_path=source.contract,
            contract_id=contract.id if contract else None,
            contract_version=contract.version if contract else None,
            checked=0,
            violations_by_reason={},
            violation_rate=0.0,
            max_violation_rate=0.0,
            within_budget=False,
            error=message,
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


def is_unchanged(
    prev: LedgerDocument | None, content_hash: str | None, config_hash: str, rejection: str | None
) -> bool:
    if prev is None or prev.state is DocumentState.REMOVED or prev.config_hash != config_hash:
        return False
    if PARSE_INTERRUPTED in prev.reasons:
        return False  # its parser was killed from outside: nothing is known of the file yet
    if content_hash is None:
        # Unreadable without a hash (empty, permissions, symlink): same rejection, same file.
        return prev.content_hash is None and prev.reasons == (rejection,)
    return prev.content_hash == content_hash


def capped_parse_attempts(run: SourceInRun, outcome: DocumentOutcome) -> DocumentOutcome:
    """A file whose parser was killed from outside is read again at the next run, but not for
    ever: one that kills it PARSE_ATTEMPTS runs in a row (a file that makes the parser blow up the
    machine's memory, a native crash) is `parse.failed`, until the file or its contract changes."""
    if PARSE_INTERRUPTED not in outcome.reasons or outcome.content_hash is None:
        return outcome
    earlier = 0
    prev = run.known.get(outcome.doc_id)
    if prev is not None and PARSE_INTERRUPTED in prev.reasons:
        earlier = run.ledger.runs_in_a_row_with_reason(
            outcome.doc_id, outcome.content_hash, PARSE_INTERRUPTED
        )
    if earlier + 1 < PARSE_ATTEMPTS:
        return outcome
    return replace(
        outcome,
        reasons=(PARSE_FAILED,),
        detail=f"the parser process died {earlier + 1} times on this file, in {earlier + 1} runs in "
        "a row; it is not read again until the file or its contract changes",
    )


def start_parsing(import_contract_checks: bool) -> None:
    """Before a shard's first file to parse: start the extraction worker and, while it imports its
    parsers (about 3 s, in its own process, with this thread waiting for it and a core idle),
    import Great Expectations here when this process will check the contract
    (`import_contract_checks`: the CLI's one process, not a Dagster shard step, whose merge step
    checks): it takes as long, and imported later it took CPU from the embedder
    (pipelines/run/embedding_prefetch.py). A process whose worker is up has done this already; when
    not, `decide_under_contract` imports it."""
    if shared_worker().start() and import_contract_checks:
        importlib.import_module("contracts.enforcement")


def stop_parsing() -> None:
    """After the last file of a process's one run is parsed (the CLI's ingest, a Dagster shard
    step): stop the extraction worker, so its memory (the parsers, the PDF stack once a PDF came,
    what a large file left behind: 200 to 650 MB on the sample setup) is free before the embedding
    reaches its peak and the commit. A later parse in the same process starts a new worker."""
    shared_worker().close()


def decide_under_contract(
    settings: Settings, run: SourceInRun, assessed: AssessedFiles, run_id: str
) -> tuple[tuple[DocumentOutcome, ...], ContractCheck]:
    """The source's outcomes once the contract has decided them, the documents gone from the
    source among them, and the source's contract check against its error budget."""
    duplicates = duplicate_of(assessed.processed, run.known)
    frame = contract_table(assessed.processed, duplicates)
    rule_reasons: dict[str, tuple[str, ...]] = {}
    if len(frame):
        # Imported here: Great Expectations takes seconds to import, and only a run with
        # documents to check needs it (a no-op ingest and the read commands never do).
        from contracts.enforcement import enforce_contract

        rule_reasons = enforce_contract(run.contract, frame, now=run.started_at).reasons
    decided = apply_contract(run.contract, assessed.processed, rule_reasons, releases_in_force(run.ledger))
    removed = [
        _removed_outcome(doc, run.config_hash, run.contract)
        for doc_id, doc in sorted(run.known.items())
        if doc_id not in assessed.seen and doc.state is not DocumentState.REMOVED
    ]
    changing = {o.doc_id for o in decided} | {o.doc_id for o in removed}
    still_indexed = sum(
        1 for d, doc in run.known.items() if doc.state is DocumentState.INDEXED and d not in changing
    )
    budget = BudgetVerdict(
        violating=sum(1 for o in decided if violates_contract(o)),
        governed=still_indexed + len(frame),
        max_violation_rate=run.contract.max_violation_rate,
    )
    check = contract_check(run.source, run.contract, len(frame), budget, decided)
    if check.violations:
        # Only when something failed: a person follows the link from the Dagster check.
        check = replace(check, report=str(write_contract_report(settings, check, run_id)))
    return tuple(decided) + tuple(removed), check


def _removed_outcome(doc: LedgerDocument, config_hash: str, contract: DocumentContract) -> DocumentOutcome:
    return DocumentOutcome(
        doc_id=doc.doc_id,
        source=doc.source,
        path=doc.path,
        state=DocumentState.REMOVED,
        reasons=("discover.deleted_from_source",),
        content_hash=doc.content_hash,
        mime_type=None,
        size=0,
        config_hash=config_hash,
        contract_id=contract.id,
        contract_version=contract.version,
        detail="the file is no longer in the source",
    )
