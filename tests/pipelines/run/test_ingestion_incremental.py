"""Idempotency and incremental ingestion: unchanged documents are never re-embedded."""

from pathlib import Path

import pytest

from pipelines.governance.catalog import list_documents
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


def seed(corpus: Path) -> None:
    for topic in ("receiving", "returns", "picking", "packing"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))


def test_second_ingest_without_changes_commits_nothing(project: Path, fake_embedder: FakeEmbedder) -> None:
    seed(project / "corpus")
    settings = load_settings()
    first = run_ingestion(settings, fake_embedder)
    lance_version = ChunkIndex(settings.lancedb_uri).version()
    embedded_before = len(fake_embedder.embedded_texts)

    second = run_ingestion(settings, fake_embedder)

    assert first.index_version is not None
    assert second.index_version is None and not second.changed
    assert second.unchanged == 4
    assert ChunkIndex(settings.lancedb_uri).version() == lance_version
    assert len(Ledger.of(settings).index_versions()) == 1
    assert len(fake_embedder.embedded_texts) == embedded_before


def test_changing_one_file_reembeds_only_its_chunks(project: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = project / "corpus"
    seed(corpus)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    fake_embedder.calls.clear()

    changed = procedure_text("picking").replace(
        "If anything about picking is unclear",
        "Scanners must be docked at the end of the shift. If anything about picking is unclear",
    )
    write_doc(corpus, "picking.md", changed)
    report = run_ingestion(settings, fake_embedder)

    assert report.index_version is not None
    assert report.index_version.index_version == 2
    assert report.index_version.modified == ("docs/picking.md",)
    assert report.index_version.added == () and report.index_version.removed == ()
    embedded = fake_embedder.embedded_texts
    assert embedded, "the changed chunk must be embedded"
    assert all("picking" in text for text in embedded)
    assert any("Scanners must be docked" in text for text in embedded)
    assert reconcile(settings).consistent


def test_deleting_a_file_removes_its_chunks(project: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = project / "corpus"
    seed(corpus)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    (corpus / "returns.md").unlink()

    report = run_ingestion(settings, fake_embedder)

    assert report.index_version is not None
    assert report.index_version.removed == ("docs/returns.md",)
    assert report.index_version.chunks_removed > 0
    index_docs = set(ChunkIndex(settings.lancedb_uri).table().to_arrow().column("doc_id").to_pylist())
    assert "docs/returns.md" not in index_docs
    row = next(r for r in list_documents(settings) if r["doc_id"] == "docs/returns.md")
    assert row["state"] == "removed" and row["reasons"] == ["discover.deleted_from_source"]
    assert reconcile(settings).consistent


def test_one_commit_per_run_tagged_with_the_index_version(project: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = project / "corpus"
    seed(corpus)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    write_doc(corpus, "new.md", procedure_text("cycle counting"))
    (corpus / "packing.md").unlink()
    before = ChunkIndex(settings.lancedb_uri).version()

    report = run_ingestion(settings, fake_embedder)

    table = ChunkIndex(settings.lancedb_uri).table()
    assert table.version == before + 1, "an add and a delete in one run must be one LanceDB version"
    assert table.tags.list()["index-v2"]["version"] == table.version
    assert report.index_version.added == ("docs/new.md",)
    assert report.index_version.removed == ("docs/packing.md",)


def test_a_restored_file_comes_back(project: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = project / "corpus"
    seed(corpus)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    text = (corpus / "receiving.md").read_text()
    (corpus / "receiving.md").unlink()
    run_ingestion(settings, fake_embedder)
    write_doc(corpus, "receiving.md", text)

    report = run_ingestion(settings, fake_embedder)

    assert report.index_version.added == ("docs/receiving.md",)
    assert reconcile(settings).consistent
