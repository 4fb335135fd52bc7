"""`index cleanup` removes what it reports and nothing a tag still holds, however much time passes
between its reading of the clock and LanceDB's (a slow bucket, a busy machine)."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import pipelines.governance.versions as versions
from pipelines.governance.ingest import ingest
from pipelines.governance.publication import promote
from pipelines.governance.versions import cleanup_index
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants


class _ClockReadEarly(datetime):
    """`datetime` whose first `now()` is two seconds behind: what LanceDB's own clock sees when
    the work between the two readings took that long."""

    calls = 0

    @classmethod
    def now(cls, tz: Any = None) -> "_ClockReadEarly":
        cls.calls += 1
        real = datetime.now(tz)
        shifted = real - timedelta(seconds=2) if cls.calls == 1 else real
        return cls.fromtimestamp(shifted.timestamp(), tz)


def test_cleanup_never_meets_a_tagged_version_whatever_the_clocks(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    embedder = FakeEmbedder()
    run_ingestion(settings, embedder)
    write_doc(project / "corpus", "returns.md", procedure_text("returns"))
    run_ingestion(settings, embedder)  # v2, within a second of v1

    monkeypatch.setattr(versions, "datetime", _ClockReadEarly)
    done = cleanup_index(settings, timedelta(0))

    table = ChunkIndex(settings.lancedb_uri).require_table()
    on_disk = {int(v["version"]) for v in table.list_versions()}
    tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
    # v1 is removed, or still readable with its tag when LanceDB's clock said it was too young.
    assert 2 in done.kept and sorted(done.kept + done.cleaned) == [1, 2]
    for index_version in done.kept:
        assert f"index-v{index_version}" in tags
    for index_version in done.cleaned:
        assert f"index-v{index_version}" not in tags
    for name, lance_version in tags.items():
        assert lance_version in on_disk, f"{name} points at a removed version"
    assert "index-v2" in tags


def test_cleanup_keeps_what_is_served_and_every_candidate_after_it(project: Path) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write("serving:\n  publish: gated\n")
    settings = load_settings()
    embedder = FakeEmbedder()
    ingest(settings, embedder)  # v1, a candidate
    promote(settings, 1)  # served
    for topic in ("returns", "picking"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
        ingest(settings, embedder)  # v2, v3: candidates under `gated`
    served_ids = _served_ids(settings)

    done = cleanup_index(settings, timedelta(0))

    assert done.kept == (1, 2, 3) and done.cleaned == ()
    assert _served_ids(settings) == served_ids, "a RAG app reading `serving` reads the same rows"
    promote(settings, 2)  # a candidate kept readable can still be published
    assert Ledger.of(settings).serving_version().index_version == 2  # type: ignore[union-attr]
    done = cleanup_index(settings, timedelta(0))
    assert done.kept == (2, 3), "version 1 is no longer served: nothing keeps it"
    # Compacting moves the latest to a new LanceDB version; when it is the served one, `serving` follows.
    promote(settings, 3)
    cleanup_index(settings, timedelta(0))
    table = ChunkIndex(settings.lancedb_uri).require_table()
    tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
    assert tags["serving"] == tags["index-v3"] == Ledger.of(settings).serving_version().lance_version  # type: ignore[union-attr]
    assert_invariants(settings, corpus)


def _served_ids(settings: Settings) -> set[str]:
    table = ChunkIndex(settings.lancedb_uri).require_table()
    table.checkout("serving")
    return set(read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist())
