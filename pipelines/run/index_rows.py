"""The rows a run writes to LanceDB, built batch by batch from its spools (pipelines/run/spool.py).

Before the commit protocol opens the ledger, the spooled chunks of the documents that end
`indexed` get their vectors (spooled by the embedding thread, read from the index for the
unchanged chunks of an edited document, or embedded here for whatever is left) and their
document's grade and provenance and their own flags (`chunk_safety_flags`), and are written to one Parquet file in the run's staging
folder. The commit then streams that file into ONE LanceDB version. Nothing here holds more than a
batch of text and vectors.

Before any of that, `documents_held_as_written` tells the commit which re-processed documents the
index already holds exactly as the run would write them: those are not rewritten, and a run made
only of them writes no LanceDB version at all.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.document.outcome import ChunkRef, DocumentOutcome
from pipelines.embedding.model import Embedder, embed_with_progress
from pipelines.errors import IndexStateError
from pipelines.index.table import ChunkIndex, chunk_schema, in_filter, read_columns
from pipelines.run.spool import PARQUET_OPTIONS, SPOOL_ROWS, spooled_batches, staging_writes

# The columns every row of a document carries (beside its chunk's own id, ordinal, text and
# vector), as the run writes them: the document's values, except `safety_flags`, the chunk's own.
_ROW_COLUMNS: dict[str, Callable[[DocumentOutcome, ChunkRef], object]] = {
    "source": lambda o, _c: o.source,
    "content_hash": lambda o, _c: o.content_hash,
    "provenance": lambda o, _c: o.provenance,
    "grade": lambda o, _c: o.grade,
    "safety_flags": lambda o, c: chunk_safety_flags(o, c),
    "contract_version": lambda o, _c: o.contract_version,
    "config_hash": lambda o, _c: o.config_hash,
}


def chunk_safety_flags(outcome: DocumentOutcome, chunk: ChunkRef) -> list[str]:
    """A chunk row's flags: its document's, with the personal-data flags replaced by the chunk's
    own (`safety.pii_<kind>` only on a chunk holding such a value, `pii.redacted` on one holding
    redacted spans). Hidden text, injection and provenance flags stay the document's: they come
    from the raw file or the whole text, and a filter on them keeps every chunk of the document."""
    document = {flag for flag in outcome.safety_flags if not flag.startswith("safety.pii_")}
    return sorted(document | set(chunk.pii_flags))


# What the index holds for a document, as far as anyone reading it can tell: its chunks (ids and
# ordinals; an id is a hash of the document, the chunk's text and the chunker's config, so the
# texts are in it) and these columns. A document whose chunks and these columns stay the same is
# not modified and its rows are NOT rewritten, whatever else the run found.
#
# `config_hash` is left out on purpose. It is the processing key (parser, chunker, model, contract,
# assessment version): it changes whenever the key does, also when nothing the key produces
# changed (after a rollback or a self-output registration clears the key, after a new assessment
# version that grades every document as before). Counting it would list such documents as
# modified and write a LanceDB version of identical rows. So in the index the column means "the
# key under which these rows were written", which stays true: the rows are exactly what the new
# key produces too. The ledger's `documents.config_hash` is the key the document was last
# processed under, what the next run compares. Rewriting the rows only to refresh the column was
# weighed and refused: it would cost a LanceDB version (or grow another run's by every such
# document, reading back their vectors), and a version would then change rows of documents its
# manifest calls unchanged. A change to any counted column does rewrite every row of the
# document, the column included.
COMPARED_COLUMNS: tuple[str, ...] = tuple(c for c in _ROW_COLUMNS if c != "config_hash")

# Up to this many documents, LanceDB filters the rows read for the comparison; past it, one
# projected scan (no texts, no vectors) is cheaper than a long IN list.
_FILTER_PUSHDOWN_MAX_DOCS = 500


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
    refs = {chunk.chunk_id: chunk for o in indexed.values() for chunk in o.chunks}
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
            writer.write_batch(_with_documents(batch, vectors, indexed, refs, schema))
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


def documents_held_as_written(index: ChunkIndex, outcomes: Mapping[str, DocumentOutcome]) -> frozenset[str]:
    """The doc ids of `outcomes` (documents indexed before the run and after it) whose rows in the
    index already hold what the run would write: the same chunks (id and ordinal) and the same
    `COMPARED_COLUMNS`. Reads only those columns, never a text or a vector."""
    if not outcomes:
        return frozenset()  # before opening the table: a run that re-processed nothing stays light
    table = index.table()
    if table is None:
        return frozenset()
    columns = ["doc_id", "chunk_id", "ordinal", *COMPARED_COLUMNS]
    where = None
    if len(outcomes) <= _FILTER_PUSHDOWN_MAX_DOCS:
        where = in_filter("doc_id", list(outcomes))
    held = read_columns(table, columns, where)
    held = held.filter(pc.is_in(held.column("doc_id"), value_set=pa.array(list(outcomes), pa.string())))
    # Each row as (chunk id, ordinal, compared values): a chunk's flags are its own.
    held_rows: dict[str, set[tuple[object, ...]]] = {}
    data = {c: held.column(c).to_pylist() for c in columns}
    for i, doc_id in enumerate(data["doc_id"]):
        held_rows.setdefault(doc_id, set()).add(
            (data["chunk_id"][i], data["ordinal"][i], *(_hashable(data[c][i]) for c in COMPARED_COLUMNS))
        )
    rows = [(o, chunk) for o in outcomes.values() for chunk in o.chunks]
    # Through Arrow, as the rows are written: an enum, a tuple come back as the index gives them.
    expected = {
        c: pa.array([_ROW_COLUMNS[c](o, chunk) for o, chunk in rows], held.schema.field(c).type).to_pylist()
        for c in COMPARED_COLUMNS
    }
    written: dict[str, set[tuple[object, ...]]] = {}
    for i, (o, chunk) in enumerate(rows):
        written.setdefault(o.doc_id, set()).add(
            (chunk.chunk_id, chunk.ordinal, *(_hashable(expected[c][i]) for c in COMPARED_COLUMNS))
        )
    return frozenset(
        doc_id for doc_id in outcomes if held_rows.get(doc_id, set()) == written.get(doc_id, set())
    )


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


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
    batch: pa.RecordBatch,
    vectors: np.ndarray,
    indexed: Mapping[str, DocumentOutcome],
    refs: Mapping[str, ChunkRef],
    schema: pa.Schema,
) -> pa.RecordBatch:
    rows = [
        (indexed[doc_id], refs[chunk_id])
        for doc_id, chunk_id in zip(
            batch.column("doc_id").to_pylist(), batch.column("chunk_id").to_pylist(), strict=True
        )
    ]
    dimensions = vectors.shape[1]
    columns: dict[str, pa.Array] = {
        "chunk_id": batch.column("chunk_id"),
        "doc_id": batch.column("doc_id"),
        "ordinal": batch.column("ordinal"),
        "text": batch.column("text"),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dimensions),
    }
    for name, value in _ROW_COLUMNS.items():
        columns[name] = pa.array([value(o, chunk) for o, chunk in rows], schema.field(name).type)
    return pa.record_batch([columns[f.name] for f in schema], schema=schema)


class _Progress:
    def __init__(self, total: int, on_progress: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress

    def advance(self, count: int) -> None:
        self.done += count
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)
