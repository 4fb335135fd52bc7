"""`index cleanup` removes what it reports and nothing a tag still holds, however much time passes
between its reading of the clock and LanceDB's (a slow bucket, a busy machine)."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import pipelines.governance.versions as versions
from pipelines.governance.versions import cleanup_index
from pipelines.index.table import ChunkIndex
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc


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
    assert done.kept == (2,)
    for index_version in done.cleaned:
        assert f"index-v{index_version}" not in tags
    for name, lance_version in tags.items():
        assert lance_version in on_disk, f"{name} points at a removed version"
    assert "index-v2" in tags
