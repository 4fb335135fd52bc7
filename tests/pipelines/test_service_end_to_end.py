"""The real thing: the bundled model on the sample corpus, and `dagster dev` ingesting it by itself.

Slow (model load, Dagster processes) and still run in CI.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.catalog import corpus_status, list_documents, search_corpus
from pipelines.embedding import SentenceTransformerEmbedder
from pipelines.evaluation import eval_versions
from pipelines.ledger import Ledger
from pipelines.ingestion import run_ingestion
from pipelines.reconciliation import reconcile
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
EVAL_SET = REPO_ROOT / "examples" / "evals" / "sample.jsonl"


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    (root / "corpusgov.yaml").write_text(
        f"data_dir: {root / 'data'}\nsources:\n  - name: sample\n"
        f"    path: {REPO_ROOT / 'examples' / 'corpus'}\n"
        f"    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
        f"evals:\n  sets:\n    - name: sample\n      path: {EVAL_SET}\n"
    )
    return root


@pytest.fixture(scope="module")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def test_sample_corpus_with_the_real_model(sample_project: Path, real_embedder) -> None:
    settings = load_settings(sample_project / "corpusgov.yaml")
    report = run_ingestion(settings, real_embedder)

    states = {r["doc_id"]: r for r in list_documents(settings)}
    assert len(states) == 30 == report.discovered
    assert states["sample/inbox/untitled.txt"]["reasons"] == ["discover.empty_file"]
    assert states["sample/archive/rate-card-2019.pdf"]["reasons"] == ["parse.failed"]
    assert states["sample/inbox/scan-0042.txt"]["state"] == "rejected"
    assert states["sample/blog/peak-season-readiness.html"]["provenance"] == "ai_generated"
    assert real_embedder.model_id.startswith("sentence-transformers/all-MiniLM-L6-v2@sha256:")
    assert reconcile(settings).consistent

    items = [json.loads(line) for line in EVAL_SET.read_text().splitlines() if line.strip()]
    hits = 0
    for item in items:
        top = search_corpus(settings, real_embedder, item["question"], k=5)
        hits += any(h.doc_id == item["gold"][0]["doc_id"] for h in top)
    # Retrieval on real embeddings finds the gold document for nearly every question.
    assert hits / len(items) >= 0.8, f"hit@5 = {hits}/{len(items)}"

    again = run_ingestion(settings, real_embedder)
    assert not again.changed and again.index_version is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_dagster_dev_ingests_the_sample_corpus_by_itself(
    sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    data_dir = tmp_path / "data"
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "CORPUSGOV_CONFIG": str(sample_project / "corpusgov.yaml"),
           "CORPUSGOV_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 420
        status = None
        while time.monotonic() < deadline:
            time.sleep(3)
            try:
                runs = _graphql(port, "{ runsOrError { ... on Runs { results { status jobName } } } }")
            except OSError:
                continue
            results = runs["data"]["runsOrError"]["results"]
            if results and results[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
                status = results[0]
                break
        assert status == {"status": "SUCCESS", "jobName": "ingestion"}, status
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    monkeypatch.setenv("CORPUSGOV_DATA_DIR", str(data_dir))
    settings = load_settings(sample_project / "corpusgov.yaml")
    summary = corpus_status(settings)
    assert summary["index_version"] == 1
    versions = eval_versions(Ledger(settings.ledger_path), "sample")
    assert [v.index_version for v in versions] == [1], "the eval set follows the index by itself"
    assert summary["documents"]["indexed"] + summary["documents"]["rejected"] + summary["documents"]["quarantined"] == 30
