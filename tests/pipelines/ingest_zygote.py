"""A warm process that forks one ingestion per request, for the SIGKILL tests.

Importing corpusgov's stack takes seconds (Great Expectations alone ~7 s); a kill test that paid it
per kill could not afford 30 kills (20 on DuckDB, 10 on PostgreSQL). This process imports it
once, then for each line on stdin (`ingest [stop-point]`) forks a child that runs one ingestion
(commit and publication, as `corpusgov ingest` does) with a slow fake embedder and exits.
It prints the child's pid, then the child's wait status once it ends. The child is a real process:
the test kills it with SIGKILL, and nothing of it runs after that.

    python -m tests.pipelines.ingest_zygote
"""

import os
import sys
import time
from collections.abc import Sequence

import great_expectations  # noqa: F401 - warm the imports every child needs
import lancedb  # noqa: F401
import numpy as np

from pipelines.governance.ingest import ingest
from pipelines.settings import load_settings
from pipelines.stop_points import STOP_AT_ENV, STOP_MODE_ENV
from tests.conftest import FakeEmbedder


class SlowFakeEmbedder(FakeEmbedder):
    """Embedding takes time in real life: a wider window to be killed in."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(0.05 * len(texts))
        return super().embed(texts)


def _child(stop_at: str | None) -> None:
    if stop_at:
        os.environ[STOP_AT_ENV] = stop_at
        os.environ[STOP_MODE_ENV] = "exit"
    try:
        ingest(load_settings(), SlowFakeEmbedder())  # as `corpusgov ingest`: commit, then publish
    except BaseException as err:  # noqa: BLE001 - reported through the exit code
        print(f"child failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


def main() -> None:
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return
        pid = os.fork()
        if pid == 0:
            _child(words[1] if len(words) > 1 else None)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)


if __name__ == "__main__":
    main()
