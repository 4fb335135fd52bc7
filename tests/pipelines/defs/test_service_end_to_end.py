"""The real thing: the bundled model on the sample corpus (the running service is in
tests/pipelines/defs/test_service_in_a_browser.py).

Slow (model load, Dagster processes) and still run in CI.
"""

import json
from pathlib import Path

import pytest

from pipelines.embedding.backends import embedder_from_settings
from pipelines.embedding.model import Embedder
from pipelines.governance.catalog import list_documents, search_corpus
from pipelines.governance.ingest import ingest
from pipelines.index.reconciliation import reconcile
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.model
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
def real_embedder(sample_project: Path) -> Embedder:
    """What a user gets: the default backend of corpusgov.yaml (OpenVINO) on the bundled model."""
    return embedder_from_settings(load_settings(sample_project / "corpusgov.yaml"))


def test_sample_corpus_with_the_real_model(sample_project: Path, real_embedder) -> None:
    settings = load_settings(sample_project / "corpusgov.yaml")
    report = ingest(settings, real_embedder).report  # committed and published: search reads it

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
