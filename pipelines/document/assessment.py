"""One file through parse and assess: the per-document work of a run, before the contract."""

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from contracts import DocumentContract
from contracts.rules import TEXT_TOO_LONG
from corpus_quality import (
    HeuristicScore,
    ProvenanceAssessment,
    QualityInput,
    assess_quality,
    assessment_version,
    detect_language,
    label_provenance,
)
from corpus_quality.ai_text_heuristic import HEURISTIC_AI_FLAG, score_ai_text
from corpus_quality.near_duplicates import NearDuplicateIndex, near_duplicate_signal
from corpus_quality.registry import SelfOutputRegistry
from corpus_quality.safety import PII_KINDS, pii_detector_id
from corpus_quality.vocabulary import ProvenanceLabel
from pipelines.document.chunking import Chunk, chunking_config_hash
from pipelines.document.discovery import DiscoveredFile
from pipelines.document.extraction import (
    Extraction,
    ExtractionRefused,
    ExtractionRequest,
    OverContractLength,
    extract_file,
)
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.document.parsing import PARSER_ID


@dataclass
class CorpusContext:
    """What one document is compared with: the corpus already indexed and the RAG app's outputs."""

    registry: SelfOutputRegistry = field(default_factory=SelfOutputRegistry)
    near_duplicates: NearDuplicateIndex = field(default_factory=NearDuplicateIndex)
    generation_depths: dict[str, int] = field(default_factory=dict)


def document_config_hash(contract: DocumentContract, embedding_model: str) -> str:
    """Parser + chunker + embedding model + contract + the assessment's version: change any and
    the document is processed again (its unchanged chunks keep their vectors)."""
    parts = (
        PARSER_ID,
        assessment_version(),
        chunking_config_hash(contract.chunking),
        embedding_model,
        contract.id,
        contract.version,
        contract.content_hash,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def rejected_outcome(file: DiscoveredFile, config_hash: str, contract: DocumentContract) -> DocumentOutcome:
    assert file.rejection is not None
    return replace(
        _file_outcome(file, config_hash, contract, DocumentState.REJECTED, (file.rejection,)),
        detail=file.rejection_detail,
    )


def _file_outcome(
    file: DiscoveredFile,
    config_hash: str,
    contract: DocumentContract,
    state: DocumentState,
    reasons: tuple[str, ...] = (),
) -> DocumentOutcome:
    """What a run knows of a file before it reads it: where it is, its bytes' hash, its contract."""
    return DocumentOutcome(
        doc_id=file.doc_id,
        source=file.source,
        path=file.path,
        state=state,
        reasons=reasons,
        content_hash=file.content_hash,
        mime_type=file.mime_type,
        size=file.size,
        config_hash=config_hash,
        contract_id=contract.id,
        contract_version=contract.version,
    )


def process_file(
    file: DiscoveredFile,
    data: bytes,
    contract: DocumentContract,
    config_hash: str,
    now: datetime,
    corpus: CorpusContext | None = None,
    released: bool = False,
) -> tuple[DocumentOutcome, list[Chunk]]:
    """Extract (in the bounded worker, pipelines/document/extraction.py), assess and chunk one readable file.

    The outcome is provisionally `indexed`; the contract and policies may still quarantine it. It
    holds `ChunkRef`s; the chunks themselves come beside it, for the run's spool. A text longer
    than the contract's maxLength is quarantined here, unassessed and unchunked, unless these
    bytes were `released` from quarantine under this contract version (then it is read in full).
    """
    base = _file_outcome(file, config_hash, contract, DocumentState.INDEXED)
    assert file.mime_type is not None
    extracted = extract_file(
        ExtractionRequest(
            doc_id=file.doc_id,
            data=data,
            mime_type=file.mime_type,
            file_name=file.absolute_path.name,
            limits=contract.limits,
            chunking=contract.chunking,
            redact_pii=contract.pii_policy == "redact",
            max_contract_chars=None if released else contract.max_text_chars,
        )
    )
    if isinstance(extracted, OverContractLength):
        return _over_length_outcome(base, extracted), []
    if isinstance(extracted, ExtractionRefused):
        rejected = replace(
            base, state=DocumentState.REJECTED, reasons=(extracted.reason,), detail=extracted.detail
        )
        return rejected, []
    outcome = _assessed_outcome(base, file.mime_type, extracted, contract, now, corpus or CorpusContext())
    return outcome, list(extracted.chunks)


def _over_length_outcome(base: DocumentOutcome, extracted: OverContractLength) -> DocumentOutcome:
    """A text the contract refuses on its length: quarantined with the reason and numbers its
    check would give (contracts/rules.py's TEXT_TOO_LONG), without the assessment. The contract
    stage still checks what it has: its title, metadata, language and type
    (pipelines/contract/checks.py); reasons that need the assessment are not looked for."""
    title, metadata = _title_and_metadata(extracted.declared, extracted.title)
    return replace(
        base,
        state=DocumentState.QUARANTINED,
        reasons=(TEXT_TOO_LONG.code,),
        title=title,
        text_chars=extracted.text_chars,
        language=extracted.language or extracted.declared.get("language"),
        declared_metadata=metadata,
    )


def _title_and_metadata(
    declared: dict[str, str], parsed_title: str | None
) -> tuple[str | None, dict[str, str]]:
    """The title (declared first, else the parser's) and the declared metadata with it."""
    title = declared.get("title") or parsed_title
    metadata = {k: v for k, v in declared.items() if v}
    if title:
        metadata["title"] = title
    return title, metadata


def _assessed_outcome(
    base: DocumentOutcome,
    mime_type: str,
    extracted: Extraction,
    contract: DocumentContract,
    now: datetime,
    corpus: CorpusContext,
) -> DocumentOutcome:
    """The outcome of a file that was read: its quality, provenance and safety flags."""
    declared = extracted.declared
    title, metadata = _title_and_metadata(declared, extracted.title)
    text = extracted.text
    language = detect_language(text) or declared.get("language")
    # Compared with the documents indexed before it, then added for the ones after it.
    near, signature = corpus.near_duplicates.query_and_add(base.doc_id, text)
    quality = assess_quality(
        QualityInput(
            text=text,
            mime_type=mime_type,
            raw_size=base.size,
            language=language,
            metadata=metadata,
            now=now,
            near_duplicate=near_duplicate_signal(near),
        )
    )
    provenance, heuristic = _label_provenance(base.doc_id, extracted, contract, corpus)
    return replace(
        base,
        title=title,
        text_chars=len(text),
        language=language,
        grade=quality.grade,
        quality_score=round(quality.score, 4),
        quality_signals={k: round(v, 4) for k, v in quality.signals.items()},
        quality_reasons=tuple(quality.reasons),
        route=quality.route,
        provenance=provenance.label,
        provenance_confidence=provenance.confidence,
        digital_source_type=provenance.digital_source_type,
        provenance_evidence=tuple(
            {"kind": e.kind, "field": e.field, "value": e.value, "indicates": e.indicates}
            for e in provenance.evidence
        ),
        safety_flags=_safety_flags(extracted, provenance, heuristic),
        safety_details=_safety_details(extracted),
        declared_metadata=metadata,
        generation_depth=provenance.generation_depth,
        derived_from=tuple(provenance.derived_from),
        heuristic_ai_score=provenance.heuristic_ai_score,
        near_duplicate_of=near[0].doc_id if near else None,
        near_duplicate_signature=signature,
        chunks=tuple(c.ref for c in extracted.chunks),
    )


def _label_provenance(
    doc_id: str, extracted: Extraction, contract: DocumentContract, corpus: CorpusContext
) -> tuple[ProvenanceAssessment, HeuristicScore]:
    """The document's provenance label, from its C2PA manifest, a match in the RAG app's own
    outputs, its declarations and the source's; and the AI-text heuristic's score beside it."""
    registry_match = corpus.registry.match(extracted.text, doc_id=doc_id)
    if registry_match is not None:
        registry_match = registry_match.at_depth(
            [corpus.generation_depths.get(d, 0) for d in registry_match.derived_from]
        )
    heuristic = score_ai_text(extracted.text)
    provenance = label_provenance(
        extracted.declared,
        contract.source_provenance,
        c2pa=extracted.c2pa,
        registry_match=registry_match,
        heuristic=heuristic,
    )
    return provenance, heuristic


def _safety_flags(
    extracted: Extraction, provenance: ProvenanceAssessment, heuristic: HeuristicScore
) -> tuple[str, ...]:
    extra_flags: set[str] = set()
    if (
        provenance.label is ProvenanceLabel.UNKNOWN
        and provenance.heuristic_ai_score is not None
        and heuristic.suggests_ai()
    ):
        # A weak signal: tagged so a RAG app can filter on it, never a reason to quarantine.
        extra_flags.add(HEURISTIC_AI_FLAG)
    return tuple(sorted({f.code for f in extracted.safety_flags} | extra_flags))


def _safety_details(extracted: Extraction) -> tuple[dict[str, Any], ...]:
    flags = extracted.safety_flags
    safety_details = [{"code": f.code, "detail": f.detail, "count": f.count} for f in flags]
    if extracted.redacted:
        safety_details.append(_redaction_record(extracted))
    return tuple(safety_details)


def _redaction_record(extracted: Extraction) -> dict[str, Any]:
    """What a data-protection officer asks of a redaction: what was redacted, by which detector
    at which version, and whether the original can be had back from the index (it cannot: the
    worker replaced the spans before chunking, so no chunk text and no vector ever held them)."""
    kinds = dict(extracted.redacted_kinds)
    detector = pii_detector_id(PII_KINDS)
    spans = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    return {
        "code": "pii.redacted",
        "detail": (
            f"{extracted.redacted} span(s) redacted before chunking and embedding ({spans}) by "
            f"{detector}; the original text is not in the index and cannot be recovered from it"
        ),
        "count": extracted.redacted,
        "kinds": kinds,
        "detector": detector,
        "recoverable_from_index": False,
    }
