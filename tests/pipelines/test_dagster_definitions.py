"""The Dagster layer: definitions load, the asset graph and checks are what the UI shows, and a
materialization runs the same ingestion as the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import pipelines.defs.resources as resources
from pipelines.catalog import corpus_status
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT, FakeEmbedder, procedure_text, write_doc


def load_defs() -> dg.Definitions:
    import importlib

    import pipelines.defs.ingestion.definitions as ingestion_definitions
    import pipelines.definitions as definitions

    importlib.reload(ingestion_definitions)
    return importlib.reload(definitions).defs


def test_asset_graph_groups_and_checks(project: Path) -> None:
    defs = load_defs()
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"corpus_documents": "ingestion", "chunk_index": "index", "eval_baselines": "evals"}
    checks = {key.name: key.asset_key.to_user_string() for key in graph.asset_check_keys}
    assert checks == {
        "contract_docs": "corpus_documents",
        "ledger_index_reconciliation": "chunk_index",
        "ai_generated_share_budget": "chunk_index",
        "quality_floor": "chunk_index",
    }
    assert defs.resolve_job_def("ingestion") is not None
    assert defs.resolve_sensor_def("source_folder_sensor") is not None
    assert defs.resolve_schedule_def("nightly_full_pass") is not None


def test_materializing_the_job_ingests_and_reconciles(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = FakeEmbedder()
    monkeypatch.setattr(resources, "embedder_from_settings", lambda *_: embedder)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "empty.md", b"")
    defs = load_defs()
    job = defs.resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {
            "contract_docs": True, "ledger_index_reconciliation": True,
            "ai_generated_share_budget": True, "quality_floor": True,
        }
        materialization = next(
            m for m in result.asset_materializations_for_node("chunk_index")
        )
        assert materialization.metadata["index_version"].value == 1
        assert "discover.empty_file" in materialization.metadata["reasons_not_indexed"].value
    status = corpus_status(load_settings())
    assert status["index_version"] == 1
    assert status["documents"]["indexed"] == 1 and status["documents"]["rejected"] == 1


@pytest.mark.slow
def test_dagster_definitions_validate_passes() -> None:
    env = {**os.environ, "DAGSTER_HOME": str(REPO_ROOT / "dagster_home"),
           "CORPUSGOV_CONFIG": str(REPO_ROOT / "corpusgov.yaml")}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
