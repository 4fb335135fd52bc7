"""The ledger's own checks and budgets: counts that `corpusgov doctor` and the Dagster asset
checks compare with what the contracts allow."""

from typing import NamedTuple

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.ledger import Ledger
from pipelines.ledger.rows import named_rows, records, select_list


class IndexedGrade(NamedTuple):
    doc_id: str
    source: str
    grade: Grade | None


def ai_generated_counts(ledger: Ledger, source: str) -> tuple[int, int]:
    """(indexed documents, of which labelled ai_generated) in `source`."""
    with ledger.connect(read_only=True) as con:
        (counts,) = named_rows(
            con,
            "SELECT count(*) AS indexed, count(*) FILTER (WHERE provenance = ?) AS ai_generated "
            "FROM documents WHERE state = 'indexed' AND source = ?",
            [ProvenanceLabel.AI_GENERATED, source],
        )
    return int(counts["indexed"]), int(counts["ai_generated"])


def indexed_grades(ledger: Ledger) -> list[IndexedGrade]:
    with ledger.connect(read_only=True) as con:
        return records(
            con, IndexedGrade, f"SELECT {select_list(IndexedGrade)} FROM documents WHERE state = 'indexed'"
        )


def chunk_count_mismatches(ledger: Ledger, limit: int = 5) -> list[str]:
    """Documents whose chunks disagree with their state: an indexed one whose chunk rows do not
    number its chunk_count, or another state that still has chunk rows (ids, at most `limit`)."""
    with ledger.connect(read_only=True) as con:
        rows = named_rows(
            con,
            "SELECT d.doc_id FROM documents d "
            "LEFT JOIN chunks c USING (doc_id) GROUP BY d.doc_id, d.state, d.chunk_count "
            "HAVING (d.state = 'indexed' AND count(c.chunk_id) <> coalesce(d.chunk_count, 0)) "
            "OR (d.state <> 'indexed' AND count(c.chunk_id) > 0) ORDER BY d.doc_id LIMIT ?",
            [limit],
        )
    return [row["doc_id"] for row in rows]


def orphan_chunk_count(ledger: Ledger) -> int:
    """Chunk rows whose document the ledger does not know."""
    with ledger.connect(read_only=True) as con:
        (orphans,) = named_rows(
            con, "SELECT count(*) AS chunks FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
        )
    return int(orphans["chunks"])
