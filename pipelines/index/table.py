"""The index: LanceDB table `chunks`, one commit per ingestion run, tagged `index-v<N>`.

Governance columns (grade, provenance, safety flags) sit beside the vectors so a RAG app filters on
them in the same query; that is how "exclude what governance says to exclude" reaches retrieval.
"""

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.errors import (
    IndexDamagedError,
    IndexStateError,
    IndexVersionUnavailableError,
    StorageError,
    first_line,
)
from pipelines.ledger import IndexVersion
from pipelines.storage import (
    bucket_faults,
    folder_exists,
    join,
    lancedb_storage_options,
    list_files,
    require_reachable,
)

TABLE_NAME = "chunks"


_U64_MAX = 2**64 - 1


def manifest_versions(uri: str) -> set[int] | None:
    """The table versions whose manifests are on disk, read from file names only (no lancedb
    import, which costs a second): what `corpusgov status` needs to notice a lost or extra
    version. Lance names a manifest `<u64::MAX - version>.manifest` (older tables: `<version>`).
    None when the table folder does not exist (in a bucket: that the bucket does, else a
    StorageError: an object store answers "nothing there" for a bucket that is missing too)."""
    table = join(uri, f"{TABLE_NAME}.lance")
    if not folder_exists(table):
        require_reachable(uri)
        return None
    versions: set[int] = set()
    for name in list_files(join(table, "_versions"), strict=True) or ():
        stem, _, suffix = name.partition(".")
        if suffix == "manifest" and stem.isdigit():
            number = int(stem)
            versions.add(_U64_MAX - number if number > 2**63 else number)
    return versions


def index_tag(index_version: int) -> str:
    return f"index-v{index_version}"


def chunk_schema(dimensions: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("chunk_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("source", pa.string()),
            pa.field("ordinal", pa.int32()),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dimensions)),
            pa.field("content_hash", pa.string()),
            pa.field("provenance", pa.string()),
            pa.field("grade", pa.string()),
            pa.field("safety_flags", pa.list_(pa.string())),
            pa.field("contract_version", pa.string()),
            pa.field("config_hash", pa.string()),
        ]
    )


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    chunk_id: str
    score: float
    text: str
    grade: str | None
    provenance: str | None
    safety_flags: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "score": round(self.score, 6),
            "text": self.text,
            "grade": self.grade,
            "provenance": self.provenance,
            "safety_flags": list(self.safety_flags),
        }


class ChunkIndex:
    """The LanceDB `chunks` table at `uri`. The connection opens lazily. In a bucket, a call that
    fails because of the bucket (its server down, the credentials refused, no such bucket) is one
    StorageError that says which (`bucket_faults`), never LanceDB's Rust error."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._db: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            import lancedb

            with bucket_faults(self.uri):
                self._db = lancedb.connect(
                    self.uri, storage_options=lancedb_storage_options(self.uri) or None
                )
        return self._db

    def table(self) -> Any | None:
        db = self.db
        with bucket_faults(self.uri):
            if TABLE_NAME not in db.list_tables().tables:
                return None
            return db.open_table(TABLE_NAME)

    def table_at(self, version: IndexVersion | None = None) -> Any | None:
        """The table as index version `version` left it (None: the latest), read-only.

        An index version is read through its tag: `index cleanup` deletes the tags of the versions
        it removes, and a `doctor --repair` rebuild starts a new table whose LanceDB version
        numbers mean other rows, so a version number alone could silently read the wrong data.
        The latest version is also readable before its tag is set (step 7 of the commit protocol).
        """
        if version is None:
            return self.table()
        return self.table_ref(version.index_version, version.lance_version, version.tag)

    def table_ref(self, number: int, lance_version: int, tag: str) -> Any | None:
        """`table_at` for an index version given by its number, LanceDB version and tag."""
        table = self.table()
        if table is None:
            return None
        with bucket_faults(self.uri):
            tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
            if tags.get(tag) == lance_version:
                table.checkout(lance_version)
                return table
        untagged_latest = int(table.version) == lance_version and lance_version not in {
            v for name, v in tags.items() if name.startswith("index-v")
        }
        if untagged_latest:
            return table
        raise IndexVersionUnavailableError(
            f"Index version {number} can no longer be read: its data was removed "
            "by `corpusgov index cleanup` or replaced by a `corpusgov doctor --repair` rebuild. "
            "See `corpusgov index versions`."
        )

    def require_table(self) -> Any:
        """The table, for a writer that knows the index exists (a rollback, a cleanup)."""
        table = self.table()
        if table is None:
            raise IndexDamagedError(
                f"The index table at {self.uri} is missing. Run `corpusgov doctor --repair`."
            )
        return table

    def version(self) -> int | None:
        table = self.table()
        return None if table is None else int(table.version)

    def chunk_ids(self) -> set[str]:
        table = self.table()
        if table is None:
            return set()
        with bucket_faults(self.uri):
            return set(read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist())

    def vectors_for(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Existing vectors by chunk id: an unchanged chunk is never embedded twice."""
        table = self.table()
        if table is None or not chunk_ids:
            return {}
        with bucket_faults(self.uri):
            if len(chunk_ids) <= _FILTER_PUSHDOWN_MAX_IDS:
                # A few ids (a re-version's added chunks): let LanceDB filter, don't read every vector.
                data = read_columns(table, ["chunk_id", "vector"], in_filter("chunk_id", chunk_ids))
            else:
                data = read_columns(table, ["chunk_id", "vector"])
        wanted = pa.array(list(chunk_ids), pa.string())
        hits = data.filter(pc.is_in(data.column("chunk_id"), value_set=wanted))
        if hits.num_rows == 0:
            return {}
        vectors = np.asarray(
            pc.list_flatten(hits.column("vector")).to_numpy(zero_copy_only=False), dtype=np.float32
        ).reshape(hits.num_rows, -1)
        return dict(zip(hits.column("chunk_id").to_pylist(), vectors, strict=True))

    def write(self, rows: pa.Table, replaced_doc_ids: Sequence[str]) -> int:
        """Write `rows` and drop every other chunk of `replaced_doc_ids`, as ONE table version.

        Returns the new LanceDB version. Step 5 of the commit protocol: the caller holds the
        ledger's write connection and tags the version once the ledger has committed it.
        """
        try:
            table = self.table()
            with bucket_faults(self.uri):
                if table is None:
                    table = self.db.create_table(TABLE_NAME, rows, schema=rows.schema)
                    release_freed_heap()
                    return int(table.version)
                existing = table.schema.field("vector").type
                if existing != rows.schema.field("vector").type:
                    raise IndexStateError(
                        f"The index at {self.uri} holds vectors of type {existing}, the run produced "
                        f"{rows.schema.field('vector').type}. One index holds one embedding model: "
                        "re-index into a new data_dir to change models."
                    )
                merge = table.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all()
                if replaced_doc_ids:
                    merge = merge.when_not_matched_by_source_delete(in_filter("doc_id", replaced_doc_ids))
                merge.execute(rows)
                release_freed_heap()
                return int(table.version)
        except (OSError, RuntimeError) as err:
            if "No space left on device" in str(err):
                raise StorageError(
                    f"The disk holding the index {self.uri} is full. Free space and run the "
                    "command again: nothing of this run was committed, and the next run removes "
                    "what this one started to write."
                ) from err
            raise

    def count_rows(self) -> int:
        table = self.table()
        if table is None:
            return 0
        with bucket_faults(self.uri):
            return int(table.count_rows())

    def searcher(self, version: IndexVersion | None = None) -> Callable[[np.ndarray, int], list[SearchHit]]:
        """A search function bound to one opened (and, if asked, checked-out) table: for many
        queries against the same version, as an eval run makes."""
        table = self.table_at(version)
        if table is None:
            return lambda _vector, _k: []
        columns = ["chunk_id", "doc_id", "text", "grade", "provenance", "safety_flags", "_distance"]

        def search(vector: np.ndarray, k: int) -> list[SearchHit]:
            rows = _read(
                self.uri,
                lambda: table.search(vector).distance_type("cosine").select(columns).limit(k).to_list(),
            )
            return [_hit(r) for r in rows]

        return search

    def search(
        self,
        vector: np.ndarray,
        k: int,
        exclude_provenance: Sequence[str] = (),
        allowed_grades: Sequence[str] | None = None,
        version: IndexVersion | None = None,
        exclude_flags: Sequence[str] = (),
    ) -> list[SearchHit]:
        table = self.table_at(version)
        if table is None:
            return []
        clauses: list[str] = []
        if exclude_provenance:
            clauses.append(f"NOT ({in_filter('provenance', exclude_provenance)})")
        if allowed_grades is not None:
            clauses.append(in_filter("grade", allowed_grades))
        for flag in exclude_flags:
            quoted = flag.replace("'", "''")
            clauses.append(f"NOT array_has_any(safety_flags, ['{quoted}'])")
        query = table.search(vector).distance_type("cosine")
        if clauses:
            query = query.where(" AND ".join(clauses), prefilter=True)
        columns = ["chunk_id", "doc_id", "text", "grade", "provenance", "safety_flags", "_distance"]
        rows = _read(self.uri, lambda: query.select(columns).limit(k).to_list())
        return [_hit(r) for r in rows]


def _read(uri: str, query: Callable[[], Any]) -> Any:
    """Run a read; a table with files missing answers with one actionable error, not a trace
    (and a bucket that fails, with its own: a rebuild would not help)."""
    try:
        with bucket_faults(uri):
            return query()
    except (OSError, RuntimeError) as err:
        raise IndexDamagedError(
            f"The index at {uri} cannot be read ({first_line(err)}). Run `corpusgov doctor` to see what is "
            "wrong and `corpusgov doctor --repair` to rebuild it from the sources."
        ) from err


def _hit(row: dict[str, Any]) -> SearchHit:
    return SearchHit(
        doc_id=row["doc_id"],
        chunk_id=row["chunk_id"],
        score=1.0 - float(row["_distance"]),
        text=row["text"],
        grade=row["grade"],
        provenance=row["provenance"],
        safety_flags=tuple(row["safety_flags"] or ()),
    )


_FILTER_PUSHDOWN_MAX_IDS = 2000


def read_columns(table: Any, columns: list[str], where: str | None = None) -> pa.Table:
    """Only these columns of the (checked-out) table, optionally filtered, as Arrow.

    A projected scan: reading ids or texts must not drag every vector along.
    """
    query = table.search().select(columns)
    if where is not None:
        query = query.where(where)
    return query.limit(max(1, int(table.count_rows()))).to_arrow()


def in_filter(column: str, values: Sequence[str]) -> str:
    """A LanceDB filter: `column` is one of `values` (quoted for its SQL)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def release_freed_heap() -> None:
    """Give the C heap's free pages back to the OS (glibc only; elsewhere nothing to do).

    LanceDB's writer frees what it buffered for a version when it is done, but glibc keeps the
    freed pages: about 1 KB per chunk written (measured: ~36 MB at 40,000 chunks), still resident
    when the ledger's commit transaction, the run's largest allocation, comes next.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: musl, macOS, Windows
        return None
