"""Records that cross the stages: what happened to each document in a run."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from corpus_quality.vocabulary import Grade, ProvenanceLabel


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """A chunk without its text: what a run's outcome keeps (the text is spooled,
    pipelines/run/spool.py) and the ledger records."""

    chunk_id: str
    doc_id: str
    ordinal: int
    chars: int
    # `safety.pii_<kind>` for the personal data the chunk's text holds, `pii.redacted` when it
    # holds redacted spans: the chunk's row in the index carries these, not the document's.
    pii_flags: tuple[str, ...] = ()


class DocumentState(StrEnum):
    """Every discovered file ends in exactly one of these (conservation)."""

    INDEXED = "indexed"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class DocumentOutcome:
    """One document's result in one run: its state, why, and what the assessment found. Slotted:
    a run holds one per changed document, and a slotted instance takes a fifth of the room."""

    doc_id: str
    source: str
    path: str
    state: DocumentState
    reasons: tuple[str, ...]
    content_hash: str | None
    mime_type: str | None
    size: int
    config_hash: str
    contract_id: str | None = None
    contract_version: str | None = None
    title: str | None = None
    text_chars: int = 0
    language: str | None = None
    grade: Grade | None = None
    quality_score: float | None = None
    quality_signals: dict[str, float] = field(default_factory=dict)
    quality_reasons: tuple[str, ...] = ()
    route: str | None = None
    provenance: ProvenanceLabel = ProvenanceLabel.UNKNOWN
    provenance_confidence: float = 0.0
    digital_source_type: str | None = None
    provenance_evidence: tuple[dict[str, Any], ...] = ()
    safety_flags: tuple[str, ...] = ()
    safety_details: tuple[dict[str, Any], ...] = ()
    declared_metadata: dict[str, str] = field(default_factory=dict)
    generation_depth: int = 0  # 1 for the RAG app's own output, 2 for an output built on one, ...
    derived_from: tuple[str, ...] = ()
    heuristic_ai_score: float | None = None  # weak signal: may tag, never quarantines
    near_duplicate_of: str | None = None
    # The MinHash signature for the corpus index, 128 uint32 values as bytes: a run holds one per
    # changed document, and 128 Python ints (or their JSON text) take several times the room.
    near_duplicate_signature: bytes | None = None
    chunks: tuple[ChunkRef, ...] = ()  # the texts are spooled (pipelines/run/spool.py)
    detail: str | None = None  # a sentence for a person: why rejected, what failed
