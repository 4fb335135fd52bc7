"""The ledger's own checks and budgets: counts that `corpusgov doctor` and the Dagster asset
checks compare with what the contracts allow."""

from typing import NamedTuple

from corpus_quality.vocabulary import ProvenanceLabel
from pipelines.ledger import Ledger


class IndexedGrade(NamedTuple):
    doc_id: str
    source: str
    grade: str | None


def ai_generated_counts(ledger: Ledger, source: str) -> tuple[int, int]:
    """(indexed documents, of which labelled ai_generated) in `source`."""
    row = ledger.records(
        "SELECT count(*) AS indexed, count(*) FILTER (WHERE provenance = ?) AS ai "
        "FROM documents WHERE state = 'indexed' AND source = ?",
        [ProvenanceLabel.AI_GENERATED, source],
    )[0]
    return int(row["indexed"]), int(row["ai"])


def indexed_grades(ledger: Ledger) -> list[IndexedGrade]:
    return [
        IndexedGrade(r["doc_id"], r["source"], r["grade"])
        for r in ledger.records("SELECT doc_id, source, grade FROM documents WHERE state = 'indexed'")
    ]


def chunk_count_mismatches(ledger: Ledger, limit: int = 5) -> list[str]:
    """Documents whose chunks disagree with their state: an indexed one whose chunk rows do not
    number its chunk_count, or another state that still has chunk rows (ids, at most `limit`)."""
    rows = ledger.records(
        "SELECT d.doc_id FROM documents d "
        "LEFT JOIN chunks c USING (doc_id) GROUP BY ALL "
        "HAVING (d.state = 'indexed' AND count(c.chunk_id) <> coalesce(d.chunk_count, 0)) "
        "OR (d.state <> 'indexed' AND count(c.chunk_id) > 0) ORDER BY d.doc_id LIMIT ?",
        [limit],
    )
    return [r["doc_id"] for r in rows]


def orphan_chunk_count(ledger: Ledger) -> int:
    """Chunk rows whose document the ledger does not know."""
    row = ledger.records(
        "SELECT count(*) AS n FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
    )[0]
    return int(row["n"])
