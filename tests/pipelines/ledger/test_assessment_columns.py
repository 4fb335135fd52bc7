"""An assessment keeps what it computed: the document the assessed one nearly duplicates and the
AI-text heuristic's score (`assessments.near_duplicate_of`, `assessments.heuristic_ai_score`,
ledger schema version 4), on both ledger backends; a ledger from before them gains the columns."""

from pathlib import Path

import duckdb

from pipelines.ledger import Ledger
from pipelines.ledger.schema import SCHEMA_VERSION
from pipelines.run.ingestion import prepare_source, run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.store_invariants import ledger_records

# The columns of `assessments` before schema version 4, in their order (users' SQL reads them).
ASSESSMENT_COLUMNS_BEFORE = [
    "doc_id",
    "content_hash",
    "recorded_at",
    "quality_signals",
    "quality_score",
    "grade",
    "route",
    "quality_reasons",
    "provenance",
    "digital_source_type",
    "provenance_confidence",
    "provenance_evidence",
    "safety",
    "declared_metadata",
]

ORIGINAL, COPY = "docs/a-original.md", "docs/b-copy.md"


def _near_copies(corpus: Path) -> None:
    text = procedure_text("receiving", steps=10)
    write_doc(corpus, "a-original.md", text)
    write_doc(corpus, "b-copy.md", text.replace("Northwind", "Northwind Ltd"))


def test_the_later_of_two_near_copies_names_the_earlier_in_its_assessment(
    project: Path, fake_embedder: FakeEmbedder, ledger_backend: str
) -> None:
    _near_copies(project / "corpus")
    settings = load_settings()
    computed = {o.doc_id: o for o in prepare_source(settings, "docs", fake_embedder.model_id).outcomes}
    assert computed[COPY].near_duplicate_of == ORIGINAL, "the copy comes after the original"

    run_ingestion(settings, fake_embedder)

    rows = ledger_records(
        settings, "SELECT doc_id, near_duplicate_of, heuristic_ai_score FROM assessments ORDER BY doc_id"
    )
    assert [(r["doc_id"], r["near_duplicate_of"]) for r in rows] == [(ORIGINAL, None), (COPY, ORIGINAL)]
    assert {r["doc_id"]: r["heuristic_ai_score"] for r in rows} == {
        doc_id: computed[doc_id].heuristic_ai_score for doc_id in (ORIGINAL, COPY)
    }


def test_a_ledger_from_before_the_columns_gains_them_empty(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    con = duckdb.connect(str(settings.ledger_path))
    try:  # as schema version 3 left it
        con.execute("ALTER TABLE assessments DROP COLUMN near_duplicate_of")
        con.execute("ALTER TABLE assessments DROP COLUMN heuristic_ai_score")
        con.execute("DELETE FROM ledger_schema WHERE version >= 4")  # later migrations run again
    finally:
        con.close()

    with Ledger(settings.ledger_path).connect(read_only=True) as con:  # a read upgrades it
        columns = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'assessments' "
                "ORDER BY ordinal_position"
            ).fetchall()
        ]
        kept = con.execute("SELECT near_duplicate_of, heuristic_ai_score FROM assessments").fetchall()

    assert SCHEMA_VERSION >= 4
    added = columns.index("near_duplicate_of")
    assert columns[added : added + 2] == ["near_duplicate_of", "heuristic_ai_score"], "added together"
    assert columns[:added] == ASSESSMENT_COLUMNS_BEFORE, "after every column users knew, in their order"
    assert kept == [(None, None)]
    write_doc(project / "corpus", "returns.md", procedure_text("returns"))
    run_ingestion(settings, fake_embedder)
    written = ledger_records(settings, "SELECT doc_id FROM assessments WHERE doc_id = 'docs/returns.md'")
    assert len(written) == 1, "the next run writes into the upgraded table"
