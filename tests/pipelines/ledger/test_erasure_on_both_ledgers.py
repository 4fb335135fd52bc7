"""An erasure's ledger side on both backends (the DuckDB file and a shared PostgreSQL): the
document's own row anonymous and `removed` with `policy.erased`, its id replaced in every other
table where it stands as a whole id (a neighbour whose id starts the same is left alone), its
content hashes tombstoned, and a release that lets the bytes in again."""

from pathlib import Path

import pytest

from pipelines.governance.erasure import erase_document, release_erased_content
from pipelines.governance.ingest import ingest
from pipelines.ledger import Ledger
from pipelines.ledger.erasures import pseudonym
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants, ledger_records

pytestmark = [pytest.mark.fleet, pytest.mark.usefixtures("ledger_backend")]

DOC = "docs/case.md"


def test_the_ledger_forgets_the_document_and_keeps_its_neighbours(project: Path) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "case.md", procedure_text("case handling for Jordan Whitfield"))
    write_doc(corpus, "case.md.bak", procedure_text("backup handling"))
    settings = load_settings()
    ingest(settings, FakeEmbedder())
    (corpus / "case.md").unlink()

    erasure = erase_document(settings, DOC, "request 114")
    assert erasure.certificate["index"]["head_version"] == 2

    assert_invariants(settings, corpus)
    documents = Ledger.of(settings).documents()
    assert DOC not in documents and "docs/case.md.bak" in documents
    erased = documents[pseudonym(DOC)]
    assert erased.state.value == "removed" and erased.reasons == ("policy.erased",)
    for table in ("documents", "document_versions", "assessments", "index_versions", "ingestion_runs"):
        rows = ledger_records(settings, f"SELECT * FROM {table}")
        assert not any("Whitfield" in str(row) or "'docs/case.md'" in str(row) for row in rows), table
    titles = ledger_records(settings, "SELECT title FROM documents WHERE doc_id = ?", [pseudonym(DOC)])
    assert str(titles[0]["title"]).startswith("sha256:")
    (tombstone,) = Ledger.of(settings).tombstoned()

    # The same bytes come back: refused unread; released by a person, indexed again.
    write_doc(corpus, "again.md", procedure_text("case handling for Jordan Whitfield"))
    ingest(settings, FakeEmbedder())
    assert Ledger.of(settings).documents()["docs/again.md"].reasons == ("policy.erased",)
    release_erased_content(settings, tombstone, "the subject withdrew the request")
    ingest(settings, FakeEmbedder())
    assert Ledger.of(settings).documents()["docs/again.md"].state.value == "indexed"
