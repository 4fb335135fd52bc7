"""The ledger's tables, versioned, so that a data dir written by an older corpusgov keeps working.

`MIGRATIONS[n - 1]` takes a ledger from version n - 1 to n. Each runs in one transaction with the
row that records it in `ledger_schema`; a write connection applies what is missing before it
does anything else, and a read of an older ledger upgrades it first. Released migrations are
never edited: a change to the schema is a new one at the end.

Version 1 is the schema from before versioning, when every write connection ran these same
`CREATE TABLE IF NOT EXISTS` statements: a ledger without `ledger_schema` is version 0, and
migration 1 creates the tables it lacks and adds the two `documents` columns that came after
its first release (`generation_depth`, `derived_from`). Version 2 brings in the
tables `alerts` and `eval_question_vectors`, which the alert sender and the eval code
used to create on their own. Version 3 adds the judge and answers fingerprint to `eval_results`
(empty for results from before generation metrics) and the `judge_calls` cache. Version 4 adds
to `assessments` the document the assessed one nearly duplicates (`near_duplicate_of`) and the
AI-text heuristic's score (`heuristic_ai_score`), NULL in rows from before it. Version 5 adds what
the RAG app reads: `publications` (which index version is served, since when, how), the gates
candidates met (`publication_gates`) and each version's drift stats by source (`version_stats`); a
ledger from before it gets its latest index version as the published one.

New columns go at the end of their table (ALTER TABLE ... ADD COLUMN), so a query a user wrote
against the tables keeps its meaning; the ledger's own statements name their columns
(pipelines/ledger/rows.py, pipelines/ledger/run_tables.py).
"""

import duckdb

from pipelines.errors import CorpusgovError, StorageError
from pipelines.ledger.connection import LedgerConnection


class LedgerSchemaError(CorpusgovError):
    """The ledger was written by a newer corpusgov than this one."""


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the schema before versioning
        """
        CREATE TABLE IF NOT EXISTS documents (
            doc_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            path VARCHAR NOT NULL,
            state VARCHAR NOT NULL,
            reasons VARCHAR[] NOT NULL,
            detail VARCHAR,
            content_hash VARCHAR,
            mime_type VARCHAR,
            size BIGINT,
            title VARCHAR,
            language VARCHAR,
            contract_id VARCHAR,
            contract_version VARCHAR,
            config_hash VARCHAR,
            grade VARCHAR,
            quality_score DOUBLE,
            provenance VARCHAR,
            provenance_confidence DOUBLE,
            safety_flags VARCHAR[],
            chunk_count INTEGER,
            generation_depth INTEGER,
            derived_from VARCHAR[],
            first_seen TIMESTAMPTZ NOT NULL,
            last_changed TIMESTAMPTZ NOT NULL,
            index_version INTEGER
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS document_versions (
            doc_id VARCHAR NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR NOT NULL,
            index_version INTEGER,
            content_hash VARCHAR,
            state VARCHAR NOT NULL,
            reasons VARCHAR[] NOT NULL,
            grade VARCHAR,
            provenance VARCHAR,
            contract_version VARCHAR
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS assessments (
            doc_id VARCHAR NOT NULL,
            content_hash VARCHAR,
            recorded_at TIMESTAMPTZ NOT NULL,
            quality_signals JSON,
            quality_score DOUBLE,
            grade VARCHAR,
            route VARCHAR,
            quality_reasons VARCHAR[],
            provenance VARCHAR,
            digital_source_type VARCHAR,
            provenance_confidence DOUBLE,
            provenance_evidence JSON,
            safety JSON,
            declared_metadata JSON
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS chunks (
            chunk_id VARCHAR PRIMARY KEY,
            doc_id VARCHAR NOT NULL,
            ordinal INTEGER NOT NULL,
            chars INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS index_versions (
            index_version INTEGER PRIMARY KEY,
            lance_version BIGINT NOT NULL,
            tag VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            embedding_model VARCHAR NOT NULL,
            added VARCHAR[] NOT NULL,
            modified VARCHAR[] NOT NULL,
            removed VARCHAR[] NOT NULL,
            chunks_added INTEGER NOT NULL,
            chunks_removed INTEGER NOT NULL,
            total_chunks BIGINT NOT NULL,
            counts JSON NOT NULL,
            contract_versions JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS self_outputs (
            output_id VARCHAR PRIMARY KEY,
            registered_at TIMESTAMPTZ NOT NULL,
            row JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS near_duplicate_signatures (
            doc_id VARCHAR PRIMARY KEY,
            row JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS quarantine (
            doc_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            reasons VARCHAR[] NOT NULL,
            contract_id VARCHAR,
            contract_version VARCHAR,
            content_hash VARCHAR,
            first_seen TIMESTAMPTZ NOT NULL,
            last_seen TIMESTAMPTZ NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS quarantine_releases (
            doc_id VARCHAR NOT NULL,
            content_hash VARCHAR,
            contract_version VARCHAR,
            reasons VARCHAR[] NOT NULL,
            released_at TIMESTAMPTZ NOT NULL,
            released_by VARCHAR NOT NULL,
            release_reason VARCHAR NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_set_versions (
            version_hash VARCHAR PRIMARY KEY,
            eval_set VARCHAR NOT NULL,
            number INTEGER NOT NULL,
            eval_set_hash VARCHAR NOT NULL,
            index_version INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            changelog JSON NOT NULL,
            changed_share DOUBLE NOT NULL,
            items INTEGER NOT NULL,
            active_items INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_item_resolutions (
            version_hash VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            split VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            gold_chunk_ids VARCHAR[] NOT NULL,
            contested_by VARCHAR[] NOT NULL,
            detail VARCHAR,
            contaminated_by VARCHAR[] NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_results (
            result_id VARCHAR PRIMARY KEY,
            eval_set VARCHAR NOT NULL,
            eval_set_version INTEGER NOT NULL,
            eval_set_version_hash VARCHAR NOT NULL,
            index_version INTEGER NOT NULL,
            config_hash VARCHAR NOT NULL,
            split VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            metrics JSON NOT NULL,
            per_item JSON NOT NULL,
            generation JSON NOT NULL,
            superseded_reason VARCHAR
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS holdout_exposures (
            eval_set VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            exposures INTEGER NOT NULL,
            last_exposed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (eval_set, item_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_events (
            event_id VARCHAR PRIMARY KEY,
            eval_set VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            message VARCHAR NOT NULL,
            details JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS held_back (
            doc_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            would_be VARCHAR NOT NULL,
            reasons VARCHAR[] NOT NULL,
            detail VARCHAR,
            contract_id VARCHAR,
            contract_version VARCHAR
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS commit_intents (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            base_lance_version BIGINT,
            started_at TIMESTAMPTZ NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS ingestion_runs (
            run_id VARCHAR PRIMARY KEY,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            sources VARCHAR[] NOT NULL,
            index_version INTEGER,
            summary JSON NOT NULL
        )
        """,
        "ALTER TABLE documents ADD COLUMN IF NOT EXISTS generation_depth INTEGER",
        "ALTER TABLE documents ADD COLUMN IF NOT EXISTS derived_from VARCHAR[]",
        """
        CREATE TABLE IF NOT EXISTS ledger_schema (
            version INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    (  # 2: every table in one place
        """
        CREATE TABLE IF NOT EXISTS alerts (
            alert_key VARCHAR PRIMARY KEY,
            kind VARCHAR,
            source VARCHAR,
            doc_id VARCHAR,
            reason VARCHAR,
            contract_version VARCHAR,
            message VARCHAR,
            first_sent_at TIMESTAMPTZ,
            sinks VARCHAR[]
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_question_vectors (
            model VARCHAR,
            question_hash VARCHAR,
            vector FLOAT[],
            PRIMARY KEY (model, question_hash)
        )
        """,
    ),
    (  # 3: generation metrics: a result's key names its judge and answers; judge calls are kept
        "ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS judge VARCHAR",
        "ALTER TABLE eval_results ADD COLUMN IF NOT EXISTS answers_fingerprint VARCHAR",
        """
        CREATE TABLE IF NOT EXISTS judge_calls (
            call_key VARCHAR PRIMARY KEY,
            model VARCHAR NOT NULL,
            completions JSON NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    (  # 4: what an assessment computed and did not keep: the near duplicate and the AI heuristic
        "ALTER TABLE assessments ADD COLUMN IF NOT EXISTS near_duplicate_of VARCHAR",
        "ALTER TABLE assessments ADD COLUMN IF NOT EXISTS heuristic_ai_score DOUBLE",
    ),
    (  # 5: what the RAG app reads: publications of index versions, their gate, their drift stats
        """
        CREATE TABLE IF NOT EXISTS publications (
            index_version INTEGER,
            published_at TIMESTAMPTZ NOT NULL,
            published_by VARCHAR NOT NULL,
            how VARCHAR NOT NULL,
            gate JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS publication_gates (
            index_version INTEGER NOT NULL,
            evaluated_at TIMESTAMPTZ NOT NULL,
            passed BOOLEAN NOT NULL,
            verdict JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS version_stats (
            index_version INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            documents INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            median_chars DOUBLE,
            p95_chars DOUBLE,
            short_chunks INTEGER NOT NULL,
            ai_generated INTEGER NOT NULL,
            PRIMARY KEY (index_version, source)
        )
        """,
        # A ledger from before publishing served its latest version to every reader: that version
        # stays the one served until the next publication.
        """
        INSERT INTO publications (index_version, published_at, published_by, how, gate)
        SELECT index_version, now(), 'corpusgov', 'upgrade', CAST('{}' AS JSON) FROM index_versions
        WHERE index_version = (SELECT max(index_version) FROM index_versions)
        """,
    ),
    (  # erasure: the audit row of each `corpusgov erase`, and the content it keeps out for good
        """
        CREATE TABLE IF NOT EXISTS erasures (
            erasure_id VARCHAR PRIMARY KEY,
            doc_id VARCHAR NOT NULL,
            erased_by VARCHAR NOT NULL,
            erased_at TIMESTAMPTZ NOT NULL,
            reason VARCHAR NOT NULL,
            completed_at TIMESTAMPTZ,
            certificate JSON NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS tombstones (
            content_hash VARCHAR PRIMARY KEY,
            erasure_id VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            released_at TIMESTAMPTZ,
            released_by VARCHAR
        )
        """,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def has_table(con: LedgerConnection, name: str) -> bool:
    # fetchall, not fetchone: a result left half-read blocks the connection's next statement.
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_name = ?",
        [name],
    ).fetchall()
    return bool(rows[0][0])


def has_column(con: LedgerConnection, table: str, column: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ? AND column_name = ?",
        [table, column],
    ).fetchall()
    return bool(rows[0][0])


def schema_version(con: LedgerConnection) -> int:
    """The ledger's version: 0 for a new file or one written before versioning."""
    if not has_table(con, "ledger_schema"):
        return 0
    rows = con.execute("SELECT max(version) FROM ledger_schema").fetchall()
    return int(rows[0][0]) if rows[0][0] is not None else 0


def require_known_version(version: int, where: str) -> None:
    if version > SCHEMA_VERSION:
        raise LedgerSchemaError(
            f"The ledger {where} has schema version {version}, written by a newer corpusgov; this "
            f"one knows up to version {SCHEMA_VERSION}. Upgrade corpusgov (make install on the newer "
            "release), or point data_dir in corpusgov.yaml at another folder."
        )


def rollback_quietly(con: LedgerConnection) -> None:
    """Roll back after a failure without hiding it: when the COMMIT itself failed (a full disk),
    DuckDB has already ended the transaction and ROLLBACK would raise "no transaction is active"
    over the error that matters; on PostgreSQL, a lost connection cannot roll back either."""
    try:
        con.execute("ROLLBACK")
    except (duckdb.Error, StorageError):
        pass


def migrate(con: LedgerConnection, where: str) -> int:
    """Bring the ledger on `con` (a write connection) to SCHEMA_VERSION; returns the version it
    had. Cheap when there is nothing to do: the version is read, nothing is written. Another
    process cannot migrate at the same time (DuckDB lets one process write a file); another
    connection of this one could, so each step re-reads the version inside its transaction."""
    found = schema_version(con)
    require_known_version(found, where)
    for version in range(found + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            if schema_version(con) < version:
                for statement in MIGRATIONS[version - 1]:
                    con.execute(statement)
                con.execute("INSERT INTO ledger_schema (version, applied_at) VALUES (?, now())", [version])
            con.execute("COMMIT")
        except BaseException:
            rollback_quietly(con)
            raise
    return found
