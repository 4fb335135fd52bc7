"""`corpusgov serve` as a test meets it: started as `make run` starts it (Dagster UI and daemon in
their own process group, a DAGSTER_HOME of the test's own), left until the source-folder sensor's
first run finishes, stopped with Ctrl-C."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT


@dataclass(frozen=True)
class Service:
    port: int
    config: Path
    run: dict

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextmanager
def running_service(
    root: Path, config: Path, instance_yaml: Path, env: Mapping[str, str] | None = None
) -> Iterator[Service]:
    """The service on `config` with `instance_yaml` as its dagster.yaml, once its first run ended."""
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml.read_text(encoding="utf-8"), encoding="utf-8")
    port = free_port()
    full_env = {**os.environ, "DAGSTER_HOME": str(home), "CORPUSGOV_CONFIG": str(config), **(env or {})}
    full_env.pop("CORPUSGOV_DATA_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield Service(port=port, config=config, run=_first_finished_run(port))
    finally:
        # `corpusgov serve` runs `dagster dev` in a session of its own: note its process groups
        # first, so a service that does not stop in time leaves no orphan behind.
        groups = _descendant_groups(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for group in groups | {process.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
            process.wait(timeout=30)


def _descendant_groups(pid: int) -> set[int]:
    """The process groups of every descendant of `pid` (read from /proc)."""
    parents: dict[int, int] = {}
    groups: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)], groups[int(entry.name)] = int(fields[1]), int(fields[2])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {groups[child] for child in found}


def _first_finished_run(port: int, timeout_seconds: float = 480) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        time.sleep(3)
        try:
            runs = graphql(port, "{ runsOrError { ... on Runs { results { runId status jobName } } } }")
        except OSError:
            continue
        results = runs["data"]["runsOrError"]["results"]
        if results and results[-1]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return results[-1]
    raise AssertionError("the source-folder sensor started no run that finished")
