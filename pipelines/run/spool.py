"""The chunks of a run on disk, so a run never holds the corpus's text or vectors at once.

A run prepares documents one by one; each document's chunks go to a spool file (Parquet under
`<data_dir>/staging/<run id>/`, or `<staging_uri>/<run id>/` for a Dagster source step) in row groups of `SPOOL_ROWS`, with their vectors where the run
embedded them already (pipelines/run/embedding_prefetch.py) and none where it did not. The document's
outcome keeps only `ChunkRef`s (id, ordinal, length). The commit reads the spools back batch by
batch, keeps the chunks of documents that end `indexed`, fills the missing vectors (from the index
for unchanged chunks, from the embedder for the rest) and writes the rows LanceDB takes, again in
batches (`IndexRows`): what one run holds in memory is bounded by the batch, not by the corpus.

The spool is also what a source's Dagster asset hands to `chunk_index`: a path, not a pickle.
"""

import contextlib
import errno
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.document.chunking import Chunk
from pipelines.errors import StorageError
from pipelines.settings import Settings
from pipelines.storage import (
    folder_of,
    input_file,
    join,
    name_of,
    output_file,
    reading,
    remove_file,
    remove_folder,
    subfolders_older_than,
)

# Rows per row group: small enough that a batch of text and vectors is a few MB, large enough
# that Parquet's per-group cost does not show.
SPOOL_ROWS = 1024

# Ids and texts are unique: a dictionary encoding gains nothing, and pyarrow's writer keeps each
# column's dictionary in memory until the file closes (measured: RSS grew with the file).
PARQUET_OPTIONS = {"use_dictionary": False, "compression": "zstd"}

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
# A staging folder's name: a CLI run id (20261204T182456-083c39b1) or a Dagster run id (a UUID).
_RUN_FOLDER = re.compile(
    r"\d{8}T\d{6}-[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
STALE_AFTER = timedelta(days=1)

SPOOL_SCHEMA = pa.schema(
    [
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("vector", pa.list_(pa.float32())),  # null: not embedded yet
    ]
)


@contextmanager
def staging_writes(folder: str) -> Iterator[None]:
    """A full disk while a run stages its chunks is a StorageError naming the folder, not a
    traceback; nothing is committed then, and the run's staging folder is removed with it."""
    try:
        yield
    except OSError as err:
        if err.errno == errno.ENOSPC or "No space left on device" in str(err):
            raise StorageError(
                f"The disk holding {folder} is full: this run could not stage its chunks. Free "
                "space and run the command again; nothing of this run was committed."
            ) from err
        raise


def staging_dir(settings: Settings, run_id: str) -> str:
    """One run's staging folder (`staging_uri`, by default under the data dir): its spools and
    staged parts (pipelines/run/staging.py)."""
    return join(settings.staging_root, _SAFE.sub("_", run_id))


def scratch_dir(settings: Settings, run_id: str) -> Path:
    """One run's local working folder for the commit's own files (the rows it streams into
    LanceDB), in the data dir whatever `staging_uri` says."""
    return settings.data_dir / "staging" / _SAFE.sub("_", run_id)


def clear_staging(settings: Settings, run_id: str) -> None:
    """Remove this run's staging folder, and any left by runs that never committed (a source
    asset materialized on its own, a run stopped by a crash) more than `STALE_AFTER` ago."""
    cutoff = time.time() - STALE_AFTER.total_seconds()
    for root in {settings.staging_root, str(settings.data_dir / "staging")}:
        # Only folders named like a run: staging_uri is the user's, and may hold other things.
        stale = [f for f in subfolders_older_than(root, cutoff) if _RUN_FOLDER.fullmatch(name_of(f))]
        for folder in [join(root, _SAFE.sub("_", run_id)), *stale]:
            try:
                remove_folder(folder)
            except (OSError, StorageError):
                continue  # another run's cleanup took it, or the store is away: next time


class ChunkSink(Protocol):
    """Where a run's prepared chunks go: a spool, directly or through the embedding thread."""

    @property
    def path(self) -> str: ...

    def submit(self, chunks: Sequence[Chunk], already_embedded: Iterable[str] = ()) -> None: ...


class ChunkSpool:
    """Append-only chunks of one run (or one source's part of it); `close()` makes the file
    visible at `path`, whole: a reader never sees a half-written spool (pipelines/storage.py's
    `output_file`). One thread writes."""

    def __init__(self, folder: str) -> None:
        self.path = join(folder, f"chunks-{uuid.uuid4().hex[:12]}.parquet")
        self._output = output_file(self.path)
        with staging_writes(folder):
            self._file = self._output.__enter__()
        self._writer: pq.ParquetWriter | None = None
        self._rows: list[tuple[Chunk, np.ndarray | None]] = []
        self._open = True
        self.count = 0

    def write(self, chunks: Sequence[Chunk], vectors: Sequence[np.ndarray | None]) -> None:
        self._rows.extend(zip(chunks, vectors, strict=True))
        self.count += len(chunks)
        if len(self._rows) >= SPOOL_ROWS:
            with staging_writes(folder_of(self.path)):
                self._flush()

    def submit(self, chunks: Sequence[Chunk], already_embedded: Iterable[str] = ()) -> None:
        """Spool chunks without vectors: the commit embeds them (the `ChunkSink` of a run that
        prepares without embedding)."""
        self.write(chunks, [None] * len(chunks))

    def close(self) -> str:
        with staging_writes(folder_of(self.path)):
            self._flush()
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._file, SPOOL_SCHEMA, **PARQUET_OPTIONS)
            self._writer.close()
            self._output.__exit__(None, None, None)
            self._open = False
        return self.path

    def discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass  # a full disk: the partial file goes below all the same
        if not self._open:
            with contextlib.suppress(OSError, StorageError):  # the error that matters is the caller's
                remove_file(self.path)
            return
        self._open = False
        try:
            # Ending the output with an error publishes nothing and removes the partial file.
            self._output.__exit__(_Discarded, _Discarded(), None)
        except (_Discarded, OSError):
            pass  # OSError: a full disk, flushing the partial file as it closes; it is gone all the same

    def _flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._file, SPOOL_SCHEMA, **PARQUET_OPTIONS)
        rows, self._rows = self._rows, []
        vectors = pa.array(
            [None if v is None else np.asarray(v, dtype=np.float32) for _, v in rows],
            pa.list_(pa.float32()),
        )
        self._writer.write_table(
            pa.table(
                {
                    "chunk_id": pa.array([c.chunk_id for c, _ in rows], pa.string()),
                    "doc_id": pa.array([c.doc_id for c, _ in rows], pa.string()),
                    "ordinal": pa.array([c.ordinal for c, _ in rows], pa.int32()),
                    "text": pa.array([c.text for c, _ in rows], pa.string()),
                    "vector": vectors,
                },
                schema=SPOOL_SCHEMA,
            )
        )


class _Discarded(Exception):
    """A spool given up: its output ends without being published."""


def spooled_batches(paths: Iterable[str], columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """The spooled chunks, batch by batch, in the order they were written."""
    for path in paths:
        with reading(path), input_file(path) as stored:
            yield from pq.ParquetFile(stored).iter_batches(batch_size=SPOOL_ROWS, columns=columns)
