"""The ledger: one DuckDB file that accounts for every document, chunk and index version.

Users query it with plain SQL (`duckdb data/ledger.duckdb`). DuckDB lets one process open a file
for writing at a time, so every connection here is short: open, do one thing, close. Readers retry
briefly while an ingestion commits instead of failing.
"""

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from corpus_quality.near_duplicates import FINGERPRINT_VERSION
from pipelines.documents import DocumentOutcome, DocumentState
from pipelines.errors import IndexDamagedError, LedgerBusyError, StorageError, first_line
from pipelines.ledger.run_tables import (
    assessments_table,
    chunks_table,
    documents_table,
    signatures_table,
)
from pipelines.ledger.schema import (
    SCHEMA_VERSION,
    has_table,
    migrate,
    require_known_version,
    rollback_quietly,
    schema_version,
)
from pipelines.stop_points import stop_point

_BUSY_RETRY_SECONDS = 30.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerDocument:
    """A document's current row."""

    doc_id: str
    source: str
    path: str
    state: DocumentState
    reasons: tuple[str, ...]
    content_hash: str | None
    config_hash: str | None
    grade: str | None
    provenance: str | None
    contract_version: str | None
    chunk_count: int


@dataclass(frozen=True)
class IndexVersion:
    """One commit of the LanceDB table, with its manifest."""

    index_version: int
    lance_version: int
    tag: str
    created_at: datetime
    config_hash: str
    embedding_model: str
    added: tuple[str, ...]
    modified: tuple[str, ...]
    removed: tuple[str, ...]
    chunks_added: int
    chunks_removed: int
    total_chunks: int
    counts: dict[str, Any]
    contract_versions: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "index_version": self.index_version,
            "lance_version": self.lance_version,
            "tag": self.tag,
            "created_at": self.created_at.isoformat(),
            "config_hash": self.config_hash,
            "embedding_model": self.embedding_model,
            "added": list(self.added),
            "modified": list(self.modified),
            "removed": list(self.removed),
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "total_chunks": self.total_chunks,
            "counts": self.counts,
            "contract_versions": self.contract_versions,
        }


@dataclass(frozen=True)
class LedgerCommit:
    """Everything one run writes, applied in one transaction."""

    run_id: str
    started_at: datetime
    sources: tuple[str, ...]
    outcomes: tuple[DocumentOutcome, ...]
    index_version: IndexVersion | None
    summary: dict[str, Any]
    # Changes of sources over their error budget: recorded for people, not applied.
    held_back: tuple[DocumentOutcome, ...] = ()


@dataclass(frozen=True)
class CommitIntent:
    """A write that started (step 4 of the commit protocol) and has not committed yet."""

    run_id: str
    kind: str  # ingestion | rollback | cleanup
    base_lance_version: int | None
    started_at: datetime


class LedgerWriter:
    """The held write connection of one commit (see `Ledger.writer`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def record_intent(self, run_id: str, kind: str, base_lance_version: int | None) -> None:
        """Written before LanceDB is touched; deleted by the transaction that commits the run."""
        self.con.execute("DELETE FROM commit_intents")
        self.con.execute(
            "INSERT INTO commit_intents VALUES (?, ?, ?, ?)",
            [run_id, kind, base_lance_version, datetime.now(UTC)],
        )

    def commit(self, commit: LedgerCommit) -> None:
        Ledger._apply_commit(self.con, commit)  # noqa: SLF001 - the writer is the ledger's own

    def apply_rollback(
        self, version: IndexVersion, restored: pa.Table, run_id: str, reason: str
    ) -> None:
        Ledger._apply_rollback(self.con, version, restored, run_id, reason)  # noqa: SLF001


def _insert_run_rows(
    con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table, statement: str,
    params: dict[str, Any] | None = None,
) -> None:
    """Run `statement` over `rows` registered as `name`, then let go of them."""
    con.register(name, rows)
    try:
        con.execute(statement, params)
    finally:
        con.unregister(name)


def _without_network(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Never fetch extensions from the network: DuckDB would try to download them.
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET autoload_known_extensions=false")
    return con


def _is_lock_conflict(message: str) -> bool:
    return "lock" in message.lower() and "conflicting" in message.lower() or "Could not set lock" in message


def _storage_error(path: Path, err: Exception) -> Exception:
    """A DuckDB failure as the one-line error a person can act on."""
    message = str(err)
    if "No space left on device" in message:
        return StorageError(
            f"The disk holding the ledger {path} is full ({first_line(message)}). Free space and "
            "run the command again: nothing of this run was committed."
        )
    if isinstance(err, duckdb.IOException) or "not a valid DuckDB database" in message:
        return IndexDamagedError(
            f"The ledger {path} cannot be read ({first_line(message)}). Restore it from a backup, "
            "or run `corpusgov doctor --repair` to set it aside and rebuild the ledger and the "
            "index from the sources."
        )
    return err


def _damaged(path: Path, err: Exception) -> IndexDamagedError:
    return IndexDamagedError(
        f"The ledger {path} cannot be opened ({first_line(str(err))}). Restore it from a backup, "
        "or run `corpusgov doctor --repair` to set it aside and rebuild from the sources."
    )


def fetch_records(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Ledger:
    def __init__(self, path: Path, busy_retry_seconds: float | None = None) -> None:
        self.path = path
        self.busy_retry_seconds = _BUSY_RETRY_SECONDS if busy_retry_seconds is None else busy_retry_seconds

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not self.path.exists():
            # Nothing ingested yet: an empty in-memory ledger answers every read the same way.
            con = _without_network(duckdb.connect(":memory:"))
            migrate(con, "in memory")
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StorageError(
                    f"Cannot create the data dir {self.path.parent}: {err.strerror or err}. Point "
                    "data_dir in corpusgov.yaml (or CORPUSGOV_DATA_DIR) at a folder you can write."
                ) from err
            con = self._connect_with_retry(read_only)
        try:
            if not read_only:
                migrate(con, str(self.path))
            else:
                found = schema_version(con)
                require_known_version(found, str(self.path))
                if found < SCHEMA_VERSION:
                    con.close()  # one process cannot hold a file read-only and writable at once
                    self._upgrade_for_reading()
                    con = self._connect_with_retry(read_only)
            yield con
        except duckdb.Error as err:
            mapped = _storage_error(self.path, err)
            if mapped is err:
                raise
            raise mapped from err
        finally:
            con.close()

    def _upgrade_for_reading(self) -> None:
        """Upgrade a ledger an older corpusgov wrote, for a reader: one try, no waiting. When the
        file cannot be written (a read-only mount, another reader holding it), the read goes on
        against the older schema, never a "damaged ledger" error; the next write upgrades it."""
        try:
            con = _without_network(duckdb.connect(str(self.path)))
        except (duckdb.Error, OSError):
            return
        try:
            migrate(con, str(self.path))
        except duckdb.Error as err:
            logger.warning("The ledger %s could not be upgraded for reading: %s", self.path, first_line(str(err)))
            return
        finally:
            con.close()

    @contextmanager
    def writer(self) -> Iterator["LedgerWriter"]:
        """The ledger's write connection, held for a whole commit (step 4 of the commit protocol
        in pipelines/commit_protocol.py): while it is open no other process can open the file,
        so a reader that holds it stops the run before LanceDB is touched."""
        with self.connect() as con:
            yield LedgerWriter(con)

    def _connect_with_retry(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_retry_seconds
        while True:
            try:
                return _without_network(duckdb.connect(str(self.path), read_only=read_only))
            except duckdb.IOException as err:
                message = str(err)
                if _is_lock_conflict(message):
                    if time.monotonic() <= deadline:
                        time.sleep(0.2)
                        continue
                    raise LedgerBusyError(
                        f"The ledger {self.path} is locked by another process ({first_line(message)}). "
                        "Close other sessions on it (a duckdb shell, a notebook) or wait for the "
                        "running ingestion to finish, then retry."
                    ) from err
                raise _storage_error(self.path, err) from err
            except duckdb.Error as err:
                mapped = _storage_error(self.path, err)
                raise (mapped if mapped is not err else _damaged(self.path, err)) from err

    def records(self, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a read query as dicts keyed by column name (for JSON output and reports)."""
        with self.connect(read_only=True) as con:
            return fetch_records(con, query, params)

    def documents(self, source: str | None = None) -> dict[str, LedgerDocument]:
        query = (
            "SELECT doc_id, source, path, state, reasons, content_hash, config_hash, grade, "
            "provenance, contract_version, chunk_count FROM documents"
        )
        params: list[Any] = []
        if source is not None:
            query += " WHERE source = ?"
            params.append(source)
        with self.connect(read_only=True) as con:
            rows = con.execute(query, params).fetchall()
        return {
            r[0]: LedgerDocument(
                doc_id=r[0], source=r[1], path=r[2], state=DocumentState(r[3]),
                reasons=tuple(r[4]), content_hash=r[5], config_hash=r[6], grade=r[7],
                provenance=r[8], contract_version=r[9], chunk_count=r[10] or 0,
            )
            for r in rows
        }

    def chunk_ids(self, doc_ids: list[str] | None = None) -> set[str]:
        with self.connect(read_only=True) as con:
            if doc_ids is None:
                rows = con.execute("SELECT chunk_id FROM chunks").fetchall()
            else:
                rows = con.execute(
                    "SELECT chunk_id FROM chunks WHERE list_contains(?, doc_id)", [doc_ids]
                ).fetchall()
        return {r[0] for r in rows}

    def latest_index_version(self) -> IndexVersion | None:
        versions = self.index_versions(limit=1)
        return versions[0] if versions else None

    def index_versions(self, limit: int | None = None) -> list[IndexVersion]:
        query = (
            "SELECT index_version, lance_version, tag, created_at, config_hash, embedding_model, "
            "added, modified, removed, chunks_added, chunks_removed, total_chunks, counts, "
            "contract_versions FROM index_versions ORDER BY index_version DESC"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.connect(read_only=True) as con:
            rows = con.execute(query).fetchall()
        return [
            IndexVersion(
                index_version=r[0], lance_version=r[1], tag=r[2], created_at=r[3],
                config_hash=r[4], embedding_model=r[5], added=tuple(r[6]), modified=tuple(r[7]),
                removed=tuple(r[8]), chunks_added=r[9], chunks_removed=r[10], total_chunks=r[11],
                counts=json.loads(r[12]), contract_versions=json.loads(r[13]),
            )
            for r in rows
        ]

    def state_counts(self) -> dict[str, int]:
        with self.connect(read_only=True) as con:
            rows = con.execute("SELECT state, count(*) FROM documents GROUP BY state").fetchall()
        counts = {state.value: 0 for state in DocumentState}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def move_index_version(self, index_version: int, lance_version: int) -> None:
        """After compaction: the same content now sits at another LanceDB version."""
        with self.connect() as con:
            con.execute(
                "UPDATE index_versions SET lance_version = ? WHERE index_version = ?",
                [lance_version, index_version],
            )

    def near_duplicate_rows(self) -> list[dict[str, Any]]:
        with self.connect(read_only=True) as con:
            return [json.loads(r[0]) for r in con.execute("SELECT row FROM near_duplicate_signatures").fetchall()]

    def self_output_rows(self) -> list[dict[str, Any]]:
        with self.connect(read_only=True) as con:
            return [json.loads(r[0]) for r in con.execute("SELECT row FROM self_outputs ORDER BY output_id").fetchall()]

    def add_self_outputs(self, rows: list[dict[str, Any]], recheck_doc_ids: list[str]) -> None:
        """Register outputs; documents that reproduce one lose their processing key, so the next
        run labels them again."""
        now = datetime.now(UTC)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            con.executemany(
                "INSERT OR REPLACE INTO self_outputs VALUES (?, ?, ?)",
                [[row["output_id"], now, json.dumps(row)] for row in rows],
            )
            if recheck_doc_ids:
                con.execute(
                    "UPDATE documents SET config_hash = NULL WHERE list_contains(?, doc_id)",
                    [recheck_doc_ids],
                )
            con.execute("COMMIT")

    def generation_depths(self) -> dict[str, int]:
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT doc_id, generation_depth FROM documents WHERE generation_depth > 0"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def reason_counts(self) -> dict[str, int]:
        """Reason codes of documents not indexed now, by how many documents carry each."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT reason, count(*) FROM (SELECT unnest(reasons) AS reason FROM documents "
                "WHERE state <> 'indexed') GROUP BY reason"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def document_rows(
        self, state: str | None = None, source: str | None = None, flag: str | None = None
    ) -> list[dict[str, Any]]:
        """Current document rows for people and JSON output, ordered by doc id."""
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if source is not None:
            clauses.append("source = ?")
            params.append(source)
        if flag is not None:
            clauses.append("list_contains(safety_flags, ?)")
            params.append(flag)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self.records(
            "SELECT doc_id, source, path, state, reasons, detail, content_hash, grade, "
            "quality_score, provenance, safety_flags, contract_id, contract_version, chunk_count "
            f"FROM documents {where} ORDER BY doc_id",
            params,
        )

    def commit(self, commit: LedgerCommit) -> None:
        """Apply one run atomically (a run that changes no index version)."""
        with self.writer() as writer:
            writer.commit(commit)

    def record_run_without_changes(
        self, run_id: str, started_at: datetime, sources: tuple[str, ...], summary: dict[str, Any]
    ) -> None:
        """A run that changed nothing but must be on record (it failed): alerts read it."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO ingestion_runs VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [run_id, started_at, datetime.now(UTC), list(sources), None,
                 json.dumps(summary)],
            )

    def commit_intent(self) -> "CommitIntent | None":
        """The write a process started and did not finish, if any (see pipelines/commit_protocol.py)."""
        with self.connect(read_only=True) as con:
            if not has_table(con, "commit_intents"):  # an older ledger this reader could not upgrade
                return None
            row = con.execute(
                "SELECT run_id, kind, base_lance_version, started_at FROM commit_intents "
                "ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
        return CommitIntent(*row) if row else None

    def forget_index_contents(self) -> int:
        """Before a rebuild of a lost index: no chunk is indexed any more, and every indexed
        document loses its processing key so the next run embeds it again. History stays.
        Returns how many documents will be re-indexed."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                row = con.execute("SELECT count(*) FROM documents WHERE state = 'indexed'").fetchone()
                con.execute("UPDATE documents SET config_hash = NULL WHERE state = 'indexed'")
                con.execute("DELETE FROM chunks")
                con.execute("DELETE FROM commit_intents")
                con.execute("COMMIT")
            except BaseException:
                rollback_quietly(con)
                raise
        return int(row[0]) if row else 0

    def clear_commit_intent(self) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM commit_intents")

    @staticmethod
    def _apply_commit(con: duckdb.DuckDBPyConnection, commit: LedgerCommit) -> None:
        """Apply one run atomically: document rows, their history, chunks, the index version.

        Rows go in as Arrow tables (pipelines/ledger/run_tables.py) in a few set-based statements:
        row-by-row inserts would cost seconds on a large first ingest. Each table is built just
        before its statement and dropped after it, so a large run never holds them all at once.
        """
        now = datetime.now(UTC)
        index_version = commit.index_version.index_version if commit.index_version else None
        outcomes = commit.outcomes
        con.register("run_documents", documents_table(outcomes))
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                """
                CREATE TEMP TABLE run_first_seen AS
                SELECT r.doc_id, coalesce(d.first_seen, $now) AS first_seen
                FROM run_documents r LEFT JOIN documents d USING (doc_id)
                """,
                {"now": now},
            )
            con.execute("DELETE FROM documents WHERE doc_id IN (SELECT doc_id FROM run_documents)")
            con.execute(
                """
                INSERT INTO documents
                SELECT r.doc_id, r.source, r.path, r.state, r.reasons, r.detail, r.content_hash,
                       r.mime_type, r.size, r.title, r.language, r.contract_id, r.contract_version,
                       r.config_hash, r.grade, r.quality_score, r.provenance,
                       r.provenance_confidence, r.safety_flags, r.chunk_count,
                       r.generation_depth, r.derived_from, f.first_seen, $now, $index_version
                FROM run_documents r JOIN run_first_seen f USING (doc_id)
                """,
                {"now": now, "index_version": index_version},
            )
            con.execute(
                """
                INSERT INTO document_versions
                SELECT doc_id, $now, $run_id, $index_version, content_hash, state, reasons,
                       grade, provenance, contract_version
                FROM run_documents
                """,
                {"now": now, "run_id": commit.run_id, "index_version": index_version},
            )
            _insert_run_rows(
                con, "run_assessments", assessments_table(outcomes),
                """
                INSERT INTO assessments
                SELECT doc_id, content_hash, $now, quality_signals::JSON, quality_score, grade,
                       route, quality_reasons, provenance, digital_source_type,
                       provenance_confidence, provenance_evidence::JSON, safety::JSON,
                       declared_metadata::JSON
                FROM run_assessments
                """,
                {"now": now},
            )
            Ledger._update_quarantine(con, now, commit.sources)
            # The corpus a new document is compared with: indexed documents only.
            con.execute(
                "DELETE FROM near_duplicate_signatures WHERE doc_id IN (SELECT doc_id FROM run_documents)"
            )
            _insert_run_rows(
                con, "run_signatures", signatures_table(outcomes),
                "INSERT INTO near_duplicate_signatures SELECT doc_id, "
                "json_object('doc_id', doc_id, 'fingerprint_version', $version, 'signature', "
                "signature) FROM run_signatures",
                {"version": FINGERPRINT_VERSION},
            )
            con.execute("DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM run_documents)")
            _insert_run_rows(
                con, "run_chunks", chunks_table(outcomes),
                "INSERT INTO chunks SELECT chunk_id, doc_id, ordinal, chars FROM run_chunks",
            )
            if commit.index_version is not None:
                Ledger._write_index_version(con, commit.index_version, commit.run_id)
            con.execute(
                "INSERT INTO ingestion_runs VALUES (?, ?, ?, ?, ?, ?)",
                [commit.run_id, commit.started_at, now, list(commit.sources), index_version,
                 json.dumps(commit.summary)],
            )
            # A source's held-back changes are those of its latest run; a run that lets them
            # through clears them.
            con.execute(
                "DELETE FROM held_back WHERE list_contains($sources, source)",
                {"sources": list(commit.sources)},
            )
            if commit.held_back:
                con.executemany(
                    "INSERT INTO held_back VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[o.doc_id, o.source, commit.run_id, now, o.state.value, list(o.reasons),
                      o.detail, o.contract_id, o.contract_version] for o in commit.held_back],
                )
            # The intent of this run is done when the run is: same transaction.
            con.execute("DELETE FROM commit_intents")
            stop_point("commit.before_ledger_commit")
            con.execute("COMMIT")
        except BaseException:
            rollback_quietly(con)
            raise
        finally:
            con.unregister("run_documents")

    @staticmethod
    def _update_quarantine(
        con: duckdb.DuckDBPyConnection, now: datetime, sources: tuple[str, ...]
    ) -> None:
        """Quarantined documents of this run enter (or stay, keeping first_seen); the others leave."""
        con.execute(
            """
            DELETE FROM quarantine WHERE doc_id IN (
                SELECT doc_id FROM run_documents WHERE state <> 'quarantined')
            """
        )
        con.execute(
            """
            INSERT INTO quarantine
            SELECT r.doc_id, r.source, r.reasons, r.contract_id, r.contract_version,
                   r.content_hash, coalesce(q.first_seen, $now), $now
            FROM run_documents r LEFT JOIN quarantine q USING (doc_id)
            WHERE r.state = 'quarantined'
            ON CONFLICT (doc_id) DO UPDATE SET reasons = excluded.reasons,
                contract_id = excluded.contract_id, contract_version = excluded.contract_version,
                content_hash = excluded.content_hash, last_seen = excluded.last_seen
            """,
            {"now": now},
        )
        # Still quarantined and looked at again this run (unchanged files are not re-processed).
        con.execute(
            "UPDATE quarantine SET last_seen = $now WHERE list_contains($sources, source)",
            {"now": now, "sources": list(sources)},
        )

    def quarantine_rows(self, source: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        return self.records(
            "SELECT doc_id, source, reasons, contract_id, contract_version, content_hash, "
            f"first_seen, last_seen FROM quarantine {where} ORDER BY doc_id",
            params,
        )

    def held_back_rows(self, source: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        return self.records(
            "SELECT doc_id, source, run_id, recorded_at, would_be, reasons, detail, contract_id, "
            f"contract_version FROM held_back {where} ORDER BY source, doc_id",
            params,
        )

    def quarantined_document(self, doc_id: str) -> dict[str, Any] | None:
        """The quarantine row with the latest assessment and every release, for `quarantine show`."""
        with self.connect(read_only=True) as con:
            cursor = con.execute(
                "SELECT q.doc_id, q.source, d.path, q.reasons, d.detail, q.contract_id, "
                "q.contract_version, q.content_hash, q.first_seen, q.last_seen, d.grade, "
                "d.quality_score, d.provenance, d.safety_flags FROM quarantine q "
                "JOIN documents d USING (doc_id) WHERE q.doc_id = ?",
                [doc_id],
            )
            row = cursor.fetchone()
            if row is None:
                return None
            result = dict(zip([d[0] for d in cursor.description], row, strict=True))
            assessment = con.execute(
                "SELECT quality_signals, quality_reasons, provenance_evidence, safety, "
                "declared_metadata FROM assessments WHERE doc_id = ? AND content_hash IS NOT "
                "DISTINCT FROM ? ORDER BY recorded_at DESC LIMIT 1",
                [doc_id, result["content_hash"]],
            ).fetchone()
            if assessment is not None:
                result["quality_signals"] = json.loads(assessment[0]) if assessment[0] else {}
                result["quality_reasons"] = list(assessment[1] or [])
                result["provenance_evidence"] = json.loads(assessment[2]) if assessment[2] else []
                result["safety"] = json.loads(assessment[3]) if assessment[3] else []
                result["declared_metadata"] = json.loads(assessment[4]) if assessment[4] else {}
            result["releases"] = self._releases(con, doc_id)
            return result

    @staticmethod
    def _releases(con: duckdb.DuckDBPyConnection, doc_id: str) -> list[dict[str, Any]]:
        return fetch_records(
            con,
            "SELECT content_hash, contract_version, reasons, released_at, released_by, "
            "release_reason FROM quarantine_releases WHERE doc_id = ? ORDER BY released_at",
            [doc_id],
        )

    def record_release(self, doc_id: str, released_by: str, reason: str) -> dict[str, Any]:
        """A recorded override: the document re-enters on the next run, for these exact bytes
        under this contract version. Changing either makes the override lapse."""
        now = datetime.now(UTC)
        with self.connect() as con:
            row = con.execute(
                "SELECT content_hash, contract_version, reasons FROM quarantine WHERE doc_id = ?",
                [doc_id],
            ).fetchone()
            if row is None:
                return {}
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO quarantine_releases VALUES (?, ?, ?, ?, ?, ?, ?)",
                [doc_id, row[0], row[1], row[2], now, released_by, reason],
            )
            # Forget the processing key so the next run looks at the document again.
            con.execute("UPDATE documents SET config_hash = NULL WHERE doc_id = ?", [doc_id])
            con.execute("COMMIT")
        return {"doc_id": doc_id, "content_hash": row[0], "contract_version": row[1],
                "overridden_reasons": list(row[2]), "released_at": now.isoformat(),
                "released_by": released_by, "release_reason": reason}

    def releases_in_force(self) -> dict[str, tuple[str | None, str | None]]:
        """doc_id -> (content_hash, contract_version) of its latest release."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT doc_id, arg_max(content_hash, released_at), "
                "arg_max(contract_version, released_at) FROM quarantine_releases GROUP BY doc_id"
            ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    @staticmethod
    def _apply_rollback(
        con: duckdb.DuckDBPyConnection,
        version: IndexVersion,
        restored: pa.Table,
        run_id: str,
        reason: str,
    ) -> None:
        """Make document states and chunks match a restored index, as one new index version.

        Documents back in the index are `indexed`; documents that left it are held as
        `quarantined` with `reason`. Both lose their processing key, so the next ingestion looks
        at them again against the sources as they are then.
        """
        now = datetime.now(UTC)
        con.register("restored", restored)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                """
                CREATE TEMP TABLE restored_docs AS
                SELECT doc_id, any_value(content_hash) AS content_hash, any_value(grade) AS grade,
                       any_value(provenance) AS provenance, count(*) AS chunk_count
                FROM restored GROUP BY doc_id
                """
            )
            con.execute(
                """
                CREATE TEMP TABLE left_index AS
                SELECT doc_id FROM documents WHERE state = 'indexed'
                AND doc_id NOT IN (SELECT doc_id FROM restored_docs)
                """
            )
            con.execute(
                """
                UPDATE documents SET state = 'indexed', reasons = [], detail = NULL,
                    content_hash = r.content_hash, grade = r.grade, provenance = r.provenance,
                    chunk_count = r.chunk_count, config_hash = NULL, last_changed = $now,
                    index_version = $version
                FROM restored_docs r WHERE documents.doc_id = r.doc_id
                """,
                {"now": now, "version": version.index_version},
            )
            con.execute(
                """
                UPDATE documents SET state = 'quarantined', reasons = [$reason],
                    detail = 'left the index in a rollback', chunk_count = 0,
                    config_hash = NULL, last_changed = $now, index_version = $version
                WHERE doc_id IN (SELECT doc_id FROM left_index)
                """,
                {"now": now, "version": version.index_version, "reason": reason},
            )
            con.execute(
                """
                INSERT INTO document_versions
                SELECT doc_id, $now, $run_id, $version, content_hash, state, reasons, grade,
                       provenance, contract_version
                FROM documents WHERE index_version = $version AND last_changed = $now
                """,
                {"now": now, "run_id": run_id, "version": version.index_version},
            )
            con.execute("DELETE FROM quarantine WHERE doc_id IN (SELECT doc_id FROM restored_docs)")
            con.execute(
                """
                INSERT OR REPLACE INTO quarantine
                SELECT doc_id, source, reasons, contract_id, contract_version, content_hash,
                       $now, $now FROM documents WHERE doc_id IN (SELECT doc_id FROM left_index)
                """,
                {"now": now},
            )
            con.execute("DELETE FROM chunks")
            con.execute(
                "INSERT INTO chunks SELECT chunk_id, doc_id, ordinal, length(text) FROM restored"
            )
            by_state = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY 1").fetchall())
            by_grade = dict(con.execute("SELECT coalesce(grade, 'none'), count(*) FROM restored_docs GROUP BY 1").fetchall())
            by_provenance = dict(con.execute("SELECT coalesce(provenance, 'unknown'), count(*) FROM restored_docs GROUP BY 1").fetchall())
            counts = {**version.counts, "by_state": by_state, "by_grade": by_grade,
                      "by_provenance": by_provenance}
            Ledger._write_index_version(con, replace(version, counts=counts), run_id)
            con.execute(
                "INSERT INTO ingestion_runs VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, now, now, [], version.index_version,
                 json.dumps({"rollback": version.counts})],
            )
            con.execute("DELETE FROM commit_intents")
            con.execute("COMMIT")
        except BaseException:
            rollback_quietly(con)
            raise

    @staticmethod
    def _write_index_version(
        con: duckdb.DuckDBPyConnection, v: IndexVersion, run_id: str
    ) -> None:
        con.execute(
            "INSERT INTO index_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [v.index_version, v.lance_version, v.tag, v.created_at, run_id, v.config_hash,
             v.embedding_model, list(v.added), list(v.modified), list(v.removed), v.chunks_added,
             v.chunks_removed, v.total_chunks, json.dumps(v.counts),
             json.dumps(v.contract_versions)],
        )
