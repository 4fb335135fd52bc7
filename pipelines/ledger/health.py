"""The ledger's own checks and budgets: whether every row and key index of the ledger reads
(`survey_ledger`), and counts that `corpusgov doctor` and the Dagster asset checks compare with
what the contracts allow."""

from dataclasses import dataclass
from typing import NamedTuple

import duckdb

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.errors import IndexDamagedError, StorageError, first_line
from pipelines.ledger import Ledger, shortfall
from pipelines.ledger.rows import named_rows, records, select_list
from pipelines.ledger.schema import rollback_quietly

# What a rebuild from the sources fills again: the documents as the sources hold them now, their
# assessments and chunks, what is quarantined. Every other table is history (index versions,
# runs, publications, evals, alerts) or a person's decision (quarantine releases, registered
# outputs), which no source can give back.
REBUILT_FROM_SOURCES = frozenset(
    {
        "assessments",
        "chunks",
        "commit_intents",
        "documents",
        "ledger_schema",
        "near_duplicate_signatures",
        "quarantine",
    }
)


@dataclass(frozen=True)
class LedgerSurvey:
    """What reading every row of every table of the ledger found."""

    problem: str | None  # the file cut short, or not opening at all
    rows: dict[str, int]  # each table whose rows read, with their number
    unreadable: dict[str, str]  # each table whose rows or key index do not, with the first error line
    indexes_unchecked: str | None = None  # why the key indexes could not be read, if so

    @property
    def damaged(self) -> bool:
        return self.problem is not None or bool(self.unreadable)

    def describe(self) -> str:
        """The damage in one sentence (or what was read, when there is none)."""
        if not self.damaged:
            if self.indexes_unchecked:
                return (
                    f"every row of its {len(self.rows)} tables reads; its key indexes were not "
                    f"checked ({self.indexes_unchecked})"
                )
            return f"every row and key index of its {len(self.rows)} tables reads"
        parts = [self.problem] if self.problem else []
        if self.unreadable:
            parts.append(
                f"{len(self.unreadable)} of {len(self.rows.keys() | self.unreadable.keys())} tables "
                f"cannot be read ({', '.join(sorted(self.unreadable))}: "
                f"{next(iter(self.unreadable.values()))})"
            )
        return "; ".join(parts)

    def not_rebuilt(self) -> str:
        """What a rebuild from the sources does not bring back, and where what survives stays."""
        kept = {t: n for t, n in sorted(self.rows.items()) if n and t not in REBUILT_FROM_SOURCES}
        # A table whose key index alone is damaged still reads in the set-aside copy.
        lost = sorted(t for t in self.unreadable if t not in self.rows and t not in REBUILT_FROM_SOURCES)
        if self.problem and not self.rows and not self.unreadable:
            return "the set-aside ledger does not open: its history cannot be recovered"
        said = []
        if kept:
            rows = ", ".join(f"{t} ({n} row{'' if n == 1 else 's'})" for t, n in kept.items())
            said.append(
                f"history and decisions the sources cannot give back stay in the set-aside ledger: {rows}"
            )
        if lost:
            said.append(f"unreadable there too, so lost: {', '.join(lost)}")
        return "; ".join(said) or "nothing but what the sources give back was in it"


def survey_ledger(ledger: Ledger) -> LedgerSurvey:
    """Read every row of every table, then every key index: DuckDB checks each block as it reads
    it, and a file cut short is told from its block count. What a run reads is only part of the
    file, so a damaged ledger can answer the reads of `status` and still fail every ingest.
    PostgreSQL checks its own pages: a ledger there is damaged when it does not open."""
    try:
        with ledger.connect(read_only=True, as_found=True) as con:
            if ledger.url is not None:
                return LedgerSurvey(None, {}, {})
            problem = shortfall(con, ledger.path)
            tables = [
                row["table_name"]
                for row in named_rows(
                    con,
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name",
                )
            ]
            keyed = {
                row["table_name"]
                for row in named_rows(
                    con,
                    "SELECT DISTINCT table_name FROM duckdb_constraints() "
                    "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
                )
            }
            rows: dict[str, int] = {}
            unreadable: dict[str, str] = {}
            for table in tables:
                try:
                    # hash() of the whole row, so that every column's blocks are read.
                    (found,) = named_rows(
                        con, f'SELECT count(hash(ledger_row)) AS n FROM "{table}" AS ledger_row'
                    )
                    rows[table] = int(found["n"])
                except duckdb.Error as err:
                    unreadable[table] = first_line(str(err))
        if problem is None and not unreadable:
            try:
                unreadable = _unreadable_key_indexes(ledger, [t for t in tables if t in keyed and rows[t]])
            except StorageError as err:  # a read-only copy: its rows read, its indexes cannot be
                return LedgerSurvey(None, rows, {}, first_line(err.__cause__ or err))
    except IndexDamagedError as err:
        return LedgerSurvey(f"it does not open ({first_line(err.__cause__ or err)})", {}, {})
    return LedgerSurvey(problem, rows, unreadable)


def _unreadable_key_indexes(ledger: Ledger, tables: list[str]) -> dict[str, str]:
    """DuckDB reads a table's key index only when a write checks a key against it, so a ledger
    whose rows all read can still fail every ingest. Each table's first row is inserted again, in
    a transaction rolled back: the only answer a whole index gives is the duplicate key. The file
    is opened for writing, as a run opens it, and left as it was."""
    unreadable: dict[str, str] = {}
    with ledger.connect(as_found=True) as con:
        for table in tables:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f'INSERT INTO "{table}" SELECT * FROM "{table}" LIMIT 1')
            except duckdb.ConstraintException:
                pass
            except duckdb.Error as err:
                unreadable[table] = f"its key index: {first_line(str(err))}"
            finally:
                rollback_quietly(con)
    return unreadable


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
