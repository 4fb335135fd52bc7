"""Conservation: every discovered file ends indexed, quarantined or rejected, with a reason if not
indexed, and a bad file never stops the run."""

import os
from pathlib import Path

import pytest

from pipelines.governance.catalog import corpus_status, list_documents
from pipelines.index.reconciliation import reconcile
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def nasty_corpus(corpus: Path, outside: Path) -> None:
    write_doc(corpus, "good/receiving.md", procedure_text("receiving"))
    write_doc(corpus, "good/returns.md", procedure_text("returns"))
    write_doc(
        corpus,
        "good/page.html",
        "<html><head><title>Forklift charging</title></head><body><h1>Forklift charging</h1>"
        + "<p>"
        + procedure_text("forklift charging").replace("\n", " ")
        + "</p></body></html>",
    )
    write_doc(corpus, "bad/empty.txt", b"")
    write_doc(corpus, "bad/binary.txt", bytes(range(256)) * 8)
    write_doc(corpus, "bad/image-named.md", PNG_BYTES)
    write_doc(corpus, "bad/corrupt.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\x00\x01")
    write_doc(corpus, "bad/broken.docx", b"PK\x03\x04" + b"\x00" * 64)
    write_doc(corpus, "bad/tiny.md", "# Hi\n\nok\n")
    outside_file = write_doc(outside, "secret.md", procedure_text("secret"))
    os.symlink(outside_file, corpus / "bad" / "escape.md")
    write_doc(
        corpus, "bad/latin1.txt", "Caf\xe9 menu for the canteen, updated weekly. ".encode("cp1252") * 20
    )


@pytest.fixture
def ingested(project: Path, fake_embedder: FakeEmbedder):
    nasty_corpus(project / "corpus", project / "outside")
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    return settings, report


def test_every_discovered_file_ends_in_exactly_one_state(ingested) -> None:
    settings, report = ingested
    rows = list_documents(settings)
    assert report.discovered == len(rows) == 11
    status = corpus_status(settings).documents
    assert status["indexed"] + status["quarantined"] + status["rejected"] == report.discovered
    assert status["removed"] == 0


def test_every_document_not_indexed_has_a_reason(ingested) -> None:
    settings, _ = ingested
    for row in list_documents(settings):
        if row["state"] != "indexed":
            assert row["reasons"], f"{row['doc_id']} is {row['state']} without a reason"


def test_unreadable_files_are_rejected_with_specific_reasons(ingested) -> None:
    settings, _ = ingested
    reasons = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert reasons["docs/bad/empty.txt"] == ("rejected", ["discover.empty_file"])
    assert reasons["docs/bad/binary.txt"] == ("rejected", ["discover.binary_content"])
    assert reasons["docs/bad/image-named.md"] == ("rejected", ["discover.unsupported_format"])
    assert reasons["docs/bad/corrupt.pdf"] == ("rejected", ["parse.failed"])
    assert reasons["docs/bad/broken.docx"][0] == "rejected"
    assert reasons["docs/bad/escape.md"] == ("rejected", ["discover.symlink_outside_source"])


def test_good_documents_are_indexed_beside_bad_ones(ingested) -> None:
    settings, report = ingested
    indexed = {r["doc_id"] for r in list_documents(settings, state="indexed")}
    assert {"docs/good/receiving.md", "docs/good/returns.md", "docs/good/page.html"} <= indexed
    assert report.index_version is not None and report.index_version.index_version == 1


def test_too_short_document_is_quarantined_by_the_contract(ingested) -> None:
    settings, _ = ingested
    row = next(r for r in list_documents(settings) if r["doc_id"] == "docs/bad/tiny.md")
    assert row["state"] == "quarantined"
    assert "contract.text_too_short" in row["reasons"]


def test_permission_denied_is_rejected_and_the_run_goes_on(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod 000 does not stop a read: simulate the OS refusing instead.
    corpus = project / "corpus"
    write_doc(corpus, "locked.md", procedure_text("locked room"))
    write_doc(corpus, "open.md", procedure_text("open room"))
    real_open = Path.open

    def open_file(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_file)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    states = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert states["docs/locked.md"] == ("rejected", ["discover.unreadable"])
    assert states["docs/open.md"][0] == "indexed"


def test_ledger_and_index_hold_the_same_chunks(ingested) -> None:
    settings, _ = ingested
    result = reconcile(settings)
    assert result.consistent, result
    assert result.index_chunks > 0
