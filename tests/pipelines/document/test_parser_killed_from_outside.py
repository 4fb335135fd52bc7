"""A parser worker that dies from outside (the OOM killer, a container stop: SIGKILL) while it holds
a file leaves that file `parse.interrupted`, not a permanent `parse.failed`: the run says it was not
clean and the next run reads the file again, three runs in a row at most. A worker that cannot
start says why by its own error. The workers are real processes, killed with SIGKILL by this test
while they are stopped at the `parse.<file name>` stop point (pipelines/stop_points.py)."""

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipelines.cli.ingest as cli_ingest
from contracts import ChunkingPolicy
from contracts.document_contract import FileLimits
from pipelines.cli.app import app
from pipelines.document.discovery import MARKDOWN
from pipelines.document.extraction import (
    ExtractionRequest,
    ExtractionUnavailableError,
    ExtractionWorker,
    shared_worker,
)
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from pipelines.stop_points import STOP_AT_ENV, STOP_MODE_ENV
from tests.conftest import FakeEmbedder, procedure_text, write_doc


def _stopped_workers() -> list[int]:
    """This process's extraction workers that stopped themselves (state T)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state == "T" and b"extraction_worker" in cmdline:
            found.append(int(entry.name))
    return found


class Killer:
    """Kills with SIGKILL, from this test's thread, every worker stopped at the stop point."""

    def __init__(self) -> None:
        self.kills = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.05):
            for pid in _stopped_workers():
                os.kill(pid, signal.SIGKILL)
                self.kills += 1

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


@pytest.fixture
def kill_parser_of(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], Killer]]:
    """`kill_parser_of(name)` makes the worker stop when it receives the file `name`, to be killed
    there; `kill_parser_of(None)` lets every file through. Workers take their environment when
    they start, so each change closes this process's worker."""
    killer = Killer()

    def arm(file_name: str | None) -> Killer:
        shared_worker().close()
        if file_name is None:
            monkeypatch.delenv(STOP_AT_ENV, raising=False)
        else:
            monkeypatch.setenv(STOP_AT_ENV, f"parse.{file_name}")
            monkeypatch.setenv(STOP_MODE_ENV, "pause")
        return killer

    yield arm
    killer.stop()
    shared_worker().close()  # no later test gets a worker that stops


def _receiving_and_held(project: Path) -> Path:
    """The source's folder with two files; the tests kill the parser of `held.md`."""
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "held.md", procedure_text("held"))
    return corpus


def _row(project: Path, doc_id: str) -> tuple[str, tuple[str, ...], str]:
    settings = load_settings()
    [row] = [r for r in Ledger.of(settings).document_rows() if r.doc_id == doc_id]
    return row.state, tuple(row.reasons), row.detail or ""


@pytest.mark.fleet  # kills the parser, then starts it twice more
def test_a_parser_killed_from_outside_leaves_the_file_interrupted_and_the_next_run_reads_it(
    project: Path, fake_embedder: FakeEmbedder, kill_parser_of: Callable[[str | None], Killer]
) -> None:
    _receiving_and_held(project)
    killer = kill_parser_of("held.md")

    report = run_ingestion(load_settings(), fake_embedder)

    assert killer.kills == 1
    state, reasons, detail = _row(project, "docs/held.md")
    assert (state, reasons) == ("rejected", ("parse.interrupted",))
    assert "killed by SIGKILL" in detail and "read again at the next run" in detail
    assert _row(project, "docs/receiving.md")[0] == "indexed"  # the other files are not lost
    assert [o.doc_id for o in report.interrupted_parses] == ["docs/held.md"]
    assert "docs/held.md" in (report.interrupted_message() or "")

    kill_parser_of(None)
    again = run_ingestion(load_settings(), fake_embedder)

    # Same bytes, same config: read again all the same, and indexed this time.
    assert [o.doc_id for o in again.outcomes] == ["docs/held.md"]
    assert _row(project, "docs/held.md")[:2] == ("indexed", ())
    assert again.interrupted_parses == () and again.interrupted_message() is None


@pytest.mark.fleet  # kills the parser in three runs in a row
def test_a_file_whose_parser_dies_three_runs_in_a_row_is_failed_until_it_changes(
    project: Path,
    fake_embedder: FakeEmbedder,
    kill_parser_of: Callable[[str | None], Killer],
    ledger_backend: str,  # the runs are counted from the ledger's history, on either backend
) -> None:
    corpus = _receiving_and_held(project)
    killer = kill_parser_of("held.md")

    reasons_by_run = []
    for _ in range(3):
        run_ingestion(load_settings(), fake_embedder)
        reasons_by_run.append(_row(project, "docs/held.md")[1])

    assert killer.kills == 3
    assert reasons_by_run == [("parse.interrupted",), ("parse.interrupted",), ("parse.failed",)]
    detail = _row(project, "docs/held.md")[2]
    assert "died 3 times on this file" in detail and "until the file or its contract changes" in detail

    # A fourth run does not read it again, even with a parser that would not be killed...
    kill_parser_of(None)
    fourth = run_ingestion(load_settings(), fake_embedder)
    assert fourth.outcomes == () and _row(project, "docs/held.md")[1] == ("parse.failed",)

    # ...until the file changes.
    write_doc(corpus, "held.md", procedure_text("held, revised"))
    run_ingestion(load_settings(), fake_embedder)
    assert _row(project, "docs/held.md")[:2] == ("indexed", ())


@pytest.mark.fleet  # kills the parser under a real CLI process
def test_the_cli_ingest_exits_non_zero_when_a_parser_was_killed(
    project: Path, monkeypatch: pytest.MonkeyPatch, kill_parser_of: Callable[[str | None], Killer]
) -> None:
    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: FakeEmbedder())
    _receiving_and_held(project)
    kill_parser_of("held.md")

    result = CliRunner().invoke(app, ["ingest", "--json"])

    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["parse_interrupted"] == ["docs/held.md"]
    assert "killed from outside" in result.stderr and "docs/held.md" in result.stderr

    kill_parser_of(None)
    clean = CliRunner().invoke(app, ["ingest", "--json"])

    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["parse_interrupted"] == []


def test_a_worker_that_fails_to_start_reports_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # A broken install, as the user's own `contracts/` folder once was: the worker's import fails.
    broken = tmp_path / "broken" / "unstructured"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("unstructured is broken on purpose")\n')
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))
    worker = ExtractionWorker()
    started = time.monotonic()
    try:
        with pytest.raises(ExtractionUnavailableError) as raised:
            worker.extract(
                ExtractionRequest(
                    doc_id="docs/a.md",
                    data=b"# A\n\nSome text.\n",
                    mime_type=MARKDOWN,
                    file_name="a.md",
                    limits=FileLimits(),
                    chunking=ChunkingPolicy(),
                    redact_pii=False,
                )
            )
    finally:
        worker.close()

    message = str(raised.value)
    assert "exited with code 1 before it was ready" in message
    assert "ImportError: unstructured is broken on purpose" in message
    assert "did not start within" not in message
    assert "Traceback" not in capfd.readouterr().err  # one line that names it, not the traceback
    assert time.monotonic() - started < 60  # its exit, not the 180 s start-up budget


@pytest.mark.dagster
def test_the_dagster_job_shows_the_interrupted_parse_and_its_next_run_reads_the_file(
    project: Path, kill_parser_of: Callable[[str | None], Killer]
) -> None:
    import dagster as dg

    from tests.conftest import dagster_definitions

    _receiving_and_held(project)
    kill_parser_of("held.md")
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)

        # As a blocked source: the run commits the other files and says what it could not do.
        assert result.success
        [materialization] = result.asset_materializations_for_node("chunk_index")
        not_updated = str(materialization.metadata["not_updated"].value)
        assert "killed from outside" in not_updated and "docs/held.md" in not_updated
        assert _row(project, "docs/held.md")[1] == ("parse.interrupted",)

        kill_parser_of(None)
        assert job.execute_in_process(instance=instance).success

    assert _row(project, "docs/held.md")[:2] == ("indexed", ())
