"""The ledger: the tables that account for every document, chunk and index version.

By default one DuckDB file in the data dir, which users query with plain SQL (`duckdb
data/ledger.duckdb`). DuckDB lets one process open a file for writing at a time, so every
connection here is short: open, do one thing, close. Readers retry briefly while an ingestion
commits instead of failing. With `ledger_url` the same tables live in PostgreSQL, which several
machines can share (pipelines/ledger/postgres.py).
"""

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.document.outcome import DocumentState
from pipelines.errors import IndexDamagedError, LedgerBusyError, StorageError, first_line
from pipelines.ledger.commits import LedgerWriter
from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.erasures import ErasureRow, erasures, release_tombstone, tombstoned, update_certificate
from pipelines.ledger.postgres import PostgresConnection, describe_url, upgrade_for_reading
from pipelines.ledger.records import (
    CommitIntent,
    DocumentRow,
    GateResult,
    IndexVersion,
    LedgerCommit,
    LedgerDocument,
    Publication,
    SourceStats,
    VersionCounts,
)
from pipelines.ledger.rows import first_record, insert_statement, named_rows, parameters, records, select_list
from pipelines.ledger.schema import (
    SCHEMA_VERSION,
    has_table,
    migrate,
    require_known_version,
    rollback_quietly,
    schema_version,
)

if TYPE_CHECKING:
    from pipelines.settings import Settings

__all__ = [
    "CommitIntent",
    "DocumentRow",
    "GateResult",
    "IndexVersion",
    "Ledger",
    "LedgerCommit",
    "LedgerDocument",
    "LedgerWriter",
    "Publication",
    "SourceStats",
    "VersionCounts",
]

_BUSY_RETRY_SECONDS = 30.0

logger = logging.getLogger(__name__)


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
    if "Permission denied" in message or "Read-only file system" in message:
        # Not damage: `doctor --repair` could do nothing about it.
        return StorageError(
            f"corpusgov may not use the ledger {path} ({first_line(message)}). Give it read and "
            "write access to the file and its folder, or point data_dir in corpusgov.yaml at a "
            "folder it can write, then run the command again."
        )
    if (
        isinstance(err, duckdb.IOException)
        or "not a valid DuckDB database" in message
        or "Corrupt database file" in message  # a block whose checksum does not match
    ):
        return IndexDamagedError(
            f"The ledger {path} cannot be read ({first_line(message)}). Restore it from a backup, "
            "or run `corpusgov doctor --repair` to set it aside and rebuild the ledger and the "
            "index from the sources."
        )
    return err


# Where DuckDB's blocks start: its file opens with three 4 KiB headers (BLOCK_START in its storage
# format), then blocks of `block_size` bytes.
_DUCKDB_HEADER_BYTES = 3 * 4096


def shortfall(con: LedgerConnection, path: Path) -> str | None:
    """How the DuckDB file at `path` falls short of the blocks its data fills, or None when it can
    hold them all. A file cut short (a copy or restore that stopped early, a truncated file) still
    opens and answers reads from its first blocks, so only this tells it from a whole one. The
    file may legitimately end before the header's last block (DuckDB trims free blocks at the
    end), so it is the used blocks that must fit."""
    row = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchone()
    if row is None:
        return None
    block_size, used = int(row[0]), int(row[1])
    size = path.stat().st_size
    held = max(size - _DUCKDB_HEADER_BYTES, 0) // block_size if block_size else used
    if held >= used:
        return None
    return f"the file is cut short: {size:,} bytes hold {held} of the {used} blocks its data fills"


def _cut_short(path: Path, problem: str) -> IndexDamagedError:
    return IndexDamagedError(
        f"The ledger {path} is damaged and cannot be used: {problem}. Restore it from a backup, or "
        "run `corpusgov doctor --repair` to set it aside and rebuild the ledger and the index "
        "from the sources."
    )


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def never_initialised(path: Path) -> bool:
    """An empty file with no write-ahead log to replay: what a first open leaves when the disk is
    full before DuckDB writes its header. It holds nothing, so it counts as no ledger at all."""
    try:
        if path.stat().st_size != 0:
            return False
    except FileNotFoundError:
        return False
    wal = _wal(path)
    return not wal.exists() or wal.stat().st_size == 0


def _remove_never_initialised(path: Path) -> None:
    """Remove the empty file a failed first open left, so that DuckDB creates the ledger afresh:
    DuckDB refuses to open an empty file. Only under the lock DuckDB itself takes, and only if it
    is still empty then, so a file another process is creating this instant is left alone. (The
    lock belongs to the process, so a connection this process itself is creating would not show;
    a file stays empty only for the instant DuckDB takes to write its header.)"""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a DuckDB process holds it: it is writing the header; the open below waits
        if (
            os.fstat(fd).st_size == 0
            and never_initialised(path)
            and os.stat(path).st_ino == os.fstat(fd).st_ino
        ):
            logger.warning("Replacing the empty ledger file %s a failed first run left", path)
            os.unlink(path)
            wal = _wal(path)
            if wal.exists() and wal.stat().st_size == 0:
                wal.unlink()
    finally:
        os.close(fd)


def _damaged(path: Path, err: Exception) -> IndexDamagedError:
    return IndexDamagedError(
        f"The ledger {path} cannot be opened ({first_line(str(err))}). Restore it from a backup, "
        "or run `corpusgov doctor --repair` to set it aside and rebuild from the sources."
    )


class Ledger:
    def __init__(self, path: Path, busy_retry_seconds: float | None = None, url: str | None = None) -> None:
        self.path = path
        self.url = url
        self.busy_retry_seconds = _BUSY_RETRY_SECONDS if busy_retry_seconds is None else busy_retry_seconds

    @classmethod
    def of(cls, settings: "Settings", busy_retry_seconds: float | None = None) -> "Ledger":
        """The ledger `settings` name: PostgreSQL at `ledger_url`, or the data dir's DuckDB file."""
        return cls(settings.ledger_path, busy_retry_seconds, settings.ledger_url)

    @property
    def location(self) -> str:
        """Where the ledger is, for messages: the file, or the database without its password."""
        return describe_url(self.url) if self.url else str(self.path)

    def exists(self) -> bool:
        """Has anything been recorded yet (a first run creates the ledger)."""
        if self.url is None:
            return self.path.exists() and not never_initialised(self.path)
        con = PostgresConnection(self.url, read_only=True)
        try:
            return has_table(con, "ledger_schema")
        finally:
            con.close()

    @contextmanager
    def connect(self, read_only: bool = False, as_found: bool = False) -> Iterator[LedgerConnection]:
        """A short connection to the ledger. A DuckDB file cut short is refused (IndexDamagedError),
        unless `as_found`: the file opened as it is, neither refused nor upgraded, for
        `corpusgov doctor` to survey what survives of it."""
        if self.url is not None:
            with self._connect_postgres(self.url, read_only) as con:
                yield con
            return
        on_file = not read_only or self.exists()
        if not on_file:
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
            if not read_only and never_initialised(self.path):
                _remove_never_initialised(self.path)
            con = self._connect_with_retry(read_only)
        try:
            if not as_found:
                problem = shortfall(con, self.path) if on_file else None
                if problem is not None:
                    raise _cut_short(self.path, problem)
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

    @contextmanager
    def _connect_postgres(self, url: str, read_only: bool) -> Iterator[LedgerConnection]:
        """A connection to the ledger in PostgreSQL; a write connection holds the write lock
        (pipelines/ledger/postgres.py) until it closes, as DuckDB's file lock does. A reader
        never waits: an older schema is upgraded only when the lock is free at once, and an
        empty database it cannot set up reads as an empty ledger, as a missing DuckDB file does."""
        con: LedgerConnection = PostgresConnection(url, read_only)
        try:
            if not read_only:
                assert isinstance(con, PostgresConnection)
                con.hold_write_lock(self.busy_retry_seconds)
                migrate(con, self.location)
            else:
                found = schema_version(con)
                require_known_version(found, self.location)
                if found < SCHEMA_VERSION and not upgrade_for_reading(url, self.location) and found == 0:
                    con.close()
                    con = _without_network(duckdb.connect(":memory:"))
                    migrate(con, "in memory")
            yield con
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
            logger.warning(
                "The ledger %s could not be upgraded for reading: %s", self.path, first_line(str(err))
            )
            return
        finally:
            con.close()

    @contextmanager
    def writer(self) -> Iterator["LedgerWriter"]:
        """The ledger's write connection, held for a whole commit (step 4 of the commit protocol
        in pipelines/index/commit_protocol.py): while it is open no other process can open the file,
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

    def documents(self, source: str | None = None) -> dict[str, LedgerDocument]:
        query = f"SELECT {select_list(LedgerDocument)} FROM documents"
        params: list[Any] = []
        if source is not None:
            query += " WHERE source = ?"
            params.append(source)
        with self.connect(read_only=True) as con:
            found = records(con, LedgerDocument, query, params)
        return {document.doc_id: document for document in found}

    def chunk_ids(self, doc_ids: list[str] | None = None) -> set[str]:
        with self.connect(read_only=True) as con:
            if doc_ids is None:
                rows = named_rows(con, "SELECT chunk_id FROM chunks")
            else:
                rows = named_rows(
                    con, "SELECT chunk_id FROM chunks WHERE list_contains(?, doc_id)", [doc_ids]
                )
        return {row["chunk_id"] for row in rows}

    def latest_index_version(self) -> IndexVersion | None:
        versions = self.index_versions(limit=1)
        return versions[0] if versions else None

    def index_versions(self, limit: int | None = None) -> list[IndexVersion]:
        query = f"SELECT {select_list(IndexVersion)} FROM index_versions ORDER BY index_version DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self.connect(read_only=True) as con:
            return records(con, IndexVersion, query)

    def publications(self) -> list[Publication]:
        """Every publication, the latest first: the first names the version RAG apps read."""
        with self.connect(read_only=True) as con:
            if not has_table(con, "publications"):  # an older ledger this reader could not upgrade
                return []
            return records(
                con,
                Publication,
                f"SELECT {select_list(Publication)} FROM publications ORDER BY published_at DESC",
            )

    def serving_version(self) -> IndexVersion | None:
        """The index version RAG apps read (the `serving` tag), None before any publication. An
        older ledger this reader could not upgrade serves its latest version, as it did."""
        with self.connect(read_only=True) as con:
            if not has_table(con, "publications"):
                return first_record(
                    con,
                    IndexVersion,
                    f"SELECT {select_list(IndexVersion)} FROM index_versions ORDER BY index_version DESC LIMIT 1",
                )
            # The latest publication decides, a withdrawal (no index version) included.
            return first_record(
                con,
                IndexVersion,
                f"SELECT {select_list(IndexVersion, 'v.')} FROM (SELECT index_version FROM publications "
                "ORDER BY published_at DESC LIMIT 1) p JOIN index_versions v USING (index_version)",
            )

    def version_stats(self, index_version: int) -> list[SourceStats]:
        """One index version's drift stats, by source (none for a version from before them)."""
        with self.connect(read_only=True) as con:
            if not has_table(con, "version_stats"):
                return []
            return records(
                con,
                SourceStats,
                f"SELECT {select_list(SourceStats)} FROM version_stats WHERE index_version = ? ORDER BY source",
                [index_version],
            )

    def gate_results(self, index_version: int | None = None) -> list[GateResult]:
        """Gate verdicts, the latest first (of one index version, if given)."""
        where, params = (
            ("WHERE index_version = ?", [index_version]) if index_version is not None else ("", [])
        )
        with self.connect(read_only=True) as con:
            if not has_table(con, "publication_gates"):
                return []
            return records(
                con,
                GateResult,
                f"SELECT {select_list(GateResult)} FROM publication_gates {where} ORDER BY evaluated_at DESC",
                params,
            )

    def record_gate(self, result: GateResult) -> None:
        with self.connect() as con:
            con.execute(insert_statement("publication_gates", GateResult), parameters(result))

    def state_counts(self) -> dict[str, int]:
        with self.connect(read_only=True) as con:
            rows = named_rows(con, "SELECT state, count(*) AS documents FROM documents GROUP BY state")
        counts = {state.value: 0 for state in DocumentState}
        counts.update({row["state"]: row["documents"] for row in rows})
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
            return [
                json.loads(found["row"])
                for found in named_rows(con, "SELECT row FROM near_duplicate_signatures")
            ]

    def self_output_rows(self) -> list[dict[str, Any]]:
        with self.connect(read_only=True) as con:
            return [
                json.loads(found["row"])
                for found in named_rows(con, "SELECT row FROM self_outputs ORDER BY output_id")
            ]

    def add_self_outputs(self, rows: list[dict[str, Any]], recheck_doc_ids: list[str]) -> None:
        """Register outputs; documents that reproduce one lose their processing key, so the next
        run labels them again."""
        now = datetime.now(UTC)
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            con.executemany(
                "INSERT INTO self_outputs (output_id, registered_at, row) VALUES (?, ?, ?) "
                "ON CONFLICT (output_id) DO UPDATE "
                "SET registered_at = excluded.registered_at, row = excluded.row",
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
            rows = named_rows(
                con, "SELECT doc_id, generation_depth FROM documents WHERE generation_depth > 0"
            )
        return {row["doc_id"]: row["generation_depth"] for row in rows}

    def reason_counts(self) -> dict[str, int]:
        """Reason codes of documents not indexed now, by how many documents carry each."""
        with self.connect(read_only=True) as con:
            rows = named_rows(
                con,
                "SELECT reason, count(*) AS documents FROM (SELECT unnest(reasons) AS reason FROM "
                "documents WHERE state <> 'indexed') AS not_indexed GROUP BY reason",
            )
        return {row["reason"]: row["documents"] for row in rows}

    def runs_in_a_row_with_reason(self, doc_id: str, content_hash: str, reason: str) -> int:
        """How many of the document's latest runs, on these bytes, recorded it with `reason`:
        its history rows with both, after the last row without the reason."""
        with self.connect(read_only=True) as con:
            (row,) = named_rows(
                con,
                """
                SELECT count(*) AS runs FROM document_versions v
                WHERE v.doc_id = ? AND v.content_hash = ? AND list_contains(v.reasons, ?)
                  AND NOT EXISTS (
                    SELECT 1 FROM document_versions o
                    WHERE o.doc_id = v.doc_id AND o.recorded_at > v.recorded_at
                      AND NOT list_contains(o.reasons, ?)
                  )
                """,
                [doc_id, content_hash, reason, reason],
            )
        return int(row["runs"])

    def document_rows(
        self, state: str | None = None, source: str | None = None, flag: str | None = None
    ) -> list[DocumentRow]:
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
        with self.connect(read_only=True) as con:
            return records(
                con,
                DocumentRow,
                f"SELECT {select_list(DocumentRow)} FROM documents {where} ORDER BY doc_id",
                params,
            )

    def commit(self, commit: LedgerCommit) -> None:
        """Apply one run atomically (a run that changes no index version)."""
        with self.writer() as writer:
            writer.commit(commit)

    def record_run_without_changes(
        self, run_id: str, started_at: datetime, sources: tuple[str, ...], summary: dict[str, Any]
    ) -> None:
        """A run that changed nothing but must be on record (it failed): alerts read it. A run
        that committed before it failed (a Dagster step after `chunk_index`, a kill just after
        the ledger commit) has its row already: the failure joins that row's summary, so it
        alerts once, under the same run id."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                found = named_rows(con, "SELECT summary FROM ingestion_runs WHERE run_id = ?", [run_id])
                if not found:
                    con.execute(
                        "INSERT INTO ingestion_runs (run_id, started_at, finished_at, sources, "
                        "index_version, summary) VALUES (?, ?, ?, ?, ?, ?)",
                        [run_id, started_at, datetime.now(UTC), list(sources), None, json.dumps(summary)],
                    )
                else:
                    stored = found[0]["summary"]
                    merged = {**(json.loads(stored) if isinstance(stored, str) else stored or {})}
                    merged.setdefault("failed", summary.get("failed"))
                    con.execute(
                        "UPDATE ingestion_runs SET summary = ? WHERE run_id = ?", [json.dumps(merged), run_id]
                    )
                con.execute("COMMIT")
            except BaseException:
                rollback_quietly(con)
                raise

    def commit_intent(self) -> "CommitIntent | None":
        """The write a process started and did not finish, if any (see pipelines/index/commit_protocol.py)."""
        with self.connect(read_only=True) as con:
            if not has_table(con, "commit_intents"):  # an older ledger this reader could not upgrade
                return None
            return first_record(
                con,
                CommitIntent,
                f"SELECT {select_list(CommitIntent)} FROM commit_intents ORDER BY started_at DESC LIMIT 1",
            )

    def forget_index_contents(self) -> int:
        """Before a rebuild of a lost index: no chunk is indexed any more, every indexed document
        loses its processing key so the next run embeds it again, and what was served is
        withdrawn until the rebuild is published. History stays. Returns how many documents will
        be re-indexed."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                (indexed,) = named_rows(
                    con, "SELECT count(*) AS documents FROM documents WHERE state = 'indexed'"
                )
                con.execute("UPDATE documents SET config_hash = NULL WHERE state = 'indexed'")
                con.execute("DELETE FROM chunks")
                con.execute("DELETE FROM commit_intents")
                withdrawal = Publication(None, datetime.now(UTC), "corpusgov doctor", "withdrawn", {})
                con.execute(insert_statement("publications", Publication), parameters(withdrawal))
                con.execute("COMMIT")
            except BaseException:
                rollback_quietly(con)
                raise
        return int(indexed["documents"])

    def clear_commit_intent(self) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM commit_intents")

    # --- erasure (pipelines/governance/erasure.py; the statements in pipelines/ledger/erasures.py) ---

    def content_hashes_of(self, doc_id: str) -> list[str]:
        """Every content hash the document ever had: the bytes an erasure keeps out for good."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT DISTINCT content_hash FROM document_versions WHERE doc_id = ? AND content_hash IS NOT NULL "
                "UNION SELECT content_hash FROM documents WHERE doc_id = ? AND content_hash IS NOT NULL",
                [doc_id, doc_id],
            ).fetchall()
        return sorted({row[0] for row in rows})

    def eval_items_citing(self, chunk_ids: list[str]) -> list[dict[str, str]]:
        """Eval items whose gold, as last resolved, cites one of `chunk_ids` (the eval set file is
        the user's to edit)."""
        if not chunk_ids:
            return []
        with self.connect(read_only=True) as con:
            rows = named_rows(
                con,
                "SELECT DISTINCT v.eval_set, r.item_id FROM eval_item_resolutions r "
                "JOIN eval_set_versions v USING (version_hash) "
                "WHERE EXISTS (SELECT 1 FROM unnest(r.gold_chunk_ids) AS g(chunk_id) WHERE list_contains(?, g.chunk_id)) "
                "ORDER BY 1, 2",
                [chunk_ids],
            )
        return [{"eval_set": row["eval_set"], "item_id": row["item_id"]} for row in rows]

    def mark_results_on_rewritten(self, index_versions: list[int], reason: str) -> int:
        """Eval results measured on index versions an erasure rewrote: superseded, so no
        comparison takes them as measured on what the version holds now."""
        if not index_versions:
            return 0
        with self.connect() as con:
            (row,) = con.execute(
                "SELECT count(*) FROM eval_results WHERE list_contains(?, index_version) AND superseded_reason IS NULL",
                [index_versions],
            ).fetchall()
            con.execute(
                "UPDATE eval_results SET superseded_reason = ? "
                "WHERE list_contains(?, index_version) AND superseded_reason IS NULL",
                [reason, index_versions],
            )
        return int(row[0])

    def update_erasure_certificate(self, erasure_id: str, certificate: dict[str, Any]) -> None:
        with self.connect() as con:
            update_certificate(con, erasure_id, certificate, None)

    def finish_erasure(self, erasure_id: str, certificate: dict[str, Any], at: datetime) -> None:
        with self.connect() as con:
            update_certificate(con, erasure_id, certificate, at)

    def erasures(self) -> list[ErasureRow]:
        with self.connect(read_only=True) as con:
            if not has_table(con, "erasures"):
                return []
            return erasures(con)

    def tombstoned(self) -> set[str]:
        with self.connect(read_only=True) as con:
            if not has_table(con, "tombstones"):
                return set()
            return tombstoned(con)

    def release_tombstone(self, content_hash: str, by: str) -> bool:
        with self.connect() as con:
            return release_tombstone(con, content_hash, by, datetime.now(UTC))

    def rewrite_file(self) -> None:
        """Write the DuckDB file afresh, holding only live rows: a deleted or overwritten value can
        survive in a database file's free blocks. Nothing to do on PostgreSQL here (the
        certificate says to vacuum it)."""
        if self.url is not None or not self.path.exists():
            return
        fresh = self.path.with_name(self.path.name + ".rewrite")
        fresh.unlink(missing_ok=True)
        with self.connect() as con:
            con.execute("CHECKPOINT")
            (name,) = con.execute("SELECT current_database()").fetchall()[0]
            con.execute(f"ATTACH '{fresh}' AS rewritten")
            try:
                con.execute(f'COPY FROM DATABASE "{name}" TO rewritten')
            finally:
                con.execute("DETACH rewritten")
        os.replace(fresh, self.path)
