"""Quarantine: documents held back from the index, why, since when, and recorded releases."""

import getpass
import os
from typing import Any

from contracts import contract_ref
from pipelines.errors import CorpusgovError
from pipelines.ledger import Ledger
from pipelines.settings import Settings


def list_quarantine(settings: Settings, source: str | None = None) -> list[dict[str, Any]]:
    """The shape of `corpusgov quarantine list --json`."""
    if source is not None:
        settings.source(source)
    return [
        {
            "doc_id": r["doc_id"],
            "source": r["source"],
            "reasons": list(r["reasons"]),
            "contract": contract_ref(r["contract_id"], r["contract_version"]),
            "first_seen": r["first_seen"].isoformat(),
            "last_seen": r["last_seen"].isoformat(),
        }
        for r in Ledger(settings.ledger_path).quarantine_rows(source)
    ]


def list_held_back(settings: Settings, source: str | None = None) -> list[dict[str, Any]]:
    """The shape of `corpusgov quarantine list --blocked --json`: the changes of sources whose
    latest run was over their contract's error budget, with the state each would have had."""
    if source is not None:
        settings.source(source)
    return [
        {
            "doc_id": r["doc_id"],
            "source": r["source"],
            "held_back_by_run": r["run_id"],
            "would_be": r["would_be"],
            "reasons": list(r["reasons"]),
            "detail": r["detail"],
            "contract": contract_ref(r["contract_id"], r["contract_version"]),
            "recorded_at": r["recorded_at"].isoformat(),
        }
        for r in Ledger(settings.ledger_path).held_back_rows(source)
    ]


def show_quarantined(settings: Settings, doc_id: str) -> dict[str, Any]:
    """Everything behind one quarantine: reasons, assessment, evidence, earlier releases."""
    row = Ledger(settings.ledger_path).quarantined_document(doc_id)
    if row is None:
        raise CorpusgovError(_not_quarantined(settings, doc_id))
    row["reasons"] = list(row["reasons"])
    row["safety_flags"] = list(row["safety_flags"] or [])
    for key in ("first_seen", "last_seen"):
        row[key] = row[key].isoformat()
    for release in row["releases"]:
        release["released_at"] = release["released_at"].isoformat()
        release["reasons"] = list(release["reasons"])
    return row


def release_document(
    settings: Settings, doc_id: str, reason: str, released_by: str | None = None
) -> dict[str, Any]:
    """Record an override (who, why, when); the document is indexed on the next run."""
    if not reason.strip():
        raise CorpusgovError("A release needs a reason: --reason 'why this document is fine'.")
    who = released_by or os.environ.get("CORPUSGOV_USER") or _login_name()
    released = Ledger(settings.ledger_path).record_release(doc_id, who, reason.strip())
    if not released:
        raise CorpusgovError(_not_quarantined(settings, doc_id))
    return released


def _not_quarantined(settings: Settings, doc_id: str) -> str:
    rows = [r for r in Ledger(settings.ledger_path).document_rows() if r["doc_id"] == doc_id]
    if not rows:
        return f"No document '{doc_id}'. See `corpusgov documents` for doc ids."
    return f"'{doc_id}' is not quarantined (state: {rows[0]['state']})."


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
