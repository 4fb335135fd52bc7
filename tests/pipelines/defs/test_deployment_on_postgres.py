"""The deployment of deploy/ as an operator brings it up: Dagster's instance in a real PostgreSQL
(deploy/dagster.yaml, unchanged but for its environment), the run queue and its writer limits,
the multiprocess executor running the source steps side by side; and the Kubernetes executor
config corpusgov ships, checked against dagster-k8s's own schema.

Slow (Dagster processes, the real model, a PostgreSQL server) and still run in CI; PostgreSQL is
Debian's package, which `make test` installs as root.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from pipelines.errors import ConfigError
from pipelines.governance.catalog import corpus_status
from pipelines.index.reconciliation import reconcile
from pipelines.settings import load_settings
from tests.conftest import DEFAULT_CONTRACT, REPO_ROOT, procedure_text, write_doc
from tests.pipelines.dagster_service import Service, free_port, running_service
from tests.pipelines.postgres_server import PASSWORD, PostgresServer, postgres_server

K8S_EXECUTOR = REPO_ROOT / "deploy" / "k8s" / "executor.yaml"
LEDGER_DATABASE = "corpusgov"  # beside Dagster's own database, on the same server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("deployed")
    for topic in ("receiving", "returns", "dock safety"):
        write_doc(root / "docs", f"{topic.replace(' ', '-')}.md", procedure_text(topic))
    for topic in ("pallet wrapping", "forklift checks"):
        write_doc(root / "wiki", f"{topic.replace(' ', '-')}.md", procedure_text(topic))
    # One question, so the job's eval assets write a version and a baseline to the shared ledger.
    eval_set = root / "evals.jsonl"
    item = {
        "id": "q1",
        "question": "Who handles receiving at the Northwind warehouse?",
        "gold": [
            {
                "doc_id": "docs/receiving.md",
                "passage": "This procedure explains how the operations team handles receiving at "
                "the Northwind warehouse.",
            }
        ],
        "split": "dev",
    }
    eval_set.write_text(json.dumps(item) + "\n", encoding="utf-8")
    postgres.create_database(LEDGER_DATABASE)
    config = root / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {root / 'data'}\nledger_url: {postgres.ledger_url(LEDGER_DATABASE)}\n"
        f"evals:\n  sets:\n    - name: ops\n      path: {eval_set}\nsources:\n"
        f"  - name: docs\n    path: {root / 'docs'}\n    contract: {DEFAULT_CONTRACT}\n"
        f"  - name: wiki\n    path: {root / 'wiki'}\n    contract: {DEFAULT_CONTRACT}\n"
        f"reports:\n  port: {free_port()}\n"
        # docs' 3 files in 2 shards (at most 2), wiki's 2 in 2: the shards run as steps of their own.
        "shards:\n  max: 2\n  documents_per_shard: 1\n",
        encoding="utf-8",
    )
    env = {**postgres.env(), "PGPASSWORD": PASSWORD}  # the ledger's password, as a pod gets it
    with running_service(root, config, REPO_ROOT / "deploy" / "dagster.yaml", env) as service:
        yield service


@pytest.mark.server
def test_the_deployed_instance_runs_the_job_on_postgres(deployed: Service, postgres: PostgresServer) -> None:
    assert (deployed.run["status"], deployed.run["jobName"]) == ("SUCCESS", "ingestion")
    runs = postgres.query("SELECT run_id, status FROM runs")
    assert (deployed.run["runId"], "SUCCESS") in runs, "the run is on record in PostgreSQL"
    tags = dict(postgres.query(f"SELECT key, value FROM run_tags WHERE run_id = '{deployed.run['runId']}'"))
    assert tags.get("corpusgov/writer") == "ingestion", "the writer limit of the run queue applies"


@pytest.mark.server
def test_the_source_steps_and_their_shards_ran_in_processes_of_their_own(
    deployed: Service, postgres: PostgresServer
) -> None:
    started = postgres.query(
        "SELECT step_key FROM event_logs WHERE dagster_event_type = 'STEP_WORKER_STARTED' "
        f"AND run_id = '{deployed.run['runId']}'"
    )
    steps = {row[0] for row in started}
    expected = {
        "sources__docs.docs_plan",
        "sources__docs.docs_shard[0]",
        "sources__docs.docs_shard[1]",
        "sources__docs.docs_merge",
        "sources__wiki.wiki_shard[0]",
        "sources__wiki.wiki_shard[1]",
        "chunk_index",
    }
    assert expected <= steps, steps
    assert "sources__docs.docs_shard[2]" not in steps, "at most `max` shards"


@pytest.mark.server
def test_the_ledger_is_the_shared_postgresql_one(deployed: Service, postgres: PostgresServer) -> None:
    """Every step, in its own process, wrote the one ledger in PostgreSQL: no DuckDB file."""
    states = dict(postgres.query("SELECT state, count(*) FROM documents GROUP BY state", LEDGER_DATABASE))
    assert states == {"indexed": 5}
    assert postgres.query("SELECT count(*) FROM index_versions", LEDGER_DATABASE) == [(1,)]
    assert postgres.query("SELECT count(*) FROM eval_results", LEDGER_DATABASE) == [(1,)]
    assert not (deployed.config.parent / "data" / "ledger.duckdb").exists()


@pytest.mark.server
def test_the_cli_on_another_machine_reads_what_the_deployment_wrote(
    deployed: Service, postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second machine: its own project folder and data dir, the deployment's ledger_url and
    index. status, documents, search and evals answer from the shared ledger and index."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    written = load_settings(deployed.config)
    assert corpus_status(written).index_version == 1 and reconcile(written).consistent
    other = tmp_path / "corpusgov.yaml"
    other.write_text(
        f"data_dir: {tmp_path / 'data'}\nledger_url: {written.ledger_url}\n"
        f"index_uri: {written.lancedb_uri}\nevals:\n  sets:\n    - name: ops\n"
        f"      path: {written.evals.sets[0].path}\n"
        f"sources:\n  - name: docs\n    path: {tmp_path / 'docs'}\n    contract: {DEFAULT_CONTRACT}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "CORPUSGOV_CONFIG": str(other), "PGPASSWORD": PASSWORD}
    env.pop("CORPUSGOV_DATA_DIR", None)

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args, "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    status = cli("status")
    assert status["index_version"] == 1 and status["documents"]["indexed"] == 5
    assert {d["source"] for d in cli("documents")} == {"docs", "wiki"}
    hits = cli("search", "who handles receiving at the warehouse")
    assert hits and hits[0]["doc_id"] == "docs/receiving.md"
    evals = cli("evals", "status")
    assert evals["latest_version"]["index_version"] == 1 and len(evals["baselines"]) == 1
    assert not (tmp_path / "data" / "ledger.duckdb").exists(), "nothing read from a local ledger"


def test_the_shipped_kubernetes_executor_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("CORPUSGOV_EXECUTOR", "k8s")
    monkeypatch.setenv("CORPUSGOV_EXECUTOR_CONFIG", str(K8S_EXECUTOR))
    job = build_definitions().resolve_job_def("ingestion")
    assert job.executor_def.name == "corpusgov_k8s_executor"
    assert dg.validate_run_config(job, {}) is not None, "its config satisfies dagster-k8s's schema"


def test_a_kubernetes_executor_config_dagster_k8s_rejects_fails_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.definitions import build_definitions

    broken = tmp_path / "executor.yaml"
    broken.write_text(K8S_EXECUTOR.read_text() + "max_concurrent: many\n")
    monkeypatch.setenv("CORPUSGOV_EXECUTOR", "k8s")
    monkeypatch.setenv("CORPUSGOV_EXECUTOR_CONFIG", str(broken))
    with pytest.raises(ConfigError, match='max_concurrent. Value "many"'):
        build_definitions()


@pytest.mark.parametrize(
    ("executor", "config", "message"),
    [
        ("celery", None, "Use one of: multiprocess, k8s"),
        ("k8s", None, "needs CORPUSGOV_EXECUTOR_CONFIG"),
        ("k8s", "/nonexistent/executor.yaml", "cannot be read"),
    ],
)
def test_an_executor_corpusgov_cannot_set_up_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, executor: str, config: str | None, message: str
) -> None:
    from pipelines.defs.deployment import deployment_executor

    monkeypatch.setenv("CORPUSGOV_EXECUTOR", executor)
    if config is None:
        monkeypatch.delenv("CORPUSGOV_EXECUTOR_CONFIG", raising=False)
    else:
        monkeypatch.setenv("CORPUSGOV_EXECUTOR_CONFIG", config)
    with pytest.raises(ConfigError, match=message):
        deployment_executor()
