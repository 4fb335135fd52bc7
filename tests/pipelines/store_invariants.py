"""The invariants of a data dir, checked straight on the stores (not through `corpusgov doctor`,
so the tests of the doctor and of recovery do not share a blind spot)."""

import shutil
from pathlib import Path

import duckdb
import lancedb

from pipelines.settings import Settings
from pipelines.storage import lancedb_storage_options


def _read_ledger(settings: Settings, queries: list[tuple[str, list[object]]]) -> list[list[tuple]]:
    """Each query's rows straight on the ledger, as a user's `duckdb` or `psql` shell sees them:
    the DuckDB file read-only, or the PostgreSQL database of `ledger_url`."""
    if settings.ledger_url:
        import psycopg2

        pg = psycopg2.connect(settings.ledger_url)
        try:
            with pg.cursor() as cursor:
                results = []
                for query, params in queries:
                    cursor.execute(query.replace("?", "%s"), params)
                    names = [d[0] for d in cursor.description]
                    results.append([(names, row) for row in cursor.fetchall()])
                return results
        finally:
            pg.close()
    con = duckdb.connect(str(settings.ledger_path), read_only=True)
    try:
        results = []
        for query, params in queries:
            cursor = con.execute(query, params)
            names = [d[0] for d in cursor.description]
            results.append([(names, row) for row in cursor.fetchall()])
        return results
    finally:
        con.close()


def wipe_data_dir(settings: Settings) -> None:
    """Back to nothing ingested: the data dir removed, and a ledger in PostgreSQL emptied."""
    shutil.rmtree(settings.data_dir)
    if settings.ledger_url:
        import psycopg2

        pg = psycopg2.connect(settings.ledger_url)
        try:
            pg.autocommit = True
            with pg.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            pg.close()


def ledger_records(
    settings: Settings, query: str, params: list[object] | None = None
) -> list[dict[str, object]]:
    """Rows of a read query straight on the ledger (JSON columns as they come: text on DuckDB,
    parsed on PostgreSQL)."""
    (rows,) = _read_ledger(settings, [(query, params or [])])
    return [dict(zip(names, row, strict=True)) for names, row in rows]


def store_state(settings: Settings) -> dict[str, object]:
    """What the ledger and the index hold, read with plain duckdb (or psycopg2) and lancedb."""
    documents, ledger_chunks, chunk_docs, versions, intents, published = (
        [row for _, row in rows]
        for rows in _read_ledger(
            settings,
            [
                ("SELECT doc_id, state FROM documents", []),
                ("SELECT chunk_id FROM chunks", []),
                ("SELECT DISTINCT doc_id FROM chunks", []),
                ("SELECT index_version, lance_version, tag FROM index_versions ORDER BY index_version", []),
                ("SELECT count(*) FROM commit_intents", []),
                ("SELECT index_version FROM publications ORDER BY published_at DESC LIMIT 1", []),
            ],
        )
    )
    state = {
        "documents": dict(documents),
        "ledger_chunks": [r[0] for r in ledger_chunks],
        "chunk_docs": {r[0] for r in chunk_docs},
        "versions": [tuple(v) for v in versions],
        "intents": intents[0][0],
        # The index version RAG apps read: the last publication's (None: nothing served).
        "serving": published[0][0] if published else None,
    }
    uri = settings.lancedb_uri
    # The index may be in object storage (index_uri: s3://...): the same endpoint as corpusgov's.
    db = lancedb.connect(uri, storage_options=lancedb_storage_options(uri) or None)
    table = db.open_table("chunks") if state["versions"] else None
    index_chunks = table.to_arrow().column("chunk_id").to_pylist() if table is not None else []
    index_docs = set(table.to_arrow().column("doc_id").to_pylist()) if table is not None else set()
    return {
        **state,
        "table_version": int(table.version) if table is not None else None,
        "tags": {n: int(i["version"]) for n, i in table.tags.list().items()} if table is not None else {},
        "index_chunks": index_chunks,
        "index_docs": index_docs,
    }


def assert_invariants(
    settings: Settings, corpus: Path, source: str = "docs", conservation: bool = True
) -> dict[str, object]:
    """Conservation (every file at the source has a ledger row that is not `removed`, unless a
    writer that is not an ingest stopped before it committed), ledger ids == index ids, no id
    twice, table version == ledger version, tags match versions, `serving` on the last published
    version, nothing half-done. Returns the state for further checks."""
    state = store_state(settings)
    documents: dict[str, str] = state["documents"]  # type: ignore[assignment]
    on_disk = {
        f"{source}/{p.relative_to(corpus).as_posix()}"
        for p in corpus.rglob("*")
        if not p.is_dir() and not p.name.startswith(".")
    }
    present = {d for d, s in documents.items() if s != "removed"}
    assert present == on_disk or not conservation, (
        f"conservation: ledger {sorted(present)} vs files {sorted(on_disk)}"
    )
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
        serving = state["serving"]
        if serving is None:
            assert "serving" not in tags, "a serving tag without a publication"
        else:
            served = {number: lance for number, lance, _ in versions}[serving]
            assert tags.get("serving") == served, (
                f"serving tag -> {tags.get('serving')}, ledger publishes {served}"
            )
            tags = {tag: lance for tag, lance in tags.items() if tag != "serving"}
        for tag, lance in tags.items():
            assert by_tag.get(tag) == lance, f"tag {tag} -> {lance}, ledger says {by_tag.get(tag)}"
    return state
