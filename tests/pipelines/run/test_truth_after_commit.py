"""The truth after a commit, as an operator reads it: a failure after the ledger commit says the
run is committed as index version N (never "nothing committed") and records no failed run, the
next run finishes what was left; a failure recorded against a run that had committed alerts once;
a failure the ledger could not take waits in a local spool and alerts when the ledger is back."""

import json
import sys
from pathlib import Path

import pytest

import pipelines.cli.ingest as cli_ingest
import pipelines.governance.ingest as governance_ingest
from pipelines.cli.app import main
from pipelines.errors import StorageError
from pipelines.governance.alerts import dispatch_alerts
from pipelines.ledger import Ledger
from pipelines.ledger.evals import latest_eval_version
from pipelines.run import failed_runs
from pipelines.run.failed_runs import record_failed_run
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc

LEDGER_LOST = (
    "The ledger database postgresql://ops@db:5432/corpusgov cannot be reached (server closed the "
    "connection unexpectedly). Check that PostgreSQL is running there, and ledger_url in "
    "corpusgov.yaml (or $CORPUSGOV_LEDGER_URL) and the password (PGPASSWORD or ~/.pgpass); nothing "
    "of this run was committed."
)


def _with_alerts(project: Path) -> None:
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write("alerts:\n  - kind: file\n    path: alerts.jsonl\n")


def _alerts(project: Path) -> list[dict]:
    path = project / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _corpusgov(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """The `corpusgov` command in this process (so the test's patches hold), as a user runs it."""
    monkeypatch.setattr(sys, "argv", ["corpusgov", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def test_a_failure_after_the_commit_says_committed_and_the_next_run_finishes(
    project: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_eval_set(project)
    _with_alerts(project)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: fake_embedder)
    following = governance_ingest.follow_index

    def ledger_lost(*args: object, **kwargs: object) -> object:
        raise StorageError(LEDGER_LOST)

    monkeypatch.setattr(governance_ingest, "follow_index", ledger_lost)
    code, output = _corpusgov(monkeypatch, capsys, "ingest")
    assert code == 1
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    said = " ".join(output.split())
    assert "committed as index version 1" in said and "re-versioning the eval sets" in said, said
    assert "nothing of this run was committed" not in said
    assert "cannot be reached" in said and "The next `corpusgov ingest`" in said
    ledger = Ledger.of(load_settings())
    assert [v.index_version for v in ledger.index_versions()] == [1]
    assert latest_eval_version(ledger, "sample") is None, "the eval set did not follow yet"
    dispatch_alerts(load_settings())
    assert not [a for a in _alerts(project) if a["kind"] == "run_failed"], "a committed run is no failed run"

    monkeypatch.setattr(governance_ingest, "follow_index", following)
    code, output = _corpusgov(monkeypatch, capsys, "ingest")
    assert code == 0, output
    assert latest_eval_version(ledger, "sample").index_version == 1  # type: ignore[union-attr]
    assert ledger.serving_version().index_version == 1  # type: ignore[union-attr]


def test_a_failure_recorded_against_a_committed_run_alerts_once(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    """A Dagster step failing after `chunk_index` committed (or a kill just after the ledger
    commit): the run's id is already in the ledger, and its failure must still alert, once."""
    _with_alerts(project)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    record_failed_run(
        settings, report.run_id, "Dagster step eval_baselines", "the bucket went away", ("docs",)
    )
    record_failed_run(settings, report.run_id, "Dagster step eval_baselines", "again", ("docs",))
    dispatch_alerts(settings)
    dispatch_alerts(settings)
    failed = [a for a in _alerts(project) if a["kind"] == "run_failed"]
    assert len(failed) == 1, failed
    assert report.run_id in failed[0]["message"] and "the bucket went away" in failed[0]["message"]
    assert Ledger.of(settings).index_versions()[0].index_version == 1, "the commit stays as it was"


def test_a_failure_while_the_ledger_is_away_waits_and_alerts_when_it_is_back(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_alerts(project)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    recording = failed_runs._record

    def ledger_away(*args: object, **kwargs: object) -> None:
        raise StorageError(LEDGER_LOST)

    monkeypatch.setattr(failed_runs, "_record", ledger_away)
    record_failed_run(
        settings, "dagster-run-1", "Dagster step chunk_index", "the ledger went away", ("docs",)
    )
    spooled = list((settings.data_dir / "failed-runs").glob("*.json"))
    assert [p.name for p in spooled] == ["dagster-run-1.json"]
    dispatch_alerts(settings)
    assert not [a for a in _alerts(project) if a["kind"] == "run_failed"], "the ledger is still away"
    assert spooled[0].exists()

    monkeypatch.setattr(failed_runs, "_record", recording)
    dispatch_alerts(settings)
    failed = [a for a in _alerts(project) if a["kind"] == "run_failed"]
    assert len(failed) == 1 and "the ledger went away" in failed[0]["message"]
    assert not spooled[0].exists()
    dispatch_alerts(settings)
    assert len([a for a in _alerts(project) if a["kind"] == "run_failed"]) == 1
