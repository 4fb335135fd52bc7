"""A chunk's row in the index says whether that chunk holds personal data, raw or redacted: its
`safety_flags` carry the chunk's own PII flags, while the document keeps its flags, reasons and
decision in the ledger (pipelines/run/index_rows.py `chunk_safety_flags`)."""

import json
from pathlib import Path
from typing import Any

from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.ledger.records import DocumentRow
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.contract_files import use_contract, write_contract

CONTACTS = (
    "\n# Contacts for approvals\n\n"
    "Escalations go to the site manager, Dana Whitfield, at dana.whitfield@northwind-logistics.com "
    "or by post to 12 Harbour Road, Brighton BN1 1AA.\n"
)


def _rows(settings: Settings) -> list[dict[str, Any]]:
    table = ChunkIndex(settings.lancedb_uri).table()
    assert table is not None
    rows: list[dict[str, Any]] = table.to_arrow().select(["text", "safety_flags"]).to_pylist()
    return rows


def _document(settings: Settings, doc_id: str) -> DocumentRow:
    return next(r for r in Ledger.of(settings).document_rows() if r.doc_id == doc_id)


def test_only_the_chunk_holding_an_email_is_flagged(project: Path, fake_embedder: FakeEmbedder) -> None:
    write_doc(project / "corpus", "contacts.md", procedure_text("escalation", steps=12) + CONTACTS)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)

    rows = _rows(settings)
    assert len(rows) >= 2, "the document is cut into several chunks"
    with_email = [r for r in rows if "dana.whitfield@" in r["text"]]
    assert len(with_email) == 1
    assert "safety.pii_email" in with_email[0]["safety_flags"]
    others = [r for r in rows if "dana.whitfield@" not in r["text"]]
    assert all(not any(f.startswith("safety.pii_") for f in r["safety_flags"]) for r in others)
    # The document's flags are the document's, as before; no redaction ran.
    assert "safety.pii_email" in _document(settings, "docs/contacts.md").safety_flags
    assert all("pii.redacted" not in r["safety_flags"] for r in rows)


def test_redacted_chunks_say_so_and_the_record_names_the_detector(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"piiPolicy": "redact"}))
    write_doc(project / "corpus", "contacts.md", procedure_text("escalation", steps=12) + CONTACTS)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)

    rows = _rows(settings)
    joined = "\n".join(r["text"] for r in rows)
    for value in ("Dana Whitfield", "dana.whitfield@", "12 Harbour Road"):
        assert value not in joined
    redacted = [r for r in rows if "[REDACTED:" in r["text"]]
    assert len(redacted) == 1 and len(rows) >= 2
    assert "pii.redacted" in redacted[0]["safety_flags"]
    assert not any(f.startswith("safety.pii_") for r in rows for f in r["safety_flags"]), "no raw value left"
    assert all("pii.redacted" not in r["safety_flags"] for r in rows if r is not redacted[0])
    assert not any("Whitfield" in t for t in fake_embedder.embedded_texts)

    document = _document(settings, "docs/contacts.md")
    assert document.state == "indexed"
    # The document says what it held: the flags of the kinds found before redaction.
    assert {"safety.pii_email", "safety.pii_person", "safety.pii_address"} <= set(document.safety_flags)
    record = next(d for d in _safety_details(settings, "docs/contacts.md") if d["code"] == "pii.redacted")
    assert record["kinds"] == {"address": 1, "email": 1, "person": 1}
    assert "en_core_web_sm-3.8.0" in record["detector"] and "patterns" in record["detector"]
    assert record["recoverable_from_index"] is False
    assert "cannot be recovered" in record["detail"]


def _safety_details(settings: Settings, doc_id: str) -> list[dict[str, Any]]:
    ledger = Ledger.of(settings)
    with ledger.connect(read_only=True) as con:
        (safety,) = con.execute(
            "SELECT safety FROM assessments WHERE doc_id = ? ORDER BY recorded_at DESC LIMIT 1", [doc_id]
        ).fetchone()
    details: list[dict[str, Any]] = json.loads(safety) if isinstance(safety, str) else safety
    return details


def test_a_document_processed_again_with_the_same_chunk_flags_is_not_rewritten(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    """The comparison that spares unchanged documents a rewrite compares each chunk's own flags."""
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"piiPolicy": "redact"}))
    write_doc(project / "corpus", "contacts.md", procedure_text("escalation", steps=12) + CONTACTS)
    settings = load_settings()
    assert run_ingestion(settings, fake_embedder).index_version is not None
    lance_before = ChunkIndex(settings.lancedb_uri).version()
    ledger = Ledger.of(settings)
    with ledger.connect() as con:
        con.execute("UPDATE documents SET config_hash = NULL")

    again = run_ingestion(settings, fake_embedder)

    assert [o.doc_id for o in again.outcomes] == ["docs/contacts.md"], "processed again"
    assert again.index_version is None, "the same rows, chunk flags included: nothing to write"
    assert ChunkIndex(settings.lancedb_uri).version() == lance_before
