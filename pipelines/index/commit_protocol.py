"""The commit protocol: how a run's effects reach LanceDB and the ledger all at once or not at all.

Two stores, no shared transaction. The ledger is the source of truth: an index version exists when
its row is committed in the ledger, and recovery brings LanceDB back to that, whatever instruction
the previous process stopped on. The steps of a writer (ingestion, rollback, cleanup):

1. `writer_lock`: one corpusgov writer per data dir (a file lock; the Dagster run queue also
   serialises runs). With a shared ledger, also an advisory lock in PostgreSQL, held by a
   connection that can be lost under the writer (a restart, an idle-connection kill): every step
   below that changes a store first checks it still holds it (`require_writer_lock`), the last
   check inside the ledger transaction that commits, and a writer that lost it stops.
2. `recover_index`: undo whatever an interrupted writer left in LanceDB (below).
3. The writer prepares and embeds without writing anything.
4. The ledger's write connection is opened and held (DuckDB's own file lock). A reader that holds
   the ledger makes the run stop here, before LanceDB is touched. An intent row (`commit_intents`)
   records the LanceDB version the run starts from.
5. LanceDB is written: one table version, not tagged yet.
6. One ledger transaction: documents, chunks, the index version with its LanceDB version, and the
   intent row deleted. Its COMMIT is the commit point of the run. The base-version check (the
   index has not moved since the run was prepared) is read again on this connection, under the
   ledger's write lock, so two writers never both commit on one base. From here on, a failure
   says the run is committed as index version N (`CommittedRunError`), never "nothing committed".
7. The tag `index-v<N>` is set on that LanceDB version. The version is a candidate: RAG apps do
   not read it yet.
8. Publishing (`publish_version`, once the publication gate passed or a person promoted it): one
   ledger row in `publications`, whose COMMIT makes the version the served one, then the tag
   `serving` moves to it. RAG apps read `serving`: never a half-written, uncommitted or
   unpublished version.

Recovery (`recover_index`, at the start of every writer and in `corpusgov doctor --repair`):
- no index version in the ledger: a table left by an interrupted first run is dropped;
- the table ahead of the ledger's latest LanceDB version: that version is restored (LanceDB
  writes the restore as a new table version) and the ledger's index version moves to it, like a
  compaction: same rows, newer version;
- tags: an `index-v<N>` tag the ledger does not know is deleted, one that points elsewhere is
  moved, a readable version's missing tag is created (a run that stopped before step 7); the tag
  `serving` is put on the ledger's last published version (a publication that stopped before
  its tag moved), and never anywhere else: not backwards, not to an unpublished version;
- anything recovery cannot explain (the table behind the ledger, missing files, a table without a
  ledger) stops the writer with `IndexDamagedError`: `corpusgov doctor --repair` rebuilds.

Each step is a named stop point (pipelines/stop_points.py): tests stop a writer at every one of
them, in-process and with a real process exit, and check that the next run recovers.
"""

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pipelines.errors import (
    CorpusgovError,
    IndexDamagedError,
    IngestionConflictError,
    StorageError,
    WriterLockLostError,
    first_line,
)
from pipelines.index.table import TABLE_NAME, ChunkIndex, manifest_versions, read_columns
from pipelines.ledger import IndexVersion, Ledger, Publication
from pipelines.ledger.postgres import INGESTION_LOCK, PostgresConnection, describe_url
from pipelines.settings import Settings
from pipelines.stop_points import stop_point
from pipelines.storage import folder_exists, join, list_files, read_text, remove_folder

logger = logging.getLogger(__name__)

# The named points of the commit path (pipelines/stop_points.py), in the order a run reaches them.
STOP_POINTS: tuple[str, ...] = (
    "commit.before_intent",
    "commit.after_intent",
    "commit.after_index_write",
    "commit.before_ledger_commit",
    "commit.after_ledger_commit",
    "commit.after_tag",
    "recovery.after_restore",
    "recovery.after_ledger_move",
    "rollback.after_restore",
    "rollback.after_ledger_commit",
    "cleanup.after_optimize",
    "publish.after_ledger_commit",
    "publish.after_tag",
)
# The tag RAG apps read: `table.checkout(SERVING_TAG)`.
SERVING_TAG = "serving"
_TAG = re.compile(r"^index-v(\d+)$")


@contextmanager
def writer_lock(settings: Settings, wait_seconds: float = 0.0) -> Iterator[None]:
    """One writer at a time for LanceDB and DuckDB (the Dagster run queue serialises runs too)."""
    ensure_data_dir(settings)
    lock = FileLock(str(settings.writer_lock_path))
    try:
        lock.acquire(timeout=wait_seconds)
    except Timeout as err:
        raise IngestionConflictError(
            f"Another ingestion is writing to {settings.data_dir} (lock {settings.writer_lock_path}). "
            "Wait for it to finish, then retry."
        ) from err
    except OSError as err:
        raise StorageError(
            f"Cannot create the writer lock {settings.writer_lock_path}: {err.strerror or err}. "
            "Make the data_dir writable (or point CORPUSGOV_DATA_DIR elsewhere) and retry."
        ) from err
    try:
        if settings.ledger_url:
            with _shared_writer_lock(settings, wait_seconds):
                yield
        else:
            yield
    finally:
        lock.release()


@dataclass(frozen=True)
class _SharedLock:
    con: PostgresConnection
    url: str


# The shared ledger's writer lock this writer holds (None on a DuckDB ledger, or outside a writer).
_shared_lock: ContextVar[_SharedLock | None] = ContextVar("corpusgov_shared_writer_lock", default=None)


@contextmanager
def _shared_writer_lock(settings: Settings, wait_seconds: float) -> Iterator[None]:
    """With a shared ledger, writers on other machines have other data dirs: the lock that keeps
    them apart is in the ledger database, held by a connection of its own for the whole run.
    That connection can be lost under the writer (a restart, an idle-connection kill): each
    store-changing step checks it still holds the lock (`require_writer_lock`)."""
    assert settings.ledger_url
    con = PostgresConnection(settings.ledger_url, read_only=False)
    token = None
    try:
        if not con.take_lock(INGESTION_LOCK, wait_seconds):
            raise IngestionConflictError(
                f"Another ingestion is writing to the shared ledger {describe_url(settings.ledger_url)} "
                "(from this machine or another). Wait for it to finish, then retry."
            )
        token = _shared_lock.set(_SharedLock(con, settings.ledger_url))
        yield
    finally:
        if token is not None:
            _shared_lock.reset(token)
        con.release_lock(INGESTION_LOCK)  # a lock not held: PostgreSQL warns, nothing more
        con.close()


def require_writer_lock(step: str) -> None:
    """Before `step` changes a store: stop when the shared ledger's writer lock was lost, since
    another machine may hold it now and be writing on the same base. Free on a DuckDB ledger
    (the data dir's file lock cannot be lost). `step` ends the sentence "... before <step>"."""
    held = _shared_lock.get()
    if held is None or held.con.holds_lock(INGESTION_LOCK):
        return
    raise WriterLockLostError(
        f"This writer lost its lock on the shared ledger {describe_url(held.url)} before {step} (the "
        "PostgreSQL connection holding it was closed: a server restart, an idle-connection timeout "
        "or pg_terminate_backend), so it stopped: another writer may hold the lock now. Nothing of "
        "this run was committed; run the command again."
    )


def ensure_data_dir(settings: Settings) -> None:
    """Create the data dir, or say in one line why it cannot be used."""
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"Cannot create data_dir {data_dir}: {err.strerror or err}. Point data_dir in "
            f"{settings.config_path} (or CORPUSGOV_DATA_DIR) at a folder you can write."
        ) from err


@dataclass
class Recovery:
    """What recovery found and did; empty when the previous writer finished cleanly."""

    actions: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return bool(self.actions)


def recover_index(settings: Settings) -> Recovery:
    """Bring LanceDB back to the ledger's last committed index version (see the module docstring).

    Call it under `writer_lock`. Raises `IndexDamagedError` when the stores disagree in a way an
    interrupted writer cannot explain.
    """
    require_writer_lock("recovering the index")
    try:
        return _recover(settings)
    except (OSError, RuntimeError) as err:
        if "No space left on device" in str(err):
            raise StorageError(
                f"The disk holding {settings.data_dir} is full, so the last interrupted run cannot "
                "be rolled back yet. Free space and run the command again."
            ) from err
        raise IndexDamagedError(
            f"The index at {settings.lancedb_uri} could not be brought back to the ledger's last "
            f"run ({first_line(err)}). Run `corpusgov doctor --repair` to rebuild it from the sources."
        ) from err


def nothing_to_recover(settings: Settings) -> bool:
    """True when no writer was interrupted, read from the ledger and file names alone (no LanceDB
    import, which costs a second): no intent on record, the table's newest manifest is the
    ledger's last version, and every index version's tag file names its version. A run that
    writes nothing to the index (a no-op ingest) needs no more; any doubt means `recover_index`."""
    ledger = Ledger.of(settings)
    if ledger.commit_intent() is not None:
        return False
    versions = ledger.index_versions()
    on_disk = manifest_versions(settings.lancedb_uri)
    if not versions:
        return on_disk is None
    if not on_disk or max(on_disk) != versions[0].lance_version:
        return False
    files = _table_files(settings)
    if files is None or files != _noted_table_files(settings):
        # A data file gone, changed or unknown since the last verified state: read the table.
        return False
    # The tags as `_repair_tags` would leave them: the latest present, none stale or unknown.
    expected = {v.tag: v.lance_version for v in versions}
    folder = join(settings.lancedb_uri, f"{TABLE_NAME}.lance", "_refs", "tags")
    serving = ledger.serving_version()
    if serving is not None:
        expected[SERVING_TAG] = serving.lance_version
    try:
        names = [
            name
            for name in list_files(folder) or ()
            if _TAG.match(Path(name).stem) or Path(name).stem == SERVING_TAG
        ]
        tagged = {Path(n).stem: json.loads(read_text(join(folder, n))).get("version") for n in names}
    except (OSError, ValueError, AttributeError):
        return False
    return (
        tagged.get(versions[0].tag) == versions[0].lance_version
        and (serving is None or SERVING_TAG in tagged)
        and all(expected.get(name) == version for name, version in tagged.items())
    )


def _files_note(settings: Settings) -> Path:
    return settings.data_dir / "index-files.json"


def _table_files(settings: Settings) -> dict[str, int] | None:
    """The table's data files and their sizes (None when they cannot be listed)."""
    return list_files(join(settings.lancedb_uri, f"{TABLE_NAME}.lance", "data"))


def _noted_table_files(settings: Settings) -> dict[str, int] | None:
    try:
        noted = json.loads(_files_note(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return noted if isinstance(noted, dict) else None


def note_table_files(settings: Settings) -> None:
    """Note the table's data files after a verified recovery or a committed run, so a writer that
    changes nothing can tell, from a directory listing, that none went missing since. Best effort:
    without the note the next writer reads the table instead."""
    files = _table_files(settings)
    note = _files_note(settings)
    try:
        if files is None:
            note.unlink(missing_ok=True)
            return
        partial = note.with_name(note.name + ".partial")
        partial.write_text(json.dumps(files), encoding="utf-8")
        os.replace(partial, note)
    except OSError as err:
        logger.debug("Could not note the index files in %s: %s", note, err)


def _recover(settings: Settings) -> Recovery:
    ledger = Ledger.of(settings)
    index = ChunkIndex(settings.lancedb_uri)
    recovery = Recovery()
    versions = ledger.index_versions()
    intent = ledger.commit_intent()
    latest = versions[0] if versions else None
    if latest is None:
        _recover_first_run(settings, index, intent is not None, recovery)
    elif not table_exists(settings) and not ledger.chunk_ids():
        # Nothing is indexed (a rebuild after `doctor --repair`): the next write creates the table.
        pass
    else:
        table = _open_table(settings, index, latest)
        current = int(table.version)
        if current > latest.lance_version:
            recovery.actions.append(
                f"the index was at LanceDB version {current}, ahead of the ledger's index version "
                f"{latest.index_version} (LanceDB version {latest.lance_version}): an interrupted "
                f"{intent.kind if intent else 'write'}; restored version {latest.lance_version}"
            )
            latest = _restore(ledger, table, latest)
        elif current < latest.lance_version:
            raise IndexDamagedError(
                f"The index at {settings.lancedb_uri} is at LanceDB version {current}, behind the "
                f"ledger's index version {latest.index_version} (LanceDB version "
                f"{latest.lance_version}): table files were removed or restored from an older "
                "copy. Run `corpusgov doctor --repair` to rebuild the index from the sources."
            )
        _repair_tags(table, [latest, *versions[1:]], ledger.serving_version(), recovery)
        verify_contents(settings, table, ledger)
        note_table_files(settings)
    if intent is not None:
        ledger.clear_commit_intent()
    for action in recovery.actions:
        logger.warning("Recovery in %s: %s", settings.data_dir, action)
    return recovery


def _recover_first_run(settings: Settings, index: ChunkIndex, interrupted: bool, recovery: Recovery) -> None:
    if not table_exists(settings):
        return
    if not interrupted:
        raise IndexDamagedError(
            f"The index at {settings.lancedb_uri} holds a table the ledger "
            f"{Ledger.of(settings).location} has no record of (a ledger that was deleted or replaced?). "
            "Run `corpusgov doctor --repair` to rebuild the index from the sources, or restore the "
            "ledger from a backup."
        )
    drop_table(settings, index)
    recovery.actions.append("dropped the table an interrupted first run had started")


def _open_table(settings: Settings, index: ChunkIndex, latest: IndexVersion) -> Any:
    try:
        table = index.table()
    except (OSError, RuntimeError, ValueError) as err:
        raise IndexDamagedError(
            f"The index at {settings.lancedb_uri} cannot be opened ({first_line(err)}). Run "
            "`corpusgov doctor --repair` to rebuild it from the sources."
        ) from err
    if table is None:
        raise IndexDamagedError(
            f"The index table at {settings.lancedb_uri} is missing, but the ledger records index "
            f"version {latest.index_version}. Run `corpusgov doctor --repair` to rebuild it from "
            "the sources."
        )
    return table


def _restore(ledger: Ledger, table: Any, latest: IndexVersion) -> IndexVersion:
    table.restore(latest.lance_version)
    stop_point("recovery.after_restore")
    restored = int(table.version)
    ledger.move_index_version(latest.index_version, restored)
    stop_point("recovery.after_ledger_move")
    return replace(latest, lance_version=restored)


def _repair_tags(
    table: Any, versions: list[IndexVersion], serving: IndexVersion | None, recovery: Recovery
) -> None:
    """Tags mirror the ledger: `index-v<N>` on N's LanceDB version, for every N still readable, and
    `serving` on the last published version's."""
    known = {v.tag: v for v in versions}
    available = {int(v["version"]) for v in table.list_versions()}
    tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
    for name, tagged in sorted(tags.items()):
        if not _TAG.match(name):
            continue  # `serving` (below), or a user's own tag: not ours to judge
        expected = known.get(name)
        if expected is None:
            table.tags.delete(name)
            recovery.actions.append(f"deleted tag {name}: no such index version in the ledger")
        elif tagged != expected.lance_version and expected.lance_version in available:
            table.tags.update(name, expected.lance_version)
            recovery.actions.append(f"moved tag {name} to LanceDB version {expected.lance_version}")
    latest = versions[0]
    if latest.tag not in tags:
        # Only the latest: an older version's LanceDB number may name other rows after a rebuild.
        table.tags.create(latest.tag, latest.lance_version)
        recovery.actions.append(f"created tag {latest.tag}, which the last run did not get to set")
    _repair_serving_tag(table, versions, serving, tags, available, recovery)


def _repair_serving_tag(
    table: Any,
    versions: list[IndexVersion],
    serving: IndexVersion | None,
    tags: dict[str, int],
    available: set[int],
    recovery: Recovery,
) -> None:
    current = tags.get(SERVING_TAG)
    if serving is None:
        if current is not None:
            # Only a publication moves the tag: one the ledger does not record serves nothing.
            table.tags.delete(SERVING_TAG)
            recovery.actions.append("deleted the serving tag: the ledger records no publication")
        return
    # The served version's LanceDB version as the ledger holds it now (a restore may have moved it),
    # read through its own tag: after a rebuild the number alone may name other rows.
    expected = next((v.lance_version for v in versions if v.index_version == serving.index_version), None)
    own_tag = table.tags.list().get(serving.tag)
    if (
        expected is None
        or expected not in available
        or own_tag is None
        or int(own_tag["version"]) != expected
    ):
        raise IndexDamagedError(
            f"The served index version {serving.index_version} can no longer be read. Run "
            "`corpusgov doctor --repair` to rebuild the index and publish it again."
        )
    if current != expected:
        point_serving(table, expected)
        recovery.actions.append(
            f"moved the serving tag to index version {serving.index_version} (LanceDB version {expected}), "
            "which the ledger publishes"
        )


def verify_contents(settings: Settings, table: Any, ledger: Ledger) -> None:
    """Read every chunk id of the latest version (a missing data file fails here, not in the RAG
    app's next query) and compare them with the ledger's: the same set, no id twice."""
    try:
        ids = read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist()
    except (OSError, RuntimeError, ValueError) as err:
        raise IndexDamagedError(
            f"The index at {settings.lancedb_uri} cannot be read ({first_line(err)}). Run "
            "`corpusgov doctor --repair` to rebuild it from the sources."
        ) from err
    index_ids = set(ids)
    ledger_ids = ledger.chunk_ids()
    duplicates = len(ids) - len(index_ids)
    only_index, only_ledger = index_ids - ledger_ids, ledger_ids - index_ids
    if duplicates or only_index or only_ledger:
        raise IndexDamagedError(
            f"The index at {settings.lancedb_uri} and the ledger disagree: {len(only_index)} "
            f"chunks only in the index, {len(only_ledger)} only in the ledger, {duplicates} "
            "duplicated. Run `corpusgov doctor --repair` to rebuild the index from the sources."
        )


def undo_interrupted_write(settings: Settings) -> None:
    """After a writer failed in-process: put LanceDB back where the ledger is, now. If that fails
    too (the disk is still full), the next writer's recovery does it."""
    try:
        recover_index(settings)
    except Exception as err:  # noqa: BLE001 - the writer's own error is the one to report
        logger.warning("The index could not be rolled back yet (%s); the next run will.", err)


def table_exists(settings: Settings) -> bool:
    """Whether anything of the `chunks` table is on disk, even a half-created one."""
    return folder_exists(join(settings.lancedb_uri, f"{TABLE_NAME}.lance"))


def drop_table(settings: Settings, index: ChunkIndex) -> None:
    """Remove the `chunks` table, however broken: LanceDB's own drop, else its folder."""
    try:
        index.db.drop_table(TABLE_NAME)
    except (OSError, RuntimeError, ValueError, FileNotFoundError) as err:
        logger.info("LanceDB could not drop the table (%s); removing its folder", first_line(err))
    remove_folder(join(settings.lancedb_uri, f"{TABLE_NAME}.lance"))


def point_serving(table: Any, lance_version: int) -> None:
    """Put the `serving` tag on `lance_version` (creating it on a first publication)."""
    if SERVING_TAG in table.tags.list():
        table.tags.update(SERVING_TAG, lance_version)
    else:
        table.tags.create(SERVING_TAG, lance_version)


def publish_version(
    settings: Settings, version: IndexVersion, how: str, by: str, gate: dict[str, Any]
) -> Publication:
    """Step 8: make `version` the one RAG apps read. Call it under `writer_lock`, on a committed
    version. The ledger's row is the publication; the tag follows it, and recovery moves the tag
    when a process stops in between."""
    publication = Publication(version.index_version, datetime.now(UTC), by, how, gate)
    require_writer_lock(f"publishing index version {version.index_version}")
    with Ledger.of(settings).writer() as writer:
        writer.publish(publication)
    stop_point("publish.after_ledger_commit")
    move_serving_tag(settings, version)
    return publication


def move_serving_tag(settings: Settings, version: IndexVersion) -> None:
    """The tag half of step 8, once the ledger records `version`'s publication (a rollback
    records it in the transaction that commits the version)."""
    try:
        require_writer_lock(f"moving the serving tag to index version {version.index_version}")
        point_serving(ChunkIndex(settings.lancedb_uri).require_table(), version.lance_version)
    except (OSError, RuntimeError, ValueError, CorpusgovError) as err:
        # Published; the next writer's recovery moves the tag.
        logger.warning(
            "Index version %s published but the serving tag not moved yet (%s)", version.index_version, err
        )
    else:
        note_table_files(settings)
    stop_point("publish.after_tag")


def tag_index_version(settings: Settings, version: IndexVersion) -> None:
    """Step 7: tag the committed version. Recovery sets the tag if this never runs, so a failure
    here (storage lost, the writer lock lost) is a warning: the run is committed."""
    try:
        require_writer_lock(f"tagging index version {version.index_version}")
        ChunkIndex(settings.lancedb_uri).require_table().tags.create(version.tag, version.lance_version)
    except (OSError, RuntimeError, ValueError, CorpusgovError) as err:
        # The run is committed; the next writer's recovery creates the tag.
        logger.warning("Index version %s committed but not tagged yet (%s)", version.index_version, err)
    else:
        note_table_files(settings)
    stop_point("commit.after_tag")
