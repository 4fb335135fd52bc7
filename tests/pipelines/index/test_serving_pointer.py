"""What the RAG app reads: the `serving` tag names the last published index version, and a writer
stopped at any step, publication included, never shows it a half-written, uncommitted or
unpublished version. Read as a RAG app reads it: plain LanceDB, `table.checkout("serving")`."""

from pathlib import Path

import lancedb
import pytest

from pipelines.errors import CorpusgovError
from pipelines.governance.catalog import search_corpus
from pipelines.governance.doctor import examine_data_dir
from pipelines.governance.ingest import ingest
from pipelines.governance.publication import promote
from pipelines.index.commit_protocol import STOP_POINTS
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from pipelines.stop_points import STOP_AT_ENV, StopRequested
from tests.conftest import FakeEmbedder, prepared, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants

WRITER_POINTS = [p for p in STOP_POINTS if p.startswith(("commit.", "publish."))]


def _served_chunks(settings: Settings) -> set[str]:
    """The chunk ids a RAG app reads: the table checked out at the `serving` tag."""
    table = lancedb.connect(settings.lancedb_uri).open_table("chunks")
    table.checkout("serving")
    return set(table.to_arrow().column("chunk_id").to_pylist())


def _published_corpus(project: Path) -> tuple[Settings, set[str]]:
    for topic in ("loading dock", "cold storage", "forklift charging"):
        write_doc(project / "corpus", f"{topic.replace(' ', '_')}.md", procedure_text(topic))

    def first_ingest() -> None:
        outcome = ingest(load_settings(), FakeEmbedder())
        assert outcome.publication.published is not None, "the first version is published at once"

    prepared(project, "published-corpus-fake-embedder@test", first_ingest)
    settings = load_settings()
    return settings, _served_chunks(settings)


def _change(project: Path) -> None:
    write_doc(project / "corpus", "loading_dock.md", procedure_text("loading dock", steps=9))
    (project / "corpus" / "cold_storage.md").unlink()
    write_doc(project / "corpus", "night_shift.md", procedure_text("night shift"))


@pytest.mark.parametrize("point", WRITER_POINTS)
def test_a_writer_stopped_anywhere_never_shows_the_rag_app_an_unpublished_version(
    project: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    settings, first = _published_corpus(project)
    _change(project)
    monkeypatch.setenv(STOP_AT_ENV, point)
    with pytest.raises(StopRequested):
        ingest(settings, FakeEmbedder())
    monkeypatch.delenv(STOP_AT_ENV)

    served = _served_chunks(settings)
    if point == "publish.after_tag":
        assert served != first, "stopped after the tag moved: the new version is served"
    else:
        # Before the tag moves the RAG app reads the first version, whole, whatever the ledger and
        # the table's head hold (uncommitted rows after commit.after_index_write included).
        assert served == first

    outcome = ingest(settings, FakeEmbedder())  # the next writer recovers, then publishes
    state = assert_invariants(settings, project / "corpus")
    assert _served_chunks(settings) == set(state["ledger_chunks"])  # type: ignore[arg-type]
    ledger = Ledger.of(settings)
    served_version = ledger.serving_version()
    latest = ledger.latest_index_version()
    assert served_version is not None and latest is not None
    assert served_version.index_version == latest.index_version
    assert outcome.publication.candidate in (None, latest.index_version)
    assert examine_data_dir(settings).healthy


def test_gated_publishing_waits_for_a_promote(project: Path) -> None:
    settings, first = _published_corpus(project)
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "serving:\n  publish: gated\n", encoding="utf-8")
    settings = load_settings()
    _change(project)
    embedder = FakeEmbedder()
    outcome = ingest(settings, embedder)
    assert outcome.publication.published is None and outcome.publication.candidate == 2
    assert "promote 2" in (outcome.publication.waiting or "")
    assert _served_chunks(settings) == first
    hits = {h.doc_id for h in search_corpus(settings, embedder, "night shift procedure", k=10)}
    assert "docs/night_shift.md" not in hits, "search reads the served version by default"
    candidate = {
        h.doc_id for h in search_corpus(settings, embedder, "night shift procedure", k=10, candidate=True)
    }
    assert "docs/night_shift.md" in candidate

    with pytest.raises(CorpusgovError, match="no index version 7"):
        promote(settings, 7)
    with pytest.raises(CorpusgovError, match="already served"):
        promote(settings, 1)
    promoted = promote(settings, 2)
    assert promoted.published is not None and promoted.published.how == "promote"
    assert _served_chunks(settings) == set(assert_invariants(settings, project / "corpus")["ledger_chunks"])  # type: ignore[arg-type]
    with pytest.raises(CorpusgovError, match="already served"):
        promote(settings, 2)
    hits = {h.doc_id for h in search_corpus(settings, embedder, "night shift procedure", k=10)}
    assert "docs/night_shift.md" in hits


def test_a_run_alone_commits_a_candidate_the_rag_app_does_not_see(project: Path) -> None:
    settings, first = _published_corpus(project)
    _change(project)
    embedder = FakeEmbedder()
    run_ingestion(settings, embedder)  # a commit without its publication step
    assert _served_chunks(settings) == first
    served = {h.doc_id for h in search_corpus(settings, embedder, "night shift procedure", k=10)}
    assert "docs/night_shift.md" not in served
    assert examine_data_dir(settings).healthy
