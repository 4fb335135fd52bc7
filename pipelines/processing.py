"""One file through parse and assess: the per-document work of a run, before the contract."""

import hashlib
from dataclasses import replace
from datetime import datetime

from contracts import DocumentContract
from corpus_quality import (
    QualityInput,
    assess_quality,
    detect_language,
    label_provenance,
    read_declared_metadata,
    redact_pii,
    scan_safety,
)
from pipelines.chunking import chunk_document, chunking_config_hash
from pipelines.discovery import HTML, DiscoveredFile
from pipelines.documents import DocumentOutcome, DocumentState
from pipelines.parsing import PARSER_ID, ParseError, parse_document


def document_config_hash(contract: DocumentContract, embedding_model: str) -> str:
    """Parser + chunker + embedding model + contract: change any and the document is re-processed."""
    parts = (
        PARSER_ID,
        chunking_config_hash(contract.chunking),
        embedding_model,
        contract.id,
        contract.version,
        contract.content_hash,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def rejected_outcome(file: DiscoveredFile, config_hash: str, contract: DocumentContract) -> DocumentOutcome:
    assert file.rejection is not None
    return DocumentOutcome(
        doc_id=file.doc_id, source=file.source, path=file.path, state=DocumentState.REJECTED,
        reasons=(file.rejection,), content_hash=file.content_hash, mime_type=file.mime_type,
        size=file.size, config_hash=config_hash, contract_id=contract.id,
        contract_version=contract.version, detail=file.rejection_detail,
    )


def process_file(
    file: DiscoveredFile, data: bytes, contract: DocumentContract, config_hash: str, now: datetime
) -> DocumentOutcome:
    """Parse, read declared metadata, assess and chunk one readable file.

    The outcome is provisionally `indexed`; the contract and policies may still quarantine it.
    """
    base = DocumentOutcome(
        doc_id=file.doc_id, source=file.source, path=file.path, state=DocumentState.INDEXED,
        reasons=(), content_hash=file.content_hash, mime_type=file.mime_type, size=file.size,
        config_hash=config_hash, contract_id=contract.id, contract_version=contract.version,
    )
    assert file.mime_type is not None
    try:
        parsed = parse_document(data, file.mime_type, file.absolute_path.name)
    except ParseError as err:
        return replace(
            base, state=DocumentState.REJECTED, reasons=("parse.failed",),
            detail=f"the {file.mime_type} file could not be parsed: {err}",
        )
    declared = read_declared_metadata(data, file.mime_type)
    title = declared.get("title") or parsed.title
    metadata = {k: v for k, v in declared.items() if v}
    if title:
        metadata["title"] = title
    language = detect_language(parsed.text) or declared.get("language")
    quality = assess_quality(
        QualityInput(
            text=parsed.text, mime_type=file.mime_type, raw_size=file.size,
            language=language, metadata=metadata, now=now,
        )
    )
    provenance = label_provenance(declared, contract.source_provenance)
    flags = scan_safety(parsed.text, data if file.mime_type == HTML else None, file.mime_type)
    safety_details = [{"code": f.code, "detail": f.detail, "count": f.count} for f in flags]
    elements = parsed.elements
    if contract.pii_policy == "redact" and any(f.code.startswith("safety.pii_") for f in flags):
        # Redact before chunking and embedding: personal data never reaches the index.
        redacted = 0
        for element in elements:
            if element.text:
                element.text, count = redact_pii(element.text)
                redacted += count
        safety_details.append(
            {"code": "pii.redacted", "detail": "redacted before embedding", "count": redacted}
        )
    chunks = chunk_document(file.doc_id, elements, contract.chunking)
    return replace(
        base,
        title=title,
        text_chars=len(parsed.text),
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
        safety_flags=tuple(sorted({f.code for f in flags})),
        safety_details=tuple(safety_details),
        declared_metadata=metadata,
        chunks=tuple(chunks),
    )
