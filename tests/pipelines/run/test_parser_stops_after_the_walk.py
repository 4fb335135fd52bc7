"""A process that runs one ingest (the CLI's) stops its parser worker once the last file is parsed:
the worker's memory (the parsers, the PDF stack, what a large file left) is free before the
embedding's last batches and the commit, where the run's memory peaks (bench/memory.py). A later
run in the same process starts a new worker and parses as before; a long-lived process that keeps
its worker (the default) pays the parsers' import once."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.governance.catalog import list_documents
from pipelines.run.index_rows import build_index_rows
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc


def _worker_pids() -> set[int]:
    """This process's extraction workers that are running."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            state = stat.rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and state != "Z" and b"extraction_worker" in cmdline:
            found.add(int(entry.name))
    return found


class WatchingEmbedder(FakeEmbedder):
    """Notes, at each call, whether a parser worker of this process was running."""

    def __init__(self) -> None:
        super().__init__()
        self.workers_seen: list[set[int]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.workers_seen.append(_worker_pids())
        return super().embed(texts)


def test_a_one_run_process_stops_the_parser_after_the_last_file_and_a_later_run_starts_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "dispatch.md", procedure_text("dispatch"))
    settings = load_settings()
    workers_at_commit: list[set[int]] = []

    def noting_build_index_rows(*args: Any, **kwargs: Any) -> Any:
        workers_at_commit.append(_worker_pids())
        return build_index_rows(*args, **kwargs)

    # The commit writes the index rows (pipelines/run/ingestion.py calls it from there).
    monkeypatch.setattr("pipelines.run.ingestion.build_index_rows", noting_build_index_rows)
    embedder = WatchingEmbedder()

    report = run_ingestion(settings, embedder, keep_parser=False)

    assert {o.doc_id: o.state.value for o in report.outcomes} == {
        "docs/dispatch.md": "indexed",
        "docs/receiving.md": "indexed",
    }
    # Fewer chunks than a batch: embedded once the walk was over, with the worker already gone.
    assert embedder.workers_seen and embedder.workers_seen[-1] == set()
    assert workers_at_commit == [set()]
    assert _worker_pids() == set()

    # The same process runs again (a test, a long-lived caller): a new worker reads the new file,
    # and, kept this time, is there for the next run.
    write_doc(corpus, "returns.md", procedure_text("returns"))
    run_ingestion(settings, FakeEmbedder())
    states = {r["doc_id"]: r["state"] for r in list_documents(settings)}
    assert states["docs/returns.md"] == "indexed"
    assert len(_worker_pids()) == 1
