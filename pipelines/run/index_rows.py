"""The rows a run writes to LanceDB, built batch by batch from its spools (pipelines/run/spool.py).

Before the commit protocol opens the ledger, the spooled chunks of the documents that end
`indexed` get their vectors (spooled by the embedding thread, read from the index for the
unchanged chunks of an edited document, or embedded here for whatever is left) and their
document's grade, provenance and flags, and are written to one Parquet file in the run's staging
folder. The commit then streams that file into ONE LanceDB version. Nothing here holds more than a
batch of text and vectors.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.document.outcome import DocumentOutcome
from pipelines.embedding.model import Embedder, embed_with_progress
from pipelines.errors import IndexStateError
from pipelines.index.table import ChunkIndex, chunk_schema
from pipelines.run.spool import PARQUET_OPTIONS, SPOOL_ROWS, spooled_batches, staging_writes


@dataclass(frozen=True)
class IndexRows:
    """The run's rows for LanceDB, on disk; `reader()` streams them."""

    path: Path
    rows: int
    embedded: int  # vectors computed by this run (while preparing or here)
    reused: int  # vectors of unchanged chunks, taken from the index

    def reader(self) -> pa.RecordBatchReader:
        rows = pq.ParquetFile(self.path)
        return pa.RecordBatchReader.from_batches(rows.schema_arrow, rows.iter_batches(batch_size=SPOOL_ROWS))


def build_index_rows(
    path: Path,
    spools: Sequence[str],
    indexed: Mapping[str, DocumentOutcome],
    index: ChunkIndex,
    previous_ids: set[str],
    embedder: Embedder,
    on_progress: Callable[[int, int], None] | None = None,
) -> IndexRows:
    """Write the rows of every chunk of the `indexed` documents to `path`. `previous_ids`: the
    chunk ids these documents had in the index before the run (their vectors are reused)."""
    expected = sum(len(o.chunks) for o in indexed.values())
    to_embed = _count_to_embed(spools, indexed, previous_ids)
    progress = _Progress(to_embed, on_progress)
    schema = chunk_schema(embedder.dimensions)
    rows = embedded = reused = 0
    wanted = pa.array(list(indexed), pa.string())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with staging_writes(str(path.parent)), pq.ParquetWriter(partial, schema, **PARQUET_OPTIONS) as writer:
        for batch in spooled_batches(spools):
            batch = batch.filter(pc.is_in(batch.column("doc_id"), value_set=wanted))
            if batch.num_rows == 0:
                continue
            vectors, from_index = _vectors(batch, index, previous_ids, embedder, progress)
            writer.write_batch(_with_documents(batch, vectors, indexed, schema))
            rows += batch.num_rows
            reused += from_index
            embedded += batch.num_rows - from_index
    if rows != expected:
        partial.unlink(missing_ok=True)
        raise IndexStateError(
            f"The run's staged chunks hold {rows} chunks of its indexed documents, its outcomes "
            f"name {expected}: a staging file under {path.parent} is missing or was changed. Run "
            "the ingestion again; it prepares the run anew."
        )
    partial.replace(path)
    return IndexRows(path=path, rows=rows, embedded=embedded, reused=reused)


def _count_to_embed(
    spools: Sequence[str], indexed: Mapping[str, DocumentOutcome], previous_ids: set[str]
) -> int:
    """Chunks nobody embedded yet: the total of the progress line, read without the texts."""
    count = 0
    for batch in spooled_batches(spools, columns=["chunk_id", "doc_id", "vector"]):
        for chunk_id, doc_id, missing in zip(
            batch.column("chunk_id").to_pylist(),
            batch.column("doc_id").to_pylist(),
            batch.column("vector").is_null().to_pylist(),
            strict=True,
        ):
            count += bool(missing and doc_id in indexed and chunk_id not in previous_ids)
    return count


def _vectors(
    batch: pa.RecordBatch,
    index: ChunkIndex,
    previous_ids: set[str],
    embedder: Embedder,
    progress: "_Progress",
) -> tuple[np.ndarray, int]:
    """The batch's vectors, and how many came from the index."""
    dimensions = embedder.dimensions
    matrix = np.zeros((batch.num_rows, dimensions), dtype=np.float32)
    spooled = batch.column("vector")
    present = np.asarray(spooled.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if present.any():
        values = np.asarray(pc.list_flatten(spooled).to_numpy(zero_copy_only=False), dtype=np.float32)
        if values.size != int(present.sum()) * dimensions:
            raise IndexStateError(
                f"Staged vectors are not {dimensions}-dimensional: they come from another embedding "
                "model than this run's. Run the ingestion again; it prepares the run anew."
            )
        matrix[present] = values.reshape(-1, dimensions)
    ids = batch.column("chunk_id").to_pylist()
    missing = [i for i in np.flatnonzero(~present)]
    known = index.vectors_for([ids[i] for i in missing if ids[i] in previous_ids])
    for i in missing:
        if ids[i] in known:
            matrix[i] = known[ids[i]]
    left = [i for i in missing if ids[i] not in known]
    if left:
        texts = batch.column("text").to_pylist()
        matrix[left] = embed_with_progress(embedder, [texts[i] for i in left], progress.advance)
    return matrix, len(missing) - len(left)


def _with_documents(
    batch: pa.RecordBatch, vectors: np.ndarray, indexed: Mapping[str, DocumentOutcome], schema: pa.Schema
) -> pa.RecordBatch:
    owners = [indexed[d] for d in batch.column("doc_id").to_pylist()]
    dimensions = vectors.shape[1]
    return pa.record_batch(
        {
            "chunk_id": batch.column("chunk_id"),
            "doc_id": batch.column("doc_id"),
            "source": pa.array([o.source for o in owners], pa.string()),
            "ordinal": batch.column("ordinal"),
            "text": batch.column("text"),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), pa.float32()), dimensions
            ),
            "content_hash": pa.array([o.content_hash for o in owners], pa.string()),
            "provenance": pa.array([o.provenance for o in owners], pa.string()),
            "grade": pa.array([o.grade for o in owners], pa.string()),
            "safety_flags": pa.array([list(o.safety_flags) for o in owners], pa.list_(pa.string())),
            "contract_version": pa.array([o.contract_version for o in owners], pa.string()),
            "config_hash": pa.array([o.config_hash for o in owners], pa.string()),
        },
        schema=schema,
    )


class _Progress:
    def __init__(self, total: int, on_progress: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress

    def advance(self, count: int) -> None:
        self.done += count
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)
