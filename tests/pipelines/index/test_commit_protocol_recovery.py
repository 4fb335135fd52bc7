"""A writer stopped at any step of the commit protocol leaves a data dir that the next run brings
back: conservation, the same chunk ids in the ledger and the index, table version == ledger
version, tags matching versions, and then a no-op run. Stopped in-process here (an exception at
each named step); tests/pipelines/index/test_commit_protocol_kills.py does it with real process exits
and SIGKILLs."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.errors import LedgerBusyError
from pipelines.governance.doctor import examine_data_dir
from pipelines.governance.versions import cleanup_index, rollback_index
from pipelines.index.commit_protocol import STOP_POINTS
from pipelines.ledger.postgres import WRITE_LOCK
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import CONFIG_ENV, Settings, load_settings
from pipelines.stop_points import STOP_AT_ENV, StopRequested
from tests.conftest import FakeEmbedder, inputs_digest, prepared, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants, store_state

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


COMMIT_POINTS = [p for p in STOP_POINTS if p.startswith("commit.")]


def _first_corpus(corpus: Path) -> None:
    for topic in ("loading dock", "cold storage", "forklift charging"):
        write_doc(corpus, f"{topic.replace(' ', '_')}.md", procedure_text(topic))
    write_doc(corpus, "empty.md", b"")


def _change_corpus(corpus: Path) -> None:
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock", steps=9))
    (corpus / "cold_storage.md").unlink()
    write_doc(corpus, "night_shift.md", procedure_text("night shift"))


_references: dict[tuple[str, str], set[str]] = {}


def _reference_chunks(tmp_path: Path, corpus: Path) -> set[str]:
    """The chunk ids an uninterrupted ingest of the same files gives: ingested once per set of
    files and config (chunk ids depend on nothing else), then remembered for the next test."""
    config = Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8")
    key = (config, inputs_digest(corpus))
    if key not in _references:
        settings = load_settings()
        settings.data_dir = tmp_path / "reference-data"
        settings.ledger_url = None  # a data dir of its own, ledger included
        run_ingestion(settings, FakeEmbedder())
        _references[key] = set(assert_invariants(settings, corpus)["ledger_chunks"])  # type: ignore[arg-type]
    return set(_references[key])


def _stopped_run(settings: Settings, point: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STOP_AT_ENV, point)
    with pytest.raises(StopRequested):
        run_ingestion(settings, FakeEmbedder())
    monkeypatch.delenv(STOP_AT_ENV)


def _committed_then_changed(project: Path) -> tuple[Settings, Path]:
    """A first run committed, then the corpus changed: a file edited, one deleted, one added."""
    corpus = project / "corpus"
    _first_corpus(corpus)
    prepared(project, "first-corpus-committed", lambda: run_ingestion(load_settings(), FakeEmbedder()))
    _change_corpus(corpus)
    return load_settings(), corpus


def _later_run_died(
    project: Path, monkeypatch: pytest.MonkeyPatch, point: str = "commit.before_ledger_commit"
) -> tuple[Settings, Path, set[str]]:
    """A committed first run, then a run with changes whose process died at `point` (no in-process
    undo: the process is gone). Returns the settings, the corpus and the reference chunk ids."""
    settings, corpus = _committed_then_changed(project)
    reference = _reference_chunks(project, corpus)
    monkeypatch.setattr("pipelines.run.ingestion.undo_interrupted_write", lambda _settings: None)
    _stopped_run(settings, point, monkeypatch)
    return settings, corpus, reference


def _recovers(settings: Settings, corpus: Path, reference: set[str]) -> None:
    run_ingestion(settings, FakeEmbedder())
    state = assert_invariants(settings, corpus)
    assert set(state["ledger_chunks"]) == reference  # type: ignore[arg-type]
    again = run_ingestion(settings, FakeEmbedder())
    assert not again.changed and again.index_version is None, "the run after recovery is a no-op"
    assert examine_data_dir(settings).healthy


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_a_first_run_stopped_at_any_step_is_recovered(
    project: Path, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = project / "corpus"
    _first_corpus(corpus)
    reference = _reference_chunks(project, corpus)
    settings = load_settings()
    _stopped_run(settings, point, monkeypatch)
    _recovers(settings, corpus, reference)


@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_a_later_run_stopped_at_any_step_is_recovered(
    project: Path, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = _committed_then_changed(project)
    reference = _reference_chunks(project, corpus)
    _stopped_run(settings, point, monkeypatch)
    _recovers(settings, corpus, reference)


def test_a_stop_before_the_ledger_commit_leaves_nothing_behind_right_away(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error between the LanceDB write and the ledger COMMIT undoes the write before it is
    reported: search never serves chunks the ledger does not know."""
    corpus = project / "corpus"
    _first_corpus(corpus)
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    before = assert_invariants(settings, corpus)
    _change_corpus(corpus)
    _stopped_run(settings, "commit.before_ledger_commit", monkeypatch)
    (corpus / "night_shift.md").unlink()
    write_doc(corpus, "cold_storage.md", procedure_text("cold storage"))
    after = assert_invariants(settings, corpus)
    assert set(after["index_chunks"]) == set(before["index_chunks"])  # type: ignore[arg-type]


def test_a_process_that_died_after_the_index_write_is_rolled_back_by_the_next_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No in-process undo (the process is gone): the next run's recovery restores the table,
    deletes nothing the ledger knows and re-creates nothing twice. Also: recovery itself stopped
    half-way is recovered by the run after."""
    settings, corpus, reference = _later_run_died(project, monkeypatch)
    for point in ("recovery.after_restore", "recovery.after_ledger_move"):
        _stopped_run(settings, point, monkeypatch)
    _recovers(settings, corpus, reference)


def test_a_first_run_that_died_then_lost_a_file_leaves_no_orphan_chunks(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The field report: a first run killed after LanceDB wrote, then a file deleted, left 132
    chunks in LanceDB for 128 in the ledger, and the next run exited 0."""
    corpus = project / "corpus"
    _first_corpus(corpus)
    settings = load_settings()
    monkeypatch.setattr("pipelines.run.ingestion.undo_interrupted_write", lambda _settings: None)
    _stopped_run(settings, "commit.before_ledger_commit", monkeypatch)
    (corpus / "cold_storage.md").unlink()
    reference = _reference_chunks(project, corpus)
    _recovers(settings, corpus, reference)


@pytest.mark.parametrize("point", ["rollback.after_restore", "rollback.after_ledger_commit"])
def test_a_rollback_stopped_at_any_step_is_recovered(
    project: Path, point: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = _committed_then_changed(project)
    run_ingestion(settings, FakeEmbedder())
    monkeypatch.setenv(STOP_AT_ENV, point)
    with pytest.raises(StopRequested):
        rollback_index(settings, 1)
    monkeypatch.delenv(STOP_AT_ENV)
    reference = _reference_chunks(project, corpus)
    _recovers(settings, corpus, reference)


def test_a_cleanup_stopped_after_compaction_is_recovered(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = _committed_then_changed(project)
    run_ingestion(settings, FakeEmbedder())
    monkeypatch.setenv(STOP_AT_ENV, "cleanup.after_optimize")
    with pytest.raises(StopRequested):
        cleanup_index(settings, timedelta(0))
    monkeypatch.delenv(STOP_AT_ENV)
    reference = _reference_chunks(project, corpus)
    _recovers(settings, corpus, reference)


def test_every_stop_point_is_reached_by_some_writer() -> None:
    """A stop point no test reaches would be a step nobody checks: the list and the tests agree."""
    tested = set(COMMIT_POINTS) | {
        "recovery.after_restore",
        "recovery.after_ledger_move",
        "rollback.after_restore",
        "rollback.after_ledger_commit",
        "cleanup.after_optimize",
        # tests/pipelines/index/test_serving_pointer.py stops a publication at each of its steps.
        "publish.after_ledger_commit",
        "publish.after_tag",
    }
    assert tested == set(STOP_POINTS)


def test_a_reader_holding_the_ledger_stops_the_run_before_the_index_is_touched(
    project: Path, monkeypatch: pytest.MonkeyPatch, ledger_backend: str
) -> None:
    """A duckdb shell left open on the ledger file (on PostgreSQL, where readers never block, a
    writer on another machine holding the ledger's write lock): the run fails with a clear error
    and LanceDB is untouched, so the data dir stays usable and the next run, once the other
    session is gone, works."""
    corpus = project / "corpus"
    _first_corpus(corpus)
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    before = assert_invariants(settings, corpus)
    _change_corpus(corpus)
    monkeypatch.setattr("pipelines.ledger._BUSY_RETRY_SECONDS", 1.0)
    if ledger_backend == "postgres":
        holder = (
            "import psycopg2, sys, time; con = psycopg2.connect(sys.argv[1]); cur = con.cursor(); "
            f"cur.execute('SELECT pg_advisory_lock({WRITE_LOCK})'); print('open', flush=True); "
            "time.sleep(60)"
        )
        target, expected = str(settings.ledger_url), "is being written by another process"
    else:
        holder = (
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print('open', flush=True); time.sleep(60)"
        )
        target, expected = str(settings.ledger_path), "Close other sessions on it"
    reader = subprocess.Popen([sys.executable, "-c", holder, target], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        with pytest.raises(LedgerBusyError, match=expected):
            run_ingestion(settings, FakeEmbedder())
    finally:
        reader.kill()
        reader.wait()
    state = store_state(settings)
    assert state["table_version"] == before["table_version"], "LanceDB was written"
    run_ingestion(settings, FakeEmbedder())
    assert_invariants(settings, corpus)


@pytest.mark.dagster
def test_the_dagster_job_recovers_a_run_the_cli_left_half_done(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same guarantees on every path: a CLI run that died after writing LanceDB is rolled back by
    the next Dagster job, which then commits its own run."""
    import dagster as dg

    from tests.conftest import dagster_definitions

    settings, corpus, reference = _later_run_died(project, monkeypatch)
    with dg.instance_for_test() as instance:
        result = dagster_definitions().resolve_job_def("ingestion").execute_in_process(instance=instance)
        assert result.success
    state = assert_invariants(settings, corpus)
    assert set(state["ledger_chunks"]) == reference  # type: ignore[arg-type]


def test_doctor_finds_an_interrupted_write_and_repair_rolls_it_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.governance.doctor import repair_data_dir

    settings, corpus, _ = _later_run_died(project, monkeypatch)
    findings = {f.check: f for f in examine_data_dir(settings).findings}
    assert not findings["interrupted write"].ok
    assert not findings["index version"].ok
    report = repair_data_dir(settings, FakeEmbedder())
    assert report.healthy and report.set_aside is None, "a rollback, no rebuild"
    assert any("restored version" in action for action in report.repairs)
    # Rolled back to the last committed run: the interrupted run's changes are not in the index.
    (corpus / "night_shift.md").unlink()
    write_doc(corpus, "cold_storage.md", procedure_text("cold storage"))
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock"))
    assert_invariants(settings, corpus)


def test_a_data_dir_bricked_by_an_earlier_release_ingests_again(project: Path) -> None:
    """The field report's stuck state: LanceDB committed and tagged `index-v2`, the ledger never
    committed. Every later ingest failed on "tag index-v2 already exists"; now the next run
    restores the table, drops the stray tag and commits version 2 itself."""
    import lancedb

    settings, corpus = _committed_then_changed(project)
    table = lancedb.connect(settings.lancedb_uri).open_table("chunks")
    stray = table.to_arrow().slice(0, 1)
    table.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all().execute(
        stray.set_column(0, "chunk_id", [["stray-chunk-the-ledger-never-saw"]])
    )
    table.tags.create("index-v2", int(table.version))
    reference = _reference_chunks(project, corpus)
    _recovers(settings, corpus, reference)
    assert store_state(settings)["versions"][-1][0] == 2  # type: ignore[index]
