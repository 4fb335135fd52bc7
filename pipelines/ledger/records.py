"""The ledger's rows as types: what a read returns and what a commit writes.

Every read of pipelines/ledger/ returns one of these (or a plain count), never a dict keyed by
column name, so a renamed column fails in the type checker instead of in a user's report. A
type's fields are its table's columns, by name: pipelines/ledger/rows.py builds the SELECT list,
the mapping of a result's columns and the INSERT from them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corpus_quality.errors import UnknownGradeError, UnknownProvenanceLabelError
from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.errors import CorpusgovError


@dataclass(frozen=True)
class LedgerDocument:
    """A document's current row."""

    doc_id: str
    source: str
    path: str
    state: DocumentState
    reasons: tuple[str, ...]
    content_hash: str | None
    config_hash: str | None
    grade: Grade | None
    provenance: ProvenanceLabel | None
    contract_version: str | None
    chunk_count: int


@dataclass(frozen=True)
class VersionCounts:
    """What an index version holds: documents by state, and its indexed documents by grade and by
    provenance label. A rollback's version also names the version it replaced and the one it
    restored; until the ledger counts the restored documents (pipelines/ledger/commits.py), it
    holds only those two.

    Stored as JSON in `index_versions.counts`: a part that is None is absent from the JSON, as it
    was from the dict this record replaces, so the stored rows and `corpusgov index versions
    --json` keep their keys.
    """

    by_state: dict[str, int] | None = None
    by_grade: dict[str, int] | None = None
    by_provenance: dict[str, int] | None = None
    rolled_back_from: int | None = None
    rolled_back_to: int | None = None

    def as_json(self) -> dict[str, Any]:
        # The rollback's two numbers first: the order the rollback has always written them in.
        parts: dict[str, Any] = {
            "rolled_back_from": self.rolled_back_from,
            "rolled_back_to": self.rolled_back_to,
            "by_state": self.by_state,
            "by_grade": self.by_grade,
            "by_provenance": self.by_provenance,
        }
        return {key: value for key, value in parts.items() if value is not None}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "VersionCounts":
        return cls(
            by_state=payload.get("by_state"),
            by_grade=payload.get("by_grade"),
            by_provenance=payload.get("by_provenance"),
            rolled_back_from=payload.get("rolled_back_from"),
            rolled_back_to=payload.get("rolled_back_to"),
        )


@dataclass(frozen=True)
class IndexVersion:
    """One commit of the LanceDB table, with its manifest."""

    index_version: int
    lance_version: int
    tag: str
    created_at: datetime
    config_hash: str
    embedding_model: str
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    chunks_added: int
    chunks_removed: int
    total_chunks: int
    counts: VersionCounts
    contract_versions: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "index_version": self.index_version,
            "lance_version": self.lance_version,
            "tag": self.tag,
            "created_at": self.created_at.isoformat(),
            "config_hash": self.config_hash,
            "embedding_model": self.embedding_model,
            "added": list(self.added),
            "modified": list(self.modified),
            "removed": list(self.removed),
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "total_chunks": self.total_chunks,
            "counts": self.counts.as_json(),
            "contract_versions": self.contract_versions,
        }


@dataclass(frozen=True)
class LedgerCommit:
    """Everything one run writes, applied in one transaction."""

    run_id: str
    started_at: datetime
    sources: tuple[str, ...]
    outcomes: tuple[DocumentOutcome, ...]
    index_version: IndexVersion | None
    summary: dict[str, Any]
    # Changes of sources over their error budget: recorded for people, not applied.
    held_back: tuple[DocumentOutcome, ...] = ()


@dataclass(frozen=True)
class CommitIntent:
    """A write that started (step 4 of the commit protocol) and has not committed yet."""

    run_id: str
    kind: str  # ingestion | rollback | cleanup
    base_lance_version: int | None
    started_at: datetime


@dataclass(frozen=True)
class QuarantineRow:
    """A document held out of the index: why, under which contract, and since when."""

    doc_id: str
    source: str
    reasons: tuple[str, ...]
    contract_id: str | None
    contract_version: str | None
    content_hash: str | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class HeldBackRow:
    """A change of a source over its error budget: recorded, not applied."""

    doc_id: str
    source: str
    run_id: str
    recorded_at: datetime
    would_be: str  # the state the document would have had
    reasons: tuple[str, ...]
    detail: str | None
    contract_id: str | None
    contract_version: str | None


@dataclass(frozen=True)
class DocumentRow:
    """A document's current row as people see it (`corpusgov documents`), ordered by doc id."""

    doc_id: str
    source: str
    path: str
    state: DocumentState
    reasons: tuple[str, ...]
    detail: str | None
    content_hash: str | None
    grade: Grade | None
    quality_score: float | None
    provenance: ProvenanceLabel | None
    safety_flags: tuple[str, ...]
    contract_id: str | None
    contract_version: str | None
    chunk_count: int


@dataclass(frozen=True)
class Publication:
    """An index version made the one RAG apps read: the LanceDB tag `serving` names it. None
    withdraws what was served (a rebuild of a lost index, until it is published)."""

    index_version: int | None
    published_at: datetime
    published_by: str
    # auto (its gate passed) | promote | rollback | rebuild | upgrade (from before publishing) | withdrawn
    how: str
    gate: dict[str, Any]  # the gate's verdict when the gate decided it

    def as_json(self) -> dict[str, Any]:
        return {
            "index_version": self.index_version,
            "published_at": self.published_at.isoformat(),
            "published_by": self.published_by,
            "how": self.how,
        }


@dataclass(frozen=True)
class SourceStats:
    """One source's part of one index version: what the publication gate compares between the
    served version and a candidate (chunking, parsing and source changes show here first)."""

    index_version: int
    source: str
    documents: int  # indexed
    chunks: int
    median_chars: float | None
    p95_chars: float | None
    short_chunks: int  # chunks under SHORT_CHUNK_CHARS characters: near-empty after parsing
    ai_generated: int  # indexed documents labelled ai_generated

    @property
    def chunks_per_document(self) -> float:
        return self.chunks / self.documents if self.documents else 0.0

    @property
    def short_chunk_rate(self) -> float:
        return self.short_chunks / self.chunks if self.chunks else 0.0

    @property
    def ai_share(self) -> float:
        return self.ai_generated / self.documents if self.documents else 0.0


# A chunk this short carries next to nothing for retrieval: a parser or chunker change that makes
# many of them shows in the gate's short-chunk rate.
SHORT_CHUNK_CHARS = 20


@dataclass(frozen=True)
class GateResult:
    """The publication gate on one candidate index version."""

    index_version: int
    evaluated_at: datetime
    passed: bool
    verdict: dict[str, Any]


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed, kept in its summary (`ingestion_runs.summary.failed`) for the alerts."""

    step: str
    error: str
    kind: str  # the exception's class name, or "error"

    def as_json(self) -> dict[str, str]:
        return {"step": self.step, "error": self.error, "kind": self.kind}

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "RunFailure":
        return cls(
            str(payload.get("step", "")), str(payload.get("error", "")), str(payload.get("kind", "error"))
        )


def grade_of(value: str | None) -> Grade | None:
    try:
        return Grade.parse(value) if value is not None else None
    except UnknownGradeError as err:
        raise _unknown_word("grade", value) from err


def label_of(value: str | None) -> ProvenanceLabel | None:
    try:
        return ProvenanceLabel.parse(value) if value is not None else None
    except UnknownProvenanceLabelError as err:
        raise _unknown_word("provenance label", value) from err


def _unknown_word(kind: str, value: str | None) -> CorpusgovError:
    # Only a newer corpusgov or a hand edit writes one: the schema version guards the rest.
    return CorpusgovError(
        f"The ledger holds the {kind} {value!r}, which this corpusgov does not know: a newer "
        "corpusgov wrote it, or the row was edited by hand. Upgrade corpusgov, or correct the row "
        "with `duckdb <data_dir>/ledger.duckdb`."
    )
