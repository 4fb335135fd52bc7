"""The ledger in PostgreSQL as machines sharing it meet it: two machines' ingestions never
overlap, a database that cannot be reached is one clear line that never shows the password, and
a ledger_url that is not PostgreSQL's is refused at load. The invariant tests run on this backend
too (`ledger_backend` in tests/conftest.py)."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.errors import CommittedRunError, ConfigError, IngestionConflictError, WriterLockLostError
from pipelines.governance.alerts import collect_alerts
from pipelines.governance.catalog import corpus_status
from pipelines.governance.ingest import ingest
from pipelines.index.commit_protocol import writer_lock
from pipelines.ledger import Ledger
from pipelines.ledger.evals import latest_eval_version
from pipelines.ledger.postgres import INGESTION_LOCK, WRITE_LOCK, PostgresConnection
from pipelines.run import ingestion
from pipelines.run.ingestion import ingest_holding_lock, run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc
from tests.pipelines.postgres_server import PASSWORD, PostgresServer, lock_held_elsewhere
from tests.pipelines.store_invariants import assert_invariants, store_state


@pytest.fixture
def shared_ledger(project: Path, shared_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"shared_{project.name[-40:].lower().replace('-', '_')}"
    shared_postgres.create_database(database)
    url = shared_postgres.ledger_url(database)
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", url)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return url


def test_an_ingestion_on_another_machine_makes_this_one_wait_its_turn(
    project: Path, shared_ledger: str
) -> None:
    """Another machine (another data dir) ingesting into the same ledger: this run stops before
    it reads or writes anything, and runs once the other is done."""
    corpus = project / "corpus"
    for topic in ("loading dock", "cold storage"):
        write_doc(corpus, f"{topic.replace(' ', '_')}.md", procedure_text(topic))
    settings = load_settings()
    with lock_held_elsewhere(shared_ledger, INGESTION_LOCK):
        with pytest.raises(IngestionConflictError, match="Another ingestion is writing to the shared ledger"):
            run_ingestion(settings, FakeEmbedder())
    assert not Ledger.of(settings).exists(), "nothing was written while the other machine held the lock"
    run_ingestion(settings, FakeEmbedder())
    state = assert_invariants(settings, corpus)
    assert state["versions"] and not (settings.data_dir / "ledger.duckdb").exists()


def test_a_ledger_database_that_cannot_be_reached_is_one_line_without_the_password(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_doc(project / "corpus", "a.md", procedure_text("loading dock"))
    # Port 9 on loopback: nothing listens there.
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", "postgresql://ops:s3cret-pw@127.0.0.1:9/corpusgov")
    for command in (["status"], ["ingest"]):
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *command],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode != 0
        message = done.stdout + done.stderr
        assert "The ledger database postgresql://ops@127.0.0.1:9/corpusgov cannot be reached" in message
        assert "Traceback" not in message and "s3cret-pw" not in message
    settings = load_settings()
    assert not (settings.data_dir / "lancedb").exists() and not (settings.data_dir / "ledger.duckdb").exists()


@pytest.mark.parametrize("url", ["mysql://db/corpusgov", "data/ledger.duckdb"])
def test_a_ledger_url_that_is_not_postgresql_is_refused_at_load(
    project: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", url)
    with pytest.raises(ConfigError, match="ledger_url must be a postgresql://"):
        load_settings()


def test_the_ledger_url_in_the_file_is_used_and_the_variable_overrides_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text() + "ledger_url: postgresql://a@db1:5432/x\n")
    monkeypatch.delenv("CORPUSGOV_LEDGER_URL", raising=False)
    assert load_settings().ledger_url == "postgresql://a@db1:5432/x"
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", "postgresql://b@db2:5432/y")
    assert load_settings().ledger_url == "postgresql://b@db2:5432/y"
    assert Ledger.of(load_settings()).location == "postgresql://b@db2:5432/y"


def test_the_cli_reads_an_empty_shared_ledger_as_nothing_ingested(project: Path, shared_ledger: str) -> None:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    assert '"index_version": null' in result.output
    assert store_state(load_settings())["documents"] == {}


def test_a_reader_never_waits_for_a_writer_on_another_machine(
    project: Path, shared_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer somewhere holds the ledger while this machine reads an empty database: the read
    answers "nothing ingested" instead of waiting to set the tables up (a wait would fail at
    once here), and a later write sets them up."""
    monkeypatch.setattr("pipelines.ledger._BUSY_RETRY_SECONDS", 0.0)
    with lock_held_elsewhere(shared_ledger, WRITE_LOCK):
        settings = load_settings()
        assert corpus_status(settings).index_version is None
        assert not Ledger.of(settings).exists(), "the reader set nothing up while the writer held the lock"
    write_doc(project / "corpus", "a.md", procedure_text("loading dock"))
    run_ingestion(load_settings(), FakeEmbedder())
    assert corpus_status(load_settings()).index_version == 1


def _terminate_lock_holder(url: str, key: int) -> None:
    """What a server restart or an idle-connection kill does to a writer: the backend holding the
    advisory lock `key` is terminated, and the lock goes with it."""
    import psycopg2

    con = psycopg2.connect(url)
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s",
                [key >> 32, key & 0xFFFFFFFF],
            )
            assert cursor.fetchall() == [(True,)], "exactly one backend held the writer lock"
    finally:
        con.close()


def _other_machine(project: Path) -> Settings:
    """A second machine: its own data dir (so its own file lock), the same ledger and index."""
    settings = load_settings()
    return settings.model_copy(update={"data_dir": project / "machine-b", "index_uri": settings.lancedb_uri})


@pytest.mark.parametrize("second_writer", [False, True], ids=["alone", "second-writer-waiting"])
def test_a_writer_that_loses_its_lock_stops_before_committing(
    project: Path, shared_ledger: str, monkeypatch: pytest.MonkeyPatch, second_writer: bool
) -> None:
    """The lock connection is terminated while the writer embeds: the writer stops before it
    touches LanceDB or the ledger, saying so; a second machine waiting for the lock takes it and
    commits. Exactly one of the two commits."""
    corpus = project / "corpus"
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock"))
    run_ingestion(load_settings(), FakeEmbedder())
    write_doc(corpus, "cold_storage.md", procedure_text("cold storage"))
    other = _other_machine(project)
    original = ingestion._write_run
    second: list[BaseException | int | None] = []

    def lose_the_lock_then_write(*args: object, **kwargs: object) -> object:
        # Only the first machine's run (the second machine's comes through here too).
        monkeypatch.setattr(ingestion, "_write_run", original)
        waiting = None
        if second_writer:

            def other_machine_ingests() -> None:
                try:
                    with writer_lock(other, wait_seconds=60):
                        second.append(ingest_holding_lock(other, FakeEmbedder()).index_version.index_version)
                except BaseException as err:  # noqa: BLE001 - the assertion below shows it
                    second.append(err)

            waiting = threading.Thread(target=other_machine_ingests)
            waiting.start()
            time.sleep(1.0)
            assert not second, "the other machine waits while this writer holds the lock"
        _terminate_lock_holder(shared_ledger, INGESTION_LOCK)
        if waiting is not None:
            waiting.join(120)
        return original(*args, **kwargs)

    monkeypatch.setattr(ingestion, "_write_run", lose_the_lock_then_write)
    with pytest.raises(
        WriterLockLostError, match="lost its lock on the shared ledger .* before writing the index"
    ):
        run_ingestion(load_settings(), FakeEmbedder())
    monkeypatch.setattr(ingestion, "_write_run", original)
    versions = [v.index_version for v in Ledger.of(load_settings()).index_versions()]
    if second_writer:
        assert second == [2], "the machine that waited committed version 2"
        assert versions == [2, 1]
    else:
        assert versions == [1], "nothing of the run that lost its lock was committed"
    assert ("docs/cold_storage.md" in store_state(load_settings())["documents"]) is second_writer
    # The next run of the first machine recovers and commits what is left to do, if anything.
    run_ingestion(load_settings(), FakeEmbedder())
    assert_invariants(load_settings(), corpus)
    assert "docs/cold_storage.md" in store_state(load_settings())["documents"]


def test_the_lock_check_answers_for_the_connection_holding_it(shared_ledger: str) -> None:
    """`holds_lock` is what every store-changing step asks: true while held, false once the
    connection is gone, never true for a lock another session holds."""
    con = PostgresConnection(shared_ledger, read_only=False)
    try:
        assert not con.holds_lock(INGESTION_LOCK)
        with lock_held_elsewhere(shared_ledger, INGESTION_LOCK):
            assert not con.holds_lock(INGESTION_LOCK)
        assert con.take_lock(INGESTION_LOCK, 5)
        assert con.holds_lock(INGESTION_LOCK)
        _terminate_lock_holder(shared_ledger, INGESTION_LOCK)
        assert not con.holds_lock(INGESTION_LOCK)
    finally:
        con.close()


def test_the_ledger_lost_just_after_the_commit_says_the_run_is_committed(
    project: Path, shared_ledger: str, shared_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL goes away right after the run's ledger commit: the error says the run is
    committed as index version 1 (not "nothing committed"), no failed run is recorded, and the
    next run, with the ledger back, binds the eval set and publishes."""
    add_eval_set(project)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    database = shared_ledger.rsplit("/", 1)[1]

    def lose_the_ledger(name: str) -> None:
        if name == "commit.after_ledger_commit":
            shared_postgres.query(
                f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) '
                f"FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            )

    monkeypatch.setattr(ingestion, "stop_point", lose_the_ledger)
    try:
        with pytest.raises(CommittedRunError) as raised:
            ingest(load_settings(), FakeEmbedder())
    finally:
        shared_postgres.query(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true; SELECT 1')
    said = str(raised.value)
    assert said.startswith("The run is committed as index version 1, but re-versioning the eval sets"), said
    assert "cannot be reached" in said and "nothing of this run was committed" not in said
    monkeypatch.setattr(ingestion, "stop_point", lambda name: None)
    ledger = Ledger.of(load_settings())
    assert [v.index_version for v in ledger.index_versions()] == [1]
    assert not [a for a in collect_alerts(load_settings()) if a.kind == "run_failed"]
    ingest(load_settings(), FakeEmbedder())
    assert latest_eval_version(ledger, "sample").index_version == 1  # type: ignore[union-attr]
    assert ledger.serving_version().index_version == 1  # type: ignore[union-attr]
    assert_invariants(load_settings(), project / "corpus")
