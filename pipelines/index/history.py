"""Taking a document out of the index's history: every readable index version rewritten without
it, and every data file that ever held its rows deleted (`corpusgov erase`).

A LanceDB version is a manifest over data files; deleting rows only hides them (a deletion file
beside the data file), and old versions keep pointing at the files. So each data file that holds
the document, even hidden, is written again once, its rows in the same order with the document's
blanked; each readable index version that used it is restored as a new table version reading the
new file in its place (Lance's DataReplacement: its own deletions stay valid, row for row), and
the blanked rows are deleted there. The ledger's index version then points at the new table
version (`Ledger.move_index_version`, as after a compaction: the same index version, minus the
erased rows), its tag follows, and at the end every table version the ledger no longer names is
cleaned up, which deletes the old files. The versions keep sharing their files.

Crash safety: each step leaves the ledger naming a readable version, so recovery (pipelines/
index/commit_protocol.py) makes the table's head the ledger's latest version again after a stop;
a rerun of the erasure finds the files still holding the document and goes on from there.

The file-level operations use pylance (`lance`), the same Lance format (13.0.0) that LanceDB 0.40
writes: LanceDB's own API has no data replacement, compacts by a deleted-rows threshold and cleans
up by age only.
"""

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipelines.index.table import TABLE_NAME, in_filter
from pipelines.ledger import IndexVersion
from pipelines.settings import Settings
from pipelines.stop_points import stop_point
from pipelines.storage import bucket_faults, join, lancedb_storage_options

logger = logging.getLogger(__name__)
# Lance logs a warning to stderr for each DataReplacement ("not stable yet"): the operation is
# pinned with its version (pylance 13.0.0) and tested here; a user's terminal need not see it.
os.environ.setdefault("LANCE_LOG", "error")


@dataclass(frozen=True)
class HistoryRewrite:
    """What the rewrite did: index version -> (old, new) LanceDB version, and the data files it
    deleted (names under the table's `data/` folder)."""

    rewritten: dict[int, tuple[int, int]]
    files_deleted: tuple[str, ...]


def _table_uri(settings: Settings) -> str:
    return join(settings.lancedb_uri, f"{TABLE_NAME}.lance")


def _dataset(settings: Settings, version: int | None = None) -> Any:
    import lance

    uri = _table_uri(settings)
    return lance.dataset(uri, version=version, storage_options=lancedb_storage_options(uri) or None)


def files_holding(settings: Settings, doc_ids: Iterable[str]) -> set[str]:
    """The data files (names in `data/`) that hold a row of `doc_ids`, hidden by a deletion or
    not: read from the files themselves, not through any version."""
    from lance.file import LanceFileReader

    wanted = set(doc_ids)
    uri = _table_uri(settings)
    options = lancedb_storage_options(uri) or None
    found = set()
    with bucket_faults(uri):
        for name in _data_files(settings):
            reader = LanceFileReader(join(uri, "data", name), storage_options=options, columns=["doc_id"])
            held = set(reader.read_all().to_table().column("doc_id").to_pylist())
            if held & wanted:
                found.add(name)
    return found


def _data_files(settings: Settings) -> list[str]:
    from pipelines.storage import list_files

    return sorted(n for n in (list_files(join(_table_uri(settings), "data")) or {}) if n.endswith(".lance"))


def _files_of(dataset: Any) -> dict[int, set[str]]:
    """fragment id -> the data file names it reads."""
    return {
        f.fragment_id: {d.path.rsplit("/", 1)[-1] for d in f.metadata.files} for f in dataset.get_fragments()
    }


def rewrite_without(
    settings: Settings,
    doc_ids: list[str],
    replacement_id: str,
    versions: list[IndexVersion],
    readable: set[int],
    move_version: Callable[[IndexVersion, int], None],
) -> HistoryRewrite:
    """Rewrite every readable index version (`versions` newest first, `readable` their numbers)
    whose files hold a row of `doc_ids`, oldest first and the latest last (so it ends as the
    table's head), then clean up every table version the ledger no longer names.
    `move_version(version, lance_version)` records the move in the ledger and moves the tag.

    Each data file that held the document is written again ONCE, with the same rows in the same
    order but the document's own blanked (no text, a zero vector, `replacement_id` for its id),
    and every rewritten version reads the new file in place of the old one, its own deletions
    kept, the blanked rows deleted: the versions go on sharing their files, so an erasure does not
    multiply the index's size. A fragment of several files (a table whose columns changed) is
    compacted instead, per version."""
    tainted = files_holding(settings, doc_ids)
    blanked: dict[str, Any] = {}  # old data file name -> its replacement (a Lance DataFile)
    rewritten: dict[int, tuple[int, int]] = {}
    latest = versions[0] if versions else None
    for version in sorted(
        (v for v in versions if v.index_version in readable), key=lambda v: v.index_version
    ):
        fragments = _dataset(settings, version.lance_version).get_fragments()
        dirty = [f for f in fragments if {_name(d.path) for d in f.metadata.files} & tainted]
        is_latest = latest is not None and version.index_version == latest.index_version
        if not dirty and not (is_latest and rewritten):
            continue
        new_lance = _rewrite_one(settings, version.lance_version, dirty, doc_ids, replacement_id, blanked)
        move_version(version, new_lance)
        rewritten[version.index_version] = (version.lance_version, new_lance)
        stop_point("erase.after_version_rewrite")
    deleted = remove_versions_except(
        settings, {lance for _, lance in rewritten.values()} | _named(versions, readable, rewritten)
    )
    return HistoryRewrite(rewritten, tuple(sorted(tainted & deleted)))


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _named(
    versions: list[IndexVersion], readable: set[int], rewritten: dict[int, tuple[int, int]]
) -> set[int]:
    """The LanceDB versions the ledger names once the rewrite is recorded."""
    return {
        rewritten[v.index_version][1] if v.index_version in rewritten else v.lance_version
        for v in versions
        if v.index_version in readable
    }


def _rewrite_one(
    settings: Settings,
    lance_version: int,
    dirty: list[Any],
    doc_ids: list[str],
    replacement_id: str,
    blanked: dict[str, Any],
) -> int:
    """`lance_version`'s rows without `doc_ids`, as a new table version; returns that version."""
    import lance
    from lance import LanceOperation

    _dataset(settings, lance_version).restore()
    head = _dataset(settings)
    groups = []
    several = set()
    for fragment in dirty:
        files = fragment.metadata.files
        if len(files) != 1:
            several.add(fragment.fragment_id)
            continue
        name = _name(files[0].path)
        if name not in blanked:
            blanked[name] = _blank(settings, head, name, doc_ids, replacement_id)
        groups.append(LanceOperation.DataReplacementGroup(fragment.fragment_id, blanked[name]))
    uri = _table_uri(settings)
    if groups:
        lance.LanceDataset.commit(
            uri,
            LanceOperation.DataReplacement(groups),
            read_version=int(head.version),
            storage_options=lancedb_storage_options(uri) or None,
        )
    # By the blanked id only: a delete's predicate is kept in the version's transaction file.
    _dataset(settings).delete(in_filter("doc_id", [replacement_id]))
    if several:
        # Here the id is named, and compaction's version (kept) follows the delete's (cleaned up).
        _dataset(settings).delete(in_filter("doc_id", doc_ids))
        dataset = _dataset(settings)
        dataset.optimize.compact_files(
            materialize_deletions=True,
            materialize_deletions_threshold=0.0,
            excluded_fragment_ids=sorted({f.fragment_id for f in dataset.get_fragments()} - several),
        )
    return int(_dataset(settings).version)


def _blank(settings: Settings, head: Any, name: str, doc_ids: list[str], replacement_id: str) -> Any:
    """Write `name`'s rows again, in order, with those of `doc_ids` blanked; returns the new file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from lance.file import LanceFileReader
    from lance.fragment import write_fragments

    uri = _table_uri(settings)
    options = lancedb_storage_options(uri) or None
    rows = LanceFileReader(join(uri, "data", name), storage_options=options).read_all().to_table()
    erased = pc.is_in(rows.column("doc_id"), value_set=pa.array(doc_ids))
    schema = head.schema
    columns = []
    for field in schema:
        column = rows.column(field.name)
        if field.name == "doc_id":
            column = pc.if_else(erased, pa.scalar(replacement_id, field.type), column)
        elif field.name == "vector":
            zero = pa.scalar([0.0] * field.type.list_size, field.type)
            column = pc.if_else(erased, zero, column)
        elif field.name == "text":
            column = pc.if_else(erased, pa.scalar("", field.type), column)
        columns.append(column)
    table = pa.Table.from_arrays(columns, schema=schema)
    (fragment,) = write_fragments(
        table, uri, schema=schema, max_rows_per_file=max(rows.num_rows, 1), storage_options=options
    )
    (data_file,) = fragment.files
    return data_file


def remove_versions_except(settings: Settings, keep: set[int]) -> set[str]:
    """Remove every table version but `keep` and the head, and the files only they used (whatever
    their age; a person's own tag keeps its version too); returns the data files deleted. Call it
    under the writer lock: another writer's version in the making would go too."""
    before = set(_data_files(settings))
    dataset = _dataset(settings)
    head = int(dataset.version)
    others = [int(v["version"]) for v in dataset.versions() if int(v["version"]) not in keep | {head}]
    if others:
        dataset.cleanup_old_versions(
            versions=others, delete_unverified=True, error_if_tagged_old_versions=False
        )
    return before - set(_data_files(settings))
