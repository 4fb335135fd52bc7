"""Index versions: listed with manifests, diffed at document level, rolled back as a new version."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.errors import CorpusgovError
from pipelines.evaluation import eval_results, eval_versions
from pipelines.governance.catalog import corpus_status, list_documents, search_corpus
from pipelines.governance.ingest import ingest, roll_back
from pipelines.governance.versions import diff_index_versions, list_index_versions, rollback_index
from pipelines.index.commit_protocol import SERVING_TAG
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, add_eval_set, prepared, procedure_text, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


@pytest.fixture
def three_versions(project: Path, fake_embedder: FakeEmbedder):
    corpus = project / "corpus"
    for topic in ("receiving", "returns", "picking"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))

    def three_runs() -> None:
        settings = load_settings()
        run_ingestion(settings, fake_embedder)  # v1: three documents
        write_doc(corpus, "packing.md", procedure_text("packing"))
        write_doc(corpus, "returns.md", procedure_text("returns", steps=9))
        run_ingestion(settings, fake_embedder)  # v2: +packing, ~returns
        (corpus / "picking.md").unlink()
        run_ingestion(settings, fake_embedder)  # v3: -picking

    # The same three runs for every test here: on DuckDB, made once and copied.
    prepared(project, f"three-versions-{fake_embedder.model_id}", three_runs)
    return load_settings()


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


def test_rollback_restores_content_as_a_new_published_version(
    three_versions, fake_embedder: FakeEmbedder
) -> None:
    settings = three_versions
    lance_before = ChunkIndex(settings.lancedb_uri).version()
    rollback = rollback_index(settings, 1)
    version = rollback.version

    assert version.index_version == 4
    assert ChunkIndex(settings.lancedb_uri).version() > lance_before, "history is kept"
    # v1 held receiving, returns (its first text) and picking; picking was deleted at its source
    # since, so it stays out (listed), while packing, which v1 did not hold, is held back.
    assert [(h.doc_id, h.reason) for h in rollback.held_out] == [
        ("docs/picking.md", "removed: no longer at its source")
    ]
    diff = diff_index_versions(settings, 1, 4)
    assert diff.removed == ("docs/picking.md",) and diff.added == () and diff.modified == ()
    assert version.added == () and version.removed == ("docs/packing.md",)
    assert version.modified == ("docs/returns.md",)
    states = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert states["docs/packing.md"] == ("quarantined", ["index.rolled_back"])
    assert states["docs/picking.md"][0] == "removed"
    assert corpus_status(settings).index_version == 4
    # Published in the commit: RAG apps reading `serving` read it, tag and all.
    ledger = Ledger.of(settings)
    served = ledger.serving_version()
    assert served is not None and served.index_version == 4
    assert ledger.publications()[0].how == "rollback"
    table = ChunkIndex(settings.lancedb_uri).require_table()
    assert table.tags.list()[SERVING_TAG]["version"] == version.lance_version
    assert reconcile(settings).consistent

    # The next ingestion looks at the sources again: they still hold packing and the edited returns.
    report = run_ingestion(settings, fake_embedder)
    assert report.index_version.added == ("docs/packing.md",)
    assert report.index_version.modified == ("docs/returns.md",)
    assert report.index_version.removed == ()
    assert reconcile(settings).consistent


def test_rollback_never_readmits_a_document_its_current_contract_refuses(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = project / "corpus"
    for topic in ("receiving", "returns"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)  # v1: both indexed
    # returns.md now fails its contract: too short to be a procedure.
    write_doc(corpus, "returns.md", "Returns: see the desk.")
    write_doc(corpus, "packing.md", procedure_text("packing"))
    run_ingestion(settings, fake_embedder)  # v2: -returns (quarantined), +packing
    before = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert before["docs/returns.md"][0] == "quarantined"

    rollback = rollback_index(settings, 1)

    assert [h.doc_id for h in rollback.held_out] == ["docs/returns.md"]
    assert rollback.held_out[0].reason.startswith("quarantined: contract.")
    after = {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}
    assert after["docs/returns.md"] == before["docs/returns.md"], "its quarantine and reasons stay"
    assert after["docs/receiving.md"][0] == "indexed"
    assert "docs/returns.md" not in {
        h.doc_id for h in search_corpus(settings, fake_embedder, "returns", k=20)
    }
    assert reconcile(settings).consistent


def test_rollback_gets_its_eval_set_version_and_baseline(project: Path, fake_embedder: FakeEmbedder) -> None:
    corpus = project / "corpus"
    for topic in ("receiving", "returns", "picking"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
    add_eval_set(project)
    settings = load_settings()
    ingest(settings, fake_embedder)  # v1
    write_doc(corpus, "returns.md", procedure_text("returns", steps=9))
    ingest(settings, fake_embedder)  # v2

    outcome = roll_back(settings, fake_embedder, 1)

    number = outcome.rollback.version.index_version
    assert number == 3
    assert [r.version.index_version for r in outcome.reversions] == [3]
    ledger = Ledger.of(settings)
    assert {v.index_version for v in eval_versions(ledger, "sample")} == {1, 2, 3}
    results = eval_results(ledger, "sample", "dev")
    assert any(r.index_version == 3 for r in results), "the rollback's version has a baseline"


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
