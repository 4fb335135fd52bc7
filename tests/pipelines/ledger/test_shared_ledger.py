"""The ledger in PostgreSQL as machines sharing it meet it: two machines' ingestions never
overlap, a database that cannot be reached is one clear line that never shows the password, and
a ledger_url that is not PostgreSQL's is refused at load. The invariant tests run on this backend
too (`ledger_backend` in tests/conftest.py)."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.errors import ConfigError, IngestionConflictError
from pipelines.governance.catalog import corpus_status
from pipelines.ledger import Ledger
from pipelines.ledger.postgres import INGESTION_LOCK, WRITE_LOCK
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
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
