"""An index version's manifest says what really changed in the index, and a run whose re-processed
documents change none of the index's rows commits nothing to it.

Documents are processed again whenever their processing key is cleared (a rollback, a self-output
registration) or changes (a new assessment version). Such a document is `modified` only when what
the index holds for it changes: its chunks or a governance column of its rows
(pipelines/run/index_rows.py says which columns count, and why `config_hash` does not).
"""

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

import corpus_quality.signals as signal_table
from pipelines.evaluation import eval_versions, reversion_eval_sets
from pipelines.governance.versions import diff_index_versions, rollback_index
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


def _index_rows(settings: Settings, columns: list[str]) -> pa.Table:
    table = ChunkIndex(settings.lancedb_uri).table()
    assert table is not None
    return read_columns(table, ["doc_id", *columns])


def _values(rows: pa.Table, doc_id: str, column: str) -> set[object]:
    return {r[column] for r in rows.to_pylist() if r["doc_id"] == doc_id}


def test_after_a_rollback_only_documents_that_differ_from_the_rolled_back_index_are_modified(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = project / "corpus"
    for topic in ("receiving", "returns", "picking", "packing"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)  # v1
    write_doc(corpus, "returns.md", procedure_text("returns", steps=9))
    picking = procedure_text("picking").replace(
        "If anything about picking is unclear",
        "Scanners must be docked at the end of the shift. If anything about picking is unclear",
    )
    write_doc(corpus, "picking.md", picking)
    write_doc(corpus, "cycle-count.md", procedure_text("cycle count"))
    edits = run_ingestion(settings, fake_embedder)  # v2
    assert edits.index_version is not None
    assert edits.index_version.modified == ("docs/picking.md", "docs/returns.md")

    rolled_back = rollback_index(settings, 1).version  # v3 holds what v1 held
    write_doc(corpus, "returns.md", procedure_text("returns"))  # back to what v1 held, too
    fake_embedder.calls.clear()
    report = run_ingestion(settings, fake_embedder)

    # Every document lost its processing key in the rollback: all were looked at again.
    assert {o.doc_id for o in report.outcomes} == {
        "docs/cycle-count.md",
        "docs/packing.md",
        "docs/picking.md",
        "docs/receiving.md",
        "docs/returns.md",
    }
    manifest = report.index_version
    assert manifest is not None
    # The sources differ from the rolled-back index in picking.md (edited) and cycle-count.md
    # (it left the index in the rollback); returns.md, receiving.md and packing.md do not.
    assert manifest.modified == ("docs/picking.md",)
    assert manifest.added == ("docs/cycle-count.md",) and manifest.removed == ()
    diff = diff_index_versions(settings, rolled_back.index_version, manifest.index_version)
    assert (diff.added, diff.removed, diff.modified) == (manifest.added, manifest.removed, manifest.modified)
    assert diff.unchanged == 3
    unchanged_texts = {
        r["text"]
        for r in _index_rows(settings, ["text"]).to_pylist()
        if r["doc_id"] in {"docs/packing.md", "docs/receiving.md", "docs/returns.md"}
    }
    assert unchanged_texts and unchanged_texts.isdisjoint(fake_embedder.embedded_texts)
    assert reconcile(settings).consistent


def test_clearing_every_processing_key_reprocesses_everything_and_commits_nothing(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    for topic in ("receiving", "returns", "picking"):
        write_doc(project / "corpus", f"{topic}.md", procedure_text(topic))
    add_eval_set(project)
    settings = load_settings()
    first = run_ingestion(settings, fake_embedder)
    assert first.index_version is not None
    assert reversion_eval_sets(settings, fake_embedder), "the eval set is bound to v1 and scored"
    ledger = Ledger.of(settings)
    keys = {d.doc_id: d.config_hash for d in ledger.documents().values()}
    eval_before = eval_versions(ledger, "sample")
    lance_before = ChunkIndex(settings.lancedb_uri).version()
    with ledger.connect() as con:
        con.execute("UPDATE documents SET config_hash = NULL")
    fake_embedder.calls.clear()

    second = run_ingestion(settings, fake_embedder)

    assert sorted(o.doc_id for o in second.outcomes) == sorted(keys), "every document processed again"
    assert second.index_version is None, "a run that changes nothing commits nothing"
    assert second.chunks_embedded == 0 and fake_embedder.embedded_texts == []
    assert ChunkIndex(settings.lancedb_uri).version() == lance_before
    assert [v.index_version for v in ledger.index_versions()] == [1]
    # The ledger still recorded the run's documents: their processing key is back.
    assert {d.doc_id: d.config_hash for d in ledger.documents().values()} == keys
    assert reconcile(settings).consistent
    # The eval sets follow index versions: none was made, so nothing to re-version or score.
    assert reversion_eval_sets(settings, fake_embedder) == []
    assert eval_versions(ledger, "sample") == eval_before
    assert fake_embedder.embedded_texts == []

    third = run_ingestion(settings, fake_embedder)
    assert not third.changed and third.index_version is None and third.unchanged == 3
    assert ChunkIndex(settings.lancedb_uri).version() == lance_before


def _reweighted(name: str, factor: float) -> tuple[signal_table.Signal, ...]:
    return tuple(replace(s, weight=s.weight * factor) if s.name == name else s for s in signal_table.SIGNALS)


def test_a_document_whose_grade_changes_is_modified_and_one_whose_grade_stays_is_not(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))  # a C held there by a gate
    write_doc(corpus, "returns.md", procedure_text("returns", steps=2))  # an A
    settings = load_settings()
    first = run_ingestion(settings, fake_embedder)
    assert first.index_version is not None
    grades_before = {o.doc_id: o.grade for o in first.outcomes}
    keys_before = {o.doc_id: o.config_hash for o in first.outcomes}

    # Markdown without front matter has little metadata: weighing it ten times lowers the score.
    monkeypatch.setattr(signal_table, "SIGNALS", _reweighted("metadata_completeness", 10.0))
    second = run_ingestion(settings, fake_embedder)

    grades_after = {o.doc_id: o.grade for o in second.outcomes}
    assert grades_after.keys() == grades_before.keys(), "a new assessment version re-assesses all"
    regraded = sorted(d for d in grades_after if grades_after[d] != grades_before[d])
    kept = sorted(d for d in grades_after if grades_after[d] == grades_before[d])
    assert regraded and kept, "the re-weighting must change one grade and leave the other"
    manifest = second.index_version
    assert manifest is not None
    assert manifest.modified == tuple(regraded)
    assert manifest.added == () and manifest.removed == ()
    assert manifest.chunks_added == 0 and manifest.chunks_removed == 0
    assert second.chunks_embedded == 0

    rows = _index_rows(settings, ["grade", "config_hash"])
    keys_after = {d.doc_id: d.config_hash for d in Ledger.of(settings).documents().values()}
    for doc_id in regraded:
        # Rewritten: the new grade and the key it was written under.
        assert _values(rows, doc_id, "grade") == {grades_after[doc_id]}
        assert _values(rows, doc_id, "config_hash") == {keys_after[doc_id]}
    for doc_id in kept:
        # Left as it was: same rows, still saying the key they were written under; the ledger
        # holds the key the document was last processed under.
        assert _values(rows, doc_id, "grade") == {grades_before[doc_id]}
        assert _values(rows, doc_id, "config_hash") == {keys_before[doc_id]}
        assert keys_after[doc_id] != keys_before[doc_id]
    assert reconcile(settings).consistent

    third = run_ingestion(settings, fake_embedder)
    assert not third.changed and third.index_version is None


@pytest.mark.parametrize("filtered_by_lancedb", [True, False], ids=["filtered", "scanned"])
def test_the_comparison_reads_the_documents_rows_whether_filtered_or_scanned(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch, filtered_by_lancedb: bool
) -> None:
    import pipelines.run.index_rows as index_rows

    if not filtered_by_lancedb:
        monkeypatch.setattr(index_rows, "_FILTER_PUSHDOWN_MAX_DOCS", 0)
    corpus = project / "corpus"
    write_doc(corpus, "o'brien's notes.md", procedure_text("receiving"))
    write_doc(corpus, "returns.md", procedure_text("returns"))
    settings = load_settings()
    first = run_ingestion(settings, fake_embedder)
    assert first.index_version is not None
    assert first.index_version.added == ("docs/o'brien's notes.md", "docs/returns.md")
    with Ledger.of(settings).connect() as con:
        con.execute("UPDATE documents SET config_hash = NULL")
    write_doc(corpus, "returns.md", procedure_text("returns", steps=9))

    report = run_ingestion(settings, fake_embedder)

    assert len(report.outcomes) == 2
    assert report.index_version is not None and report.index_version.modified == ("docs/returns.md",)
    assert reconcile(settings).consistent
