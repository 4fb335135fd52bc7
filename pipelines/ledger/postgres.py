"""The ledger in PostgreSQL, for a deployment whose machines share it (`ledger_url`).

The ledger's statements are written once, in SQL that DuckDB and PostgreSQL both accept (ON
CONFLICT upserts, DISTINCT ON, array_agg, unnest). `PostgresConnection` answers the calls the
ledger makes on a DuckDB connection (`execute`, `executemany`, `fetchall`, `register` of an Arrow
table) and bridges the few spellings that differ:

- placeholders: `?` and `$name` become psycopg2's `%s` and `%(name)s`;
- `list_contains(list, x)` becomes `x = ANY(list)`, `json_object` becomes `json_build_object`,
  and the column type `DOUBLE` becomes `DOUBLE PRECISION`;
- a registered Arrow table becomes a temporary table of the connection, filled in pages.

JSON columns come back as text, as DuckDB returns them, so the readers parse them one way.

Writers: DuckDB lets one process write its file at a time, and the ledger relies on that (a
commit's writes, a read-then-write of an eval). Here every write connection holds a session
advisory lock instead, `WRITE_LOCK`, so writers on any machine take turns the same way; readers
never wait (PostgreSQL's snapshots). A killed writer's lock goes with its connection. The locks
are session locks: point ledger_url at PostgreSQL itself or at a pooler in session mode, never at
one in transaction mode (PgBouncer's `pool_mode = transaction`), which would hand them to others.
"""

import logging
import re
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from pipelines.errors import ConfigError, LedgerBusyError, StorageError, first_line
from pipelines.ledger.schema import migrate

logger = logging.getLogger(__name__)

# Fixed 64-bit keys of advisory locks: every ledger write connection holds WRITE_LOCK; a whole
# ingestion or rollback holds INGESTION_LOCK, the shared ledger's side of the data dir's writer
# lock (pipelines/index/commit_protocol.py), so two machines never prepare against the same base.
WRITE_LOCK = 0x636F72707573676F  # "corpusgo"
INGESTION_LOCK = WRITE_LOCK + 1
_INSERT_PAGE = 1000

_LIST_CONTAINS = re.compile(r"list_contains\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)")
_NAMED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DOUBLE = re.compile(r"\bDOUBLE\b(?!\s+PRECISION)")


@lru_cache(maxsize=512)
def postgres_sql(query: str, with_parameters: bool) -> str:
    """The ledger's DuckDB spelling of `query` in PostgreSQL's (see the module docstring)."""
    query = _LIST_CONTAINS.sub(r"(\2 = ANY(\1))", query)
    query = query.replace("json_object(", "json_build_object(")
    query = _DOUBLE.sub("DOUBLE PRECISION", query)
    if not with_parameters:
        return query
    query = query.replace("%", "%%").replace("?", "%s")
    return _NAMED.sub(r"%(\1)s", query)


def _column_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _column_type(arrow_type.value_type) + "[]"
    if pa.types.is_fixed_size_list(arrow_type):
        return _column_type(arrow_type.value_type) + "[]"
    # null: a column of no rows, or of None alone (an empty run's table).
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type):
        return "TEXT"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE PRECISION"
    if pa.types.is_integer(arrow_type):
        # uint32 (near-duplicate signatures) does not fit an INTEGER.
        return "INTEGER" if arrow_type in (pa.int8(), pa.int16(), pa.int32()) else "BIGINT"
    raise TypeError(f"no PostgreSQL column type for the Arrow type {arrow_type}")


def describe_url(url: str) -> str:
    """The URL as a person may see it: user, host, port and database, never a password."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port or 5432
    except ValueError:  # a port that is not a number: the rest could be anything
        return "(an unreadable ledger_url)"
    return f"postgresql://{parts.username or ''}@{host}:{port}{parts.path}"


def _unreachable(url: str, err: Exception) -> StorageError:
    return StorageError(
        f"The ledger database {describe_url(url)} cannot be reached ({first_line(str(err))}). Check "
        "that PostgreSQL is running there, and ledger_url in corpusgov.yaml (or "
        "$CORPUSGOV_LEDGER_URL) and the password (PGPASSWORD or ~/.pgpass); nothing of this run "
        "was committed."
    )


class PostgresConnection:
    """A psycopg2 connection that answers the DuckDB connection calls the ledger makes."""

    def __init__(self, url: str, read_only: bool) -> None:
        try:
            import psycopg2
            import psycopg2.extras
        except ImportError as err:
            raise StorageError(
                "ledger_url points at PostgreSQL, and psycopg2 is not installed. Install the "
                "deployment extra: `.venv/bin/python -m pip install -e '.[deploy]'`."
            ) from err
        self._psycopg2 = psycopg2
        self._url = url
        try:
            # Keepalives: a writer's lock connection sits idle while the run embeds, and a
            # firewall that silently drops idle connections would take its lock with it.
            self._raw = psycopg2.connect(
                url,
                connect_timeout=10,
                application_name="corpusgov",
                keepalives=1,
                keepalives_idle=60,
                keepalives_interval=10,
                keepalives_count=5,
            )
        except psycopg2.OperationalError as err:
            raise _unreachable(url, err) from err
        except psycopg2.ProgrammingError as err:
            # The driver's message may quote the URL, password included: not shown.
            raise ConfigError(
                f"ledger_url {describe_url(url)} is not a valid PostgreSQL URL. Write it as "
                "postgresql://user@host:port/database (percent-encode special characters)."
            ) from err
        # BEGIN and COMMIT are the ledger's own statements, as on DuckDB.
        self._raw.set_session(readonly=read_only, autocommit=True)
        # JSON as text, as DuckDB returns it: the readers parse it.
        psycopg2.extras.register_default_json(self._raw, loads=lambda text: text)
        self._cursor = self._raw.cursor()

    def hold_write_lock(self, wait_seconds: float) -> None:
        """Take the ledger's write lock, waiting up to `wait_seconds` for the writer holding it."""
        if not self.take_lock(WRITE_LOCK, wait_seconds):
            raise LedgerBusyError(
                f"The ledger database {describe_url(self._url)} is being written by another "
                "process (an ingestion, a rollback or an eval on some machine). Wait for it to "
                "finish, then retry."
            )

    def take_lock(self, key: int, wait_seconds: float) -> bool:
        """Hold the session advisory lock `key` until this connection closes; False when another
        session held it for all of `wait_seconds`."""
        deadline = time.monotonic() + wait_seconds
        while not self.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchall()[0][0]:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def holds_lock(self, key: int) -> bool:
        """Whether this connection still holds the session advisory lock `key`: False when the
        connection is gone (a server restart, an idle-connection kill, `pg_terminate_backend`),
        and the lock with it. pg_locks shows a bigint key as its high and low 32 bits."""
        try:
            rows = self.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ?",
                [key >> 32, key & 0xFFFFFFFF],
            ).fetchall()
        except StorageError:
            return False
        return bool(rows[0][0])

    def release_lock(self, key: int) -> None:
        """Let go of the advisory lock `key` now. Closing the connection lets go of it too, but
        only once the server has processed the disconnect: a writer taking the lock again right
        after (a run, then its eval sets, then its publication) could find it still held."""
        try:
            self.execute("SELECT pg_advisory_unlock(?)", [key])
        except StorageError:
            pass  # the connection is gone, and the lock with it

    def execute(self, query: str, parameters: Any = None) -> "PostgresConnection":
        with_parameters = parameters is not None
        try:
            self._cursor.execute(
                postgres_sql(query, with_parameters), parameters if with_parameters else None
            )
        except (self._psycopg2.OperationalError, self._psycopg2.InterfaceError) as err:
            raise self._storage_error(err) from err
        return self

    def executemany(self, query: str, parameters: Any) -> "PostgresConnection":
        try:
            self._cursor.executemany(postgres_sql(query, True), parameters)
        except (self._psycopg2.OperationalError, self._psycopg2.InterfaceError) as err:
            raise self._storage_error(err) from err
        return self

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def description(self) -> Any:
        return self._cursor.description

    def register(self, name: str, table: pa.Table) -> "PostgresConnection":
        """`table` as a temporary table `name` of this connection (DuckDB reads it in place)."""
        import psycopg2.extras

        columns = ", ".join(f"{field.name} {_column_type(field.type)}" for field in table.schema)
        self.execute(f"CREATE TEMP TABLE {name} ({columns})")
        for batch in table.to_batches(max_chunksize=_INSERT_PAGE):
            rows = list(zip(*(column.to_pylist() for column in batch.columns), strict=True))
            if rows:
                try:
                    psycopg2.extras.execute_values(
                        self._cursor, f"INSERT INTO {name} VALUES %s", rows, page_size=_INSERT_PAGE
                    )
                except (self._psycopg2.OperationalError, self._psycopg2.InterfaceError) as err:
                    raise self._storage_error(err) from err
        return self

    def unregister(self, name: str) -> "PostgresConnection":
        from psycopg2.extensions import TRANSACTION_STATUS_INERROR

        # In a failed transaction the table goes with its ROLLBACK, and on a lost connection
        # with the session; a DROP would raise over the error that matters.
        if not self._raw.closed and self._raw.info.transaction_status != TRANSACTION_STATUS_INERROR:
            self.execute(f"DROP TABLE IF EXISTS {name}")
        return self

    def close(self) -> None:
        self._raw.close()

    def _storage_error(self, err: Exception) -> StorageError:
        code = getattr(err, "pgcode", None) or ""
        if code.startswith("53") or "No space left on device" in str(err):
            return StorageError(
                f"The ledger database {describe_url(self._url)} is out of disk or memory "
                f"({first_line(str(err))}). Free space there and run the command again: nothing "
                "of this run was committed."
            )
        if code and not code.startswith(("08", "57")):
            # A timeout, a deadlock, a serialization failure: the server is there and said no.
            return StorageError(
                f"The ledger database {describe_url(self._url)} refused a statement "
                f"({first_line(str(err))}); nothing of this run was committed. Run the command "
                "again; if it keeps failing, check the server's settings (statement_timeout, "
                "lock_timeout) and its log."
            )
        return _unreachable(self._url, err)


def upgrade_for_reading(url: str, where: str) -> bool:
    """Bring the ledger's schema up to date for a reader, if that can be done without waiting:
    one try at the write lock, and a role without the rights to create tables just reads the
    older schema. False when it was not done."""
    from psycopg2 import Error as PostgresError

    try:
        writer = PostgresConnection(url, read_only=False)
    except StorageError:
        return False
    try:
        if not writer.take_lock(WRITE_LOCK, 0):
            return False
        migrate(writer, where)
        return True
    except (StorageError, PostgresError) as err:
        logger.warning("The ledger %s could not be upgraded for reading: %s", where, first_line(str(err)))
        return False
    finally:
        writer.close()
