"""The records of an ingestion run (pipelines/run/ingestion.py): the prepared run that passes from the
prepare phase to the commit phase, the report the caller gets back, and what the commit writes
about the run in the ledger (its summary, the manifest of the index version it creates).

Plain data and pure functions: nothing here reads or writes a store. pipelines/run/ingestion.py
re-exports the public names; pipelines/run/staging.py imports from here, which keeps it out of an
import cycle with the ingestion code.
"""

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts import contract_ref
from corpus_quality.vocabulary import ProvenanceLabel
from pipelines.contract.checks import ContractCheck, blocked_message
from pipelines.document.extraction import PARSE_INTERRUPTED
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.errors import CorpusgovError, IndexStateError, IngestionConflictError
from pipelines.index.table import index_tag
from pipelines.ledger import IndexVersion, LedgerDocument, VersionCounts

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
    spools: tuple[str, ...] = ()  # the chunks' texts and vectors (pipelines/run/spool.py)

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

    @property
    def interrupted_parses(self) -> tuple[DocumentOutcome, ...]:
        """Files this run could not read because their parser was killed from outside: recorded
        `parse.interrupted`, read again by the next run. A run with any is not a clean one."""
        return tuple(o for o in self.outcomes if PARSE_INTERRUPTED in o.reasons)

    def interrupted_message(self) -> str | None:
        """One line on the interrupted parses for the CLI's exit and Dagster, None when none."""
        interrupted = [o.doc_id for o in self.interrupted_parses]
        if not interrupted:
            return None
        named = ", ".join(interrupted[:5]) + (
            f" and {len(interrupted) - 5} more" if len(interrupted) > 5 else ""
        )
        return (
            f"{len(interrupted)} file(s) not read, their parser process was killed from outside "
            f"(out of memory, a container stop?): {named}. Run ingest again to read them; if it "
            "keeps happening, give the machine more memory"
        )

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
            "parse_interrupted": [o.doc_id for o in self.interrupted_parses],
        }


def new_run_id(started_at: datetime) -> str:
    return f"{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


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


def run_summary(prepared: PreparedIngestion, embedded: int, reused: int, held_back: int) -> dict[str, Any]:
    """The run's counts and contract checks, as the ledger keeps them with the run."""
    return {
        "discovered": prepared.discovered,
        "unchanged": prepared.unchanged,
        "changed": dict(Counter(o.state.value for o in prepared.outcomes)),
        "contract_checks": [c.as_json(with_evidence=False) for c in prepared.contract_checks],
        "blocked": bool(prepared.blocked_by),
        "chunks_embedded": embedded,
        "chunks_reused": reused,
        "held_back": held_back,
    }


def state_counts_after(
    known: dict[str, LedgerDocument], outcomes: tuple[DocumentOutcome, ...]
) -> dict[str, int]:
    """How many documents are in each state once the run's outcomes replace the ledger's."""
    states = {doc_id: doc.state.value for doc_id, doc in known.items()}
    states.update({o.doc_id: o.state.value for o in outcomes})
    counts = Counter(states.values())
    return {state.value: counts.get(state.value, 0) for state in DocumentState}


def index_manifest(
    number: int,
    lance_version: int,
    prepared: PreparedIngestion,
    known: dict[str, LedgerDocument],
    was_indexed: frozenset[str],
    unchanged: frozenset[str],
    chunks_added: int,
    chunks_removed: int,
    total_chunks: int,
) -> IndexVersion:
    """The index version the run creates: what changed in it and what it holds.

    `was_indexed`: the run's documents that were indexed before it. `unchanged`: those of them,
    indexed after it too, whose index rows the run leaves as they were (same chunks, same
    governance columns: pipelines/run/index_rows.py). Only a document whose rows change is
    `modified`, so the manifest agrees with `corpusgov index diff`."""
    after: dict[str, tuple[str, str | None, str | None]] = {
        d: (doc.state.value, doc.grade, doc.provenance) for d, doc in known.items()
    }
    after.update({o.doc_id: (o.state.value, o.grade, o.provenance) for o in prepared.outcomes})
    indexed = [v for v in after.values() if v[0] == DocumentState.INDEXED.value]
    added = sorted(
        o.doc_id
        for o in prepared.outcomes
        if o.state is DocumentState.INDEXED and o.doc_id not in was_indexed
    )
    modified = sorted(
        o.doc_id
        for o in prepared.outcomes
        if o.state is DocumentState.INDEXED and o.doc_id in was_indexed and o.doc_id not in unchanged
    )
    removed = sorted(
        o.doc_id
        for o in prepared.outcomes
        if o.state is not DocumentState.INDEXED and o.doc_id in was_indexed
    )
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
        counts=VersionCounts(
            by_state=dict(Counter(v[0] for v in after.values())),
            by_grade=dict(Counter(v[1] or "none" for v in indexed)),
            by_provenance=dict(Counter(v[2] or ProvenanceLabel.UNKNOWN for v in indexed)),
        ),
        contract_versions={
            c.source: contract_ref(c.contract_id, c.contract_version)
            for c in prepared.contract_checks
            if c.error is None
        },
    )
