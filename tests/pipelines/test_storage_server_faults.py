"""Storage faults on a deployment's servers, as an operator meets them, against the real servers
the tests start: S3 (moto's server mode on 127.0.0.1) lost while LanceDB writes, while the run
tags its version and while the eval sets follow it; an index that cannot be opened for `search`
(a wrong secret, a bucket gone, the server down); a bucket missing on a fresh project; PostgreSQL
lost inside the commit transaction. Each is one `Error:` line naming what is unreachable and
what to do (never a credential), a missing bucket or ledger is found before any file is parsed,
and once the server is back the next run leaves the stores consistent."""

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
from moto.server import ThreadedMotoServer

from pipelines.cli.app import main
from pipelines.errors import StorageError
from pipelines.governance.ingest import ingest
from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.serving import open_table
from pipelines.settings import Settings, load_settings
from tests.conftest import (
    ONE_ITEM_EVAL_SET,
    FakeEmbedder,
    add_eval_set,
    dagster_definitions,
    procedure_text,
    write_doc,
)
from tests.pipelines.dagster_service import free_port
from tests.pipelines.postgres_server import PASSWORD, PostgresServer
from tests.pipelines.s3_server import S3Server
from tests.pipelines.store_invariants import assert_invariants

# Against S3 (moto) and PostgreSQL servers started on 127.0.0.1.
pytestmark = pytest.mark.server

TOPICS = ("loading dock", "cold storage", "forklift charging")
SECRET = "s3cret-of-the-test"


class S3Outage:
    """An S3 server on a port of its own that a test stops (`begin`) and starts again on the
    same port (`end`); moto keeps the buckets in this process, so they are there again."""

    def __init__(self, bucket: str) -> None:
        self.port = free_port()
        self.server = S3Server(endpoint=f"http://127.0.0.1:{self.port}", bucket=bucket)
        self._running: ThreadedMotoServer | None = None
        self.end()
        self.client().create_bucket(Bucket=bucket)

    def client(self, service: str = "s3") -> Any:
        env = self.server.env()
        return boto3.client(
            service,
            endpoint_url=self.server.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def begin(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def end(self) -> None:
        if self._running is None:
            self._running = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._running.start()

    def remove_bucket(self) -> None:
        """The bucket and all it holds gone (deleted, or a server that came back empty)."""
        s3 = self.client()
        for key in self.server.keys():
            s3.delete_object(Bucket=self.server.bucket, Key=key)
        s3.delete_bucket(Bucket=self.server.bucket)


@pytest.fixture
def outage() -> Iterator[S3Outage]:
    # moto keeps every bucket of the process: a bucket of the test's own.
    s3 = S3Outage(f"faults-{uuid.uuid4().hex[:16]}")
    try:
        yield s3
    finally:
        s3.begin()


@pytest.fixture
def on_s3(project: Path, outage: S3Outage, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The `project` fixture's corpusgov.yaml with its index in the outage's bucket, the CLI's
    embedder the fake one (the CLI runs in this process)."""
    for name, value in outage.server.env().items():
        monkeypatch.setenv(name, value)
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text() + f"index_uri: s3://{outage.server.bucket}/index\n", encoding="utf-8"
    )
    for topic in TOPICS:
        write_doc(project / "corpus", f"{topic.replace(' ', '_')}.md", procedure_text(topic))
    for module in ("read", "ingest", "evals"):
        monkeypatch.setattr(f"pipelines.cli.{module}.embedder_from_settings", lambda *a, **k: FakeEmbedder())
    return load_settings()


def _cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """`corpusgov <args>` in this process, as `main` runs it: its exit code and its stderr."""
    monkeypatch.setattr(sys, "argv", ["corpusgov", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0), capsys.readouterr().err


def _one_error_line(code: int, stderr: str, *phrases: str) -> str:
    assert code == 1, stderr
    assert "Traceback" not in stderr and "lance error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    [line] = errors
    for phrase in phrases:
        assert phrase in line, line
    assert SECRET not in line and "corpusgov-test" not in line, "no credential in the message"
    return line


def _at_stop_point(point: str, then: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Call `then` when the run reaches `point` of the commit protocol."""
    import pipelines.run.ingestion as ingestion

    real_stop_point = ingestion.stop_point

    def fault_then_go_on(name: str) -> None:
        if name == point:
            then()
        real_stop_point(name)

    monkeypatch.setattr(ingestion, "stop_point", fault_then_go_on)


def _files_parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the run's walk hands to parsing, from now on."""
    import pipelines.run.ingestion as ingestion

    parsed: list[str] = []
    real_process_file = ingestion.process_file

    def process_file(file: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(file.doc_id)
        return real_process_file(file, *args, **kwargs)

    monkeypatch.setattr(ingestion, "process_file", process_file)
    return parsed


SERVER_DOWN = "cannot be reached"


def test_s3_lost_while_lancedb_writes_is_one_line_and_the_next_run_commits(
    on_s3: Settings, outage: S3Outage, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = on_s3, on_s3.config_path.parent / "corpus"
    run_ingestion(settings, FakeEmbedder())
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock", steps=9))
    _at_stop_point("commit.after_intent", outage.begin, monkeypatch)

    code, stderr = _cli(capsys, monkeypatch, "ingest")
    _one_error_line(code, stderr, SERVER_DOWN, outage.server.endpoint, "AWS_ENDPOINT_URL")

    outage.end()
    monkeypatch.setattr("pipelines.run.ingestion.stop_point", lambda _name: None)
    report = run_ingestion(settings, FakeEmbedder())
    assert report.index_version is not None and report.index_version.index_version == 2
    assert_invariants(settings, corpus)


def test_s3_lost_while_tagging_is_one_line_that_claims_nothing_about_the_commit(
    on_s3: Settings, outage: S3Outage, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = on_s3, on_s3.config_path.parent / "corpus"
    _at_stop_point("commit.after_ledger_commit", outage.begin, monkeypatch)

    code, stderr = _cli(capsys, monkeypatch, "ingest")
    line = _one_error_line(code, stderr, SERVER_DOWN, outage.server.endpoint)
    assert "nothing of this run was committed" not in line, "the ledger committed the run"

    outage.end()
    monkeypatch.setattr("pipelines.run.ingestion.stop_point", lambda _name: None)
    latest = Ledger.of(settings).latest_index_version()
    assert latest is not None and latest.index_version == 1, "the run is committed"
    assert not run_ingestion(settings, FakeEmbedder()).changed
    assert_invariants(settings, corpus)
    table = ChunkIndex(settings.lancedb_uri).require_table()
    assert table.tags.list()[latest.tag]["version"] == latest.lance_version, "the next run tags it"


def test_s3_lost_while_the_eval_sets_follow_the_index_is_one_line(
    on_s3: Settings, outage: S3Outage, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.evaluation.reversion as reversion

    corpus = on_s3.config_path.parent / "corpus"
    add_eval_set(on_s3.config_path.parent, ONE_ITEM_EVAL_SET.replace("receiving.md", "loading_dock.md"))
    settings = load_settings()
    real_snapshot = reversion.index_snapshot

    def snapshot_while_s3_is_lost(*args: Any, **kwargs: Any) -> Any:
        outage.begin()
        return real_snapshot(*args, **kwargs)

    monkeypatch.setattr(reversion, "index_snapshot", snapshot_while_s3_is_lost)
    code, stderr = _cli(capsys, monkeypatch, "ingest")
    line = _one_error_line(code, stderr, SERVER_DOWN, outage.server.endpoint)
    assert "nothing of this run was committed" not in line, "the ledger committed the run"

    outage.end()
    monkeypatch.setattr(reversion, "index_snapshot", real_snapshot)
    code, stderr = _cli(capsys, monkeypatch, "evals", "rebaseline")
    assert code == 0, stderr
    assert_invariants(settings, corpus)


def _wrong_secret(outage: S3Outage, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key the server knows, with a secret that is not its own (moto checks signatures once
    its authentication is on)."""
    from moto import settings as moto_settings

    iam = outage.client("iam")
    iam.create_user(UserName="corpusgov")
    key = iam.create_access_key(UserName="corpusgov")["AccessKey"]
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.mark.parametrize(
    ("fault", "phrases"),
    [
        ("wrong secret", ("refused the credentials", "AWS_SECRET_ACCESS_KEY")),
        ("bucket gone", ("does not exist", "Create it")),
        ("server down", (SERVER_DOWN, "AWS_ENDPOINT_URL")),
    ],
)
def test_an_index_in_s3_that_cannot_be_opened_is_one_line_for_search_and_the_rag_app(
    on_s3: Settings,
    outage: S3Outage,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    phrases: tuple[str, ...],
) -> None:
    ingest(on_s3, FakeEmbedder())  # committed and published: what search and the app read
    if fault == "wrong secret":
        _wrong_secret(outage, monkeypatch)
    elif fault == "bucket gone":
        outage.remove_bucket()
    else:
        outage.begin()
    for command in (["search", "forklift charging"], ["status"]):
        code, stderr = _cli(capsys, monkeypatch, *command)
        _one_error_line(code, stderr, outage.server.bucket, *phrases)
    with pytest.raises(StorageError) as raised:
        open_table()
    assert all(phrase in str(raised.value) for phrase in phrases), raised.value


def test_a_missing_bucket_on_a_fresh_project_is_found_before_any_file_is_parsed(
    on_s3: Settings, outage: S3Outage, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outage.remove_bucket()
    parsed = _files_parsed(monkeypatch)
    code, stderr = _cli(capsys, monkeypatch, "ingest")
    _one_error_line(code, stderr, f"The bucket {outage.server.bucket}", "does not exist", "Create it")
    assert parsed == [], "found before the first file was parsed"
    assert Ledger.of(on_s3).latest_index_version() is None

    outage.client().create_bucket(Bucket=outage.server.bucket)
    assert run_ingestion(on_s3, FakeEmbedder()).index_version is not None
    assert_invariants(on_s3, on_s3.config_path.parent / "corpus")


def test_an_unreachable_ledger_is_found_before_any_file_is_parsed(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_doc(project / "corpus", "loading_dock.md", procedure_text("loading dock"))
    # Port 9 on loopback: nothing listens there.
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", f"postgresql://ops:{SECRET}@127.0.0.1:9/corpusgov")
    monkeypatch.setattr("pipelines.cli.ingest.embedder_from_settings", lambda *a, **k: FakeEmbedder())
    parsed = _files_parsed(monkeypatch)
    code, stderr = _cli(capsys, monkeypatch, "ingest")
    _one_error_line(
        code, stderr, "The ledger database postgresql://ops@127.0.0.1:9/corpusgov cannot be reached"
    )
    assert parsed == [], "found before the first file was parsed"


def _failed_step(result: dg.ExecuteInProcessResult) -> tuple[str, str, str]:
    """The step that failed first: its key, and the class and message of the error its code
    raised (under Dagster's `Failure`, whose description, the step's error in the UI, is that
    message as one line: pipelines/defs/failures.py)."""
    [failure, *_] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    assert error is not None and failure.step_key is not None
    while error.cls_name in ("DagsterExecutionStepExecutionError", "Failure") and error.cause is not None:
        error = error.cause
    message = error.message.strip().removeprefix(f"pipelines.errors.{error.cls_name}: ")
    user = failure.step_failure_data.user_failure_data
    assert user is not None and user.description == message, (user, message)
    return failure.step_key, error.cls_name or "", message


def _started_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START and e.step_key
    }


@pytest.mark.dagster
def test_a_missing_bucket_or_ledger_fails_the_dagster_plan_step_with_one_line(
    on_s3: Settings, outage: S3Outage, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = dagster_definitions().resolve_job_def("ingestion")
    outage.remove_bucket()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    step, kind, message = _failed_step(result)
    assert step.endswith("_plan") and kind == "StorageError", (step, kind, message)
    assert f"The bucket {outage.server.bucket}" in message and "Create it" in message
    assert "\n" not in message
    assert not any("_shard" in s for s in _started_steps(result)), "no file parsed"

    outage.client().create_bucket(Bucket=outage.server.bucket)
    # Port 9 on loopback: nothing listens there.
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", f"postgresql://ops:{SECRET}@127.0.0.1:9/corpusgov")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    step, kind, message = _failed_step(result)
    assert step.endswith("_plan") and kind == "StorageError", (step, kind, message)
    assert "The ledger database postgresql://ops@127.0.0.1:9/corpusgov cannot be reached" in message
    assert SECRET not in message and "\n" not in message
    assert not any("_shard" in s for s in _started_steps(result)), "no file parsed"


@pytest.fixture
def shared_ledger(project: Path, shared_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"faults_{project.name[-40:].lower().replace('-', '_')}"
    shared_postgres.create_database(database)
    monkeypatch.setenv("CORPUSGOV_LEDGER_URL", shared_postgres.ledger_url(database))
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return database


def test_postgresql_lost_inside_the_commit_transaction_is_one_line_and_the_next_run_commits(
    project: Path,
    shared_ledger: str,
    shared_postgres: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection is cut while the commit sends the run's rows (`register`'s bulk insert):
    the moment a large first ingest spends most of its commit in."""
    import psycopg2.extras

    corpus = project / "corpus"
    for topic in TOPICS:
        write_doc(corpus, f"{topic.replace(' ', '_')}.md", procedure_text(topic))
    monkeypatch.setattr("pipelines.cli.ingest.embedder_from_settings", lambda *a, **k: FakeEmbedder())
    real_execute_values = psycopg2.extras.execute_values
    cut: list[int] = []

    def insert_on_a_lost_connection(cursor: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        if (
            not cut
            and cursor.connection.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE
        ):
            cut.append(cursor.connection.get_backend_pid())
            shared_postgres.query(f"SELECT pg_terminate_backend({cut[0]})", database=shared_ledger)
        return real_execute_values(cursor, sql, *args, **kwargs)

    monkeypatch.setattr(psycopg2.extras, "execute_values", insert_on_a_lost_connection)
    code, stderr = _cli(capsys, monkeypatch, "ingest")
    _one_error_line(
        code, stderr, "The ledger database", "cannot be reached", "nothing of this run was committed"
    )
    assert cut, "the connection was cut inside the commit transaction"

    monkeypatch.setattr(psycopg2.extras, "execute_values", real_execute_values)
    settings = load_settings()
    assert Ledger.of(settings).latest_index_version() is None
    report = run_ingestion(settings, FakeEmbedder())
    assert report.index_version is not None and report.index_version.index_version == 1
    assert_invariants(settings, corpus)
