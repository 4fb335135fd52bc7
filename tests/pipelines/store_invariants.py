"""The invariants of a data dir, checked straight on the stores (not through `corpusgov doctor`,
so the tests of the doctor and of recovery do not share a blind spot)."""

from pathlib import Path

import duckdb
import lancedb

from pipelines.index_storage import lancedb_storage_options
from pipelines.settings import Settings


def ledger_records(
    settings: Settings, query: str, params: list[object] | None = None
) -> list[dict[str, object]]:
    """Rows of a read query straight on the ledger file, as a user's `duckdb` shell sees them."""
    con = duckdb.connect(str(settings.ledger_path), read_only=True)
    try:
        cursor = con.execute(query, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def store_state(settings: Settings) -> dict[str, object]:
    """What the ledger and the index hold, read with plain duckdb and lancedb."""
    con = duckdb.connect(str(settings.ledger_path), read_only=True)
    try:
        documents = dict(con.execute("SELECT doc_id, state FROM documents").fetchall())
        ledger_chunks = [r[0] for r in con.execute("SELECT chunk_id FROM chunks").fetchall()]
        chunk_docs = {r[0] for r in con.execute("SELECT DISTINCT doc_id FROM chunks").fetchall()}
        versions = con.execute(
            "SELECT index_version, lance_version, tag FROM index_versions ORDER BY index_version"
        ).fetchall()
        intents = con.execute("SELECT count(*) FROM commit_intents").fetchone()[0]
    finally:
        con.close()
    uri = settings.lancedb_uri
    # The index may be in object storage (index_uri: s3://...): the same endpoint as corpusgov's.
    db = lancedb.connect(uri, storage_options=lancedb_storage_options(uri) or None)
    table = db.open_table("chunks") if versions else None
    index_chunks = table.to_arrow().column("chunk_id").to_pylist() if table is not None else []
    index_docs = set(table.to_arrow().column("doc_id").to_pylist()) if table is not None else set()
    return {
        "documents": documents,
        "ledger_chunks": ledger_chunks,
        "chunk_docs": chunk_docs,
        "versions": versions,
        "intents": intents,
        "table_version": int(table.version) if table is not None else None,
        "tags": {n: int(i["version"]) for n, i in table.tags.list().items()} if table is not None else {},
        "index_chunks": index_chunks,
        "index_docs": index_docs,
    }


def assert_invariants(settings: Settings, corpus: Path, source: str = "docs") -> dict[str, object]:
    """Conservation, ledger ids == index ids, no id twice, table version == ledger version, tags
    match versions, nothing half-done. Returns the state for further checks."""
    state = store_state(settings)
    documents: dict[str, str] = state["documents"]  # type: ignore[assignment]
    on_disk = {
        f"{source}/{p.relative_to(corpus).as_posix()}"
        for p in corpus.rglob("*")
        if not p.is_dir() and not p.name.startswith(".")
    }
    present = {d for d, s in documents.items() if s != "removed"}
    assert present == on_disk, f"conservation: ledger {sorted(present)} vs files {sorted(on_disk)}"
    assert set(documents.values()) <= {"indexed", "quarantined", "rejected", "removed"}
    ledger_chunks: list[str] = state["ledger_chunks"]  # type: ignore[assignment]
    index_chunks: list[str] = state["index_chunks"]  # type: ignore[assignment]
    assert len(index_chunks) == len(set(index_chunks)), "a chunk id twice in the index"
    assert set(ledger_chunks) == set(index_chunks), (
        f"{len(set(index_chunks) - set(ledger_chunks))} chunks only in the index, "
        f"{len(set(ledger_chunks) - set(index_chunks))} only in the ledger"
    )
    indexed = {d for d, s in documents.items() if s == "indexed"}
    assert state["chunk_docs"] == indexed
    assert state["index_docs"] == indexed
    assert state["intents"] == 0, "a write left half-done"
    versions: list[tuple[int, int, str]] = state["versions"]  # type: ignore[assignment]
    if versions:
        assert state["table_version"] == versions[-1][1], "table version != ledger version"
        tags: dict[str, int] = state["tags"]  # type: ignore[assignment]
        by_tag = {tag: lance for _, lance, tag in versions}
        assert versions[-1][2] in tags, "the latest index version has no tag"
        for tag, lance in tags.items():
            assert by_tag.get(tag) == lance, f"tag {tag} -> {lance}, ledger says {by_tag.get(tag)}"
    return state
