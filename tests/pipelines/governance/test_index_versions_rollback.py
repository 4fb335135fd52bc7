"""Index versions: listed with manifests, diffed at document level, rolled back as a new version."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.errors import CorpusgovError
from pipelines.governance.catalog import corpus_status, list_documents
from pipelines.governance.versions import diff_index_versions, list_index_versions, rollback_index
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


@pytest.fixture
def three_versions(project: Path, fake_embedder: FakeEmbedder):
    corpus = project / "corpus"
    for topic in ("receiving", "returns", "picking"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)  # v1: three documents
    write_doc(corpus, "packing.md", procedure_text("packing"))
    write_doc(corpus, "returns.md", procedure_text("returns", steps=9))
    run_ingestion(settings, fake_embedder)  # v2: +packing, ~returns
    (corpus / "picking.md").unlink()
    run_ingestion(settings, fake_embedder)  # v3: -picking
    return settings


def test_versions_list_manifests_newest_first(three_versions) -> None:
    versions = list_index_versions(three_versions)
    assert [v["index_version"] for v in versions] == [3, 2, 1]
    assert versions[1]["added"] == ["docs/packing.md"] and versions[1]["modified"] == ["docs/returns.md"]
    assert versions[0]["removed"] == ["docs/picking.md"]
    assert versions[0]["tag"] == "index-v3" and versions[0]["config_hash"]
    assert versions[0]["counts"]["by_state"]["removed"] == 1


def test_diff_between_any_two_versions(three_versions) -> None:
    diff = diff_index_versions(three_versions, 1, 3)
    assert diff.added == ("docs/packing.md",)
    assert diff.removed == ("docs/picking.md",)
    assert diff.modified == ("docs/returns.md",)
    assert diff.unchanged == 1
    with pytest.raises(CorpusgovError, match="no index version 9"):
        diff_index_versions(three_versions, 1, 9)


def test_rollback_restores_content_as_a_new_version(three_versions, fake_embedder: FakeEmbedder) -> None:
    settings = three_versions
    lance_before = ChunkIndex(settings.lancedb_uri).version()
    version = rollback_index(settings, 1)

    assert version.index_version == 4
    assert ChunkIndex(settings.lancedb_uri).version() == lance_before + 1, "history is kept"
    assert diff_index_versions(settings, 1, 4).added == ()
    assert diff_index_versions(settings, 1, 4).modified == ()
    assert version.added == ("docs/picking.md",) and version.removed == ("docs/packing.md",)
    states = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert states["docs/packing.md"] == ("quarantined", ["index.rolled_back"])
    assert states["docs/picking.md"][0] == "indexed"
    assert corpus_status(settings).index_version == 4
    assert reconcile(settings).consistent

    # The next ingestion looks at the sources again: they still hold packing and not picking.
    report = run_ingestion(settings, fake_embedder)
    assert report.index_version.added == ("docs/packing.md",)
    assert report.index_version.removed == ("docs/picking.md",)
    assert reconcile(settings).consistent


def test_rollback_to_the_current_version_is_refused(three_versions) -> None:
    with pytest.raises(CorpusgovError, match="already the current version"):
        rollback_index(three_versions, 3)


def test_cli_index_commands(three_versions) -> None:
    from pipelines.cli.app import app

    runner = CliRunner()
    versions = json.loads(runner.invoke(app, ["index", "versions", "--json"]).stdout)
    assert len(versions) == 3
    diff = json.loads(runner.invoke(app, ["index", "diff", "2", "3", "--json"]).stdout)
    assert diff["removed"] == ["docs/picking.md"]
    result = runner.invoke(app, ["index", "rollback", "2"])
    assert result.exit_code == 0 and "version 4" in result.stdout
