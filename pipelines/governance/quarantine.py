"""Quarantine: documents held back from the index, why, since when, and recorded releases."""

from typing import Any

from contracts import contract_ref
from pipelines.errors import CorpusgovError
from pipelines.governance.actor import acting_person
from pipelines.ledger import Ledger
from pipelines.ledger.quarantine import (
    QuarantinedDocument,
    Release,
    held_back_rows,
    quarantine_rows,
    quarantined_document,
    record_release,
)
from pipelines.settings import Settings


def list_quarantine(settings: Settings, source: str | None = None) -> list[dict[str, Any]]:
    """The shape of `corpusgov quarantine list --json`."""
    if source is not None:
        settings.source(source)
    return [
        {
            "doc_id": r.doc_id,
            "source": r.source,
            "reasons": list(r.reasons),
            "contract": contract_ref(r.contract_id, r.contract_version),
            "first_seen": r.first_seen.isoformat(),
            "last_seen": r.last_seen.isoformat(),
        }
        for r in quarantine_rows(Ledger.of(settings), source)
    ]


def list_held_back(settings: Settings, source: str | None = None) -> list[dict[str, Any]]:
    """The shape of `corpusgov quarantine list --blocked --json`: the changes of sources whose
    latest run was over their contract's error budget, with the state each would have had."""
    if source is not None:
        settings.source(source)
    return [
        {
            "doc_id": r.doc_id,
            "source": r.source,
            "held_back_by_run": r.run_id,
            "would_be": r.would_be,
            "reasons": list(r.reasons),
            "detail": r.detail,
            "contract": contract_ref(r.contract_id, r.contract_version),
            "recorded_at": r.recorded_at.isoformat(),
        }
        for r in held_back_rows(Ledger.of(settings), source)
    ]


def show_quarantined(settings: Settings, doc_id: str) -> dict[str, Any]:
    """Everything behind one quarantine: reasons, assessment, evidence, earlier releases."""
    document = quarantined_document(Ledger.of(settings), doc_id)
    if document is None:
        raise CorpusgovError(_not_quarantined(settings, doc_id))
    return _quarantined_json(document)


def _quarantined_json(document: QuarantinedDocument) -> dict[str, Any]:
    """The shape of `corpusgov quarantine show --json`."""
    q = document.quarantine
    shown: dict[str, Any] = {
        "doc_id": q.doc_id,
        "source": q.source,
        "path": document.path,
        "reasons": list(q.reasons),
        "detail": document.detail,
        "contract_id": q.contract_id,
        "contract_version": q.contract_version,
        "content_hash": q.content_hash,
        "first_seen": q.first_seen.isoformat(),
        "last_seen": q.last_seen.isoformat(),
        "grade": document.grade,
        "quality_score": document.quality_score,
        "provenance": document.provenance,
        "safety_flags": list(document.safety_flags),
    }
    if document.assessment is not None:
        a = document.assessment
        shown |= {
            "quality_signals": a.quality_signals,
            "quality_reasons": list(a.quality_reasons),
            "provenance_evidence": a.provenance_evidence,
            "safety": a.safety,
            "declared_metadata": a.declared_metadata,
        }
    shown["releases"] = [
        {
            "content_hash": r.content_hash,
            "contract_version": r.contract_version,
            "reasons": list(r.overridden_reasons),
            "released_at": r.released_at.isoformat(),
            "released_by": r.released_by,
            "release_reason": r.release_reason,
        }
        for r in document.releases
    ]
    return shown


def release_document(
    settings: Settings, doc_id: str, reason: str, released_by: str | None = None
) -> dict[str, Any]:
    """Record an override (who, why, when); the document is indexed on the next run."""
    if not reason.strip():
        raise CorpusgovError("A release needs a reason: --reason 'why this document is fine'.")
    who = released_by or acting_person()
    released = record_release(Ledger.of(settings), doc_id, who, reason.strip())
    if released is None:
        raise CorpusgovError(_not_quarantined(settings, doc_id))
    return _release_json(released)


def _release_json(release: Release) -> dict[str, Any]:
    """The shape of `corpusgov quarantine release --json`."""
    return {
        "doc_id": release.doc_id,
        "content_hash": release.content_hash,
        "contract_version": release.contract_version,
        "overridden_reasons": list(release.overridden_reasons),
        "released_at": release.released_at.isoformat(),
        "released_by": release.released_by,
        "release_reason": release.release_reason,
    }


def _not_quarantined(settings: Settings, doc_id: str) -> str:
    document = Ledger.of(settings).documents().get(doc_id)
    if document is None:
        return f"No document '{doc_id}'. See `corpusgov documents` for doc ids."
    return f"'{doc_id}' is not quarantined (state: {document.state.value})."
