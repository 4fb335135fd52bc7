"""What an index version holds, as the eval code sees it: chunks, their documents, what entered."""

import hashlib
from functools import lru_cache

from evals import EvalSet, IndexedChunk, IndexSnapshot
from pipelines.errors import IndexVersionUnavailableError
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import IndexVersion
from pipelines.settings import Settings
from pipelines.storage import bucket_faults


def index_snapshot(settings: Settings, version: IndexVersion, previous: IndexVersion | None) -> IndexSnapshot:
    """What the index held at `version`, and which chunks entered since `previous`."""
    table = ChunkIndex(settings.lancedb_uri).table_at(version)
    if table is None:
        return IndexSnapshot(version.index_version, {}, (), frozenset())
    with bucket_faults(settings.lancedb_uri):
        rows = read_columns(table, ["chunk_id", "doc_id", "ordinal", "text", "content_hash"]).to_pylist()
    rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
    current = {r["chunk_id"] for r in rows}
    added = frozenset(current)
    if previous is not None:
        try:
            added = frozenset(current - chunk_ids_at(settings, previous))
        except IndexVersionUnavailableError:
            # The previous version was cleaned up or rebuilt away: every chunk counts as new,
            # which costs a full re-resolution, never a wrong one.
            pass
    return IndexSnapshot(
        index_version=version.index_version,
        doc_hashes={r["doc_id"]: r["content_hash"] for r in rows},
        chunks=tuple(IndexedChunk(r["chunk_id"], r["doc_id"], r["text"]) for r in rows),
        added_chunk_ids=added,
    )


def result_config_hash(index_version: IndexVersion, embedding_model: str, k: int) -> str:
    """What a score depends on besides the eval set and the index content."""
    payload = f"{index_version.config_hash}\x1f{embedding_model}\x1fk={k}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def narrowed(snapshot: IndexSnapshot, eval_set: EvalSet) -> IndexSnapshot:
    gold_docs = {g.doc_id for item in eval_set.items for g in item.gold}
    return IndexSnapshot(
        index_version=snapshot.index_version,
        doc_hashes=snapshot.doc_hashes,
        chunks=tuple(
            c for c in snapshot.chunks if c.doc_id in gold_docs or c.chunk_id in snapshot.added_chunk_ids
        ),
        added_chunk_ids=snapshot.added_chunk_ids,
    )


def chunk_ids_at(settings: Settings, version: IndexVersion) -> frozenset[str]:
    return _chunk_ids_of(settings.lancedb_uri, version.index_version, version.lance_version, version.tag)


@lru_cache(maxsize=16)
def _chunk_ids_of(uri: str, number: int, lance_version: int, tag: str) -> frozenset[str]:
    """An index version never changes once written: its chunk ids can be cached. Keyed by index
    version number too: a rebuilt table reuses LanceDB version numbers for other rows."""
    table = ChunkIndex(uri).table_ref(number, lance_version, tag)
    if table is None:
        return frozenset()
    with bucket_faults(uri):
        return frozenset(read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist())


def removed_chunks(
    settings: Settings, previous: IndexVersion | None, snapshot: IndexSnapshot
) -> frozenset[str]:
    if previous is None:
        return frozenset()
    return chunk_ids_at(settings, previous) - {c.chunk_id for c in snapshot.chunks}
