"""The Dagster layer: definitions load, the asset graph shows the governance, and a real job
execution runs the same ingestion as the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.governance.catalog import corpus_status
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT, dagster_definitions, procedure_text, write_doc
from tests.evals.judge_server import FakeJudgeServer
from tests.pipelines.contract_files import write_contract


def _two_sources(project: Path) -> None:
    strict = write_contract(project / "strict.odcs.yaml", custom={"maxViolationRate": 0.0})
    (project / "corpusgov.yaml").write_text(
        "data_dir: data\nsources:\n"
        f"  - name: handbook\n    path: handbook\n    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
        f"  - name: wiki\n    path: wiki\n    contract: {strict}\n",
        encoding="utf-8",
    )


def test_the_asset_graph_shows_one_governed_asset_per_source(project: Path) -> None:
    _two_sources(project)
    defs = dagster_definitions()
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "sources/handbook": "sources",
        "sources/wiki": "sources",
        "chunk_index": "index",
        "eval_set_versions": "evals",
        "eval_baselines": "evals",
        "alert_log": "alerts",
    }
    checks = {key.name: key.asset_key.to_user_string() for key in graph.asset_check_keys}
    assert checks == {
        "contract_handbook": "sources/handbook",
        "contract_wiki": "sources/wiki",
        "ledger_index_reconciliation": "chunk_index",
        "ai_generated_share_budget": "chunk_index",
        "quality_floor": "chunk_index",
        "publication_gate": "chunk_index",
    }
    handbook = graph.get(dg.AssetKey(["sources", "handbook"]))
    assert handbook.owners == ["team:data-platform", "data-platform@example.com"]
    assert dg.AssetKey(["sources", "wiki"]) in graph.get(dg.AssetKey(["chunk_index"])).parent_keys
    assert defs.resolve_job_def("ingestion") is not None
    assert defs.resolve_job_def("promote_index_version") is not None
    assert defs.resolve_sensor_def("source_folder_sensor") is not None
    assert defs.resolve_sensor_def("run_failure_alert_sensor") is not None
    assert defs.resolve_schedule_def("nightly_full_pass") is not None


@pytest.mark.dagster
def test_materializing_the_job_ingests_and_reconciles(project: Path) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "empty.md", b"")
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {
            "contract_docs": True,
            "ledger_index_reconciliation": True,
            "ai_generated_share_budget": True,
            "quality_floor": True,
            "publication_gate": True,
        }
        materialization = next(m for m in result.asset_materializations_for_node("chunk_index"))
        assert materialization.metadata["index_version"].value == 1
        assert "discover.empty_file" in materialization.metadata["reasons_not_indexed"].value
    status = corpus_status(load_settings())
    assert status.index_version == 1
    assert status.documents["indexed"] == 1 and status.documents["rejected"] == 1


@pytest.mark.dagster
def test_a_source_over_budget_blocks_only_itself_in_the_job(project: Path) -> None:
    _two_sources(project)
    write_doc(project / "handbook", "receiving.md", procedure_text("receiving"))
    write_doc(project / "wiki", "returns.md", procedure_text("returns"))
    write_doc(project / "wiki", "note.md", "# Note\n\nToo short to keep.\n")
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success, "a blocked source is not a failed run"
        evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
        wiki = evaluations["contract_wiki"]
        assert not wiki.passed and wiki.severity == dg.AssetCheckSeverity.ERROR
        assert "blocked" in (wiki.description or "")
        table = wiki.metadata["failing_documents"].value
        assert "`wiki/note.md`" in table and "`contract.text_too_short`" in table and "chars < 40" in table
        assert "quarantine list --blocked" in wiki.metadata["next_step"].value
        assert evaluations["contract_handbook"].passed
        assert evaluations["ledger_index_reconciliation"].passed, "the index is intact"
        index = next(m for m in result.asset_materializations_for_node("chunk_index"))
        assert "not updated: source 'wiki' blocked" in index.metadata["not_updated"].value
        assert index.metadata["held_back"].value == 2
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.tags.get("corpusgov/blocked") == "wiki", "the Runs list says blocked"
    status = corpus_status(load_settings())
    assert status.documents["indexed"] == 1, "the healthy source was committed"


@pytest.mark.dagster
def test_materializing_chunk_index_alone_does_its_work(project: Path) -> None:
    """The UI's Materialize on chunk_index: no staged parts from a source asset, so it prepares
    the sources itself (no stale input to trip over)."""
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    # What the UI's button launches: the implicit asset job with one asset selected.
    job = dagster_definitions().resolve_implicit_global_asset_job_def()
    chunk_index = [dg.AssetKey(["chunk_index"])]
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance, asset_selection=chunk_index).success
        write_doc(project / "corpus", "returns.md", procedure_text("returns"))
        assert job.execute_in_process(instance=instance, asset_selection=chunk_index).success
    status = corpus_status(load_settings())
    assert (status.index_version, status.documents["indexed"]) == (2, 2)


@pytest.mark.dagster
def test_dagster_definitions_validate_passes() -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(REPO_ROOT / "dagster_home"),
        "CORPUSGOV_CONFIG": str(REPO_ROOT / "corpusgov.yaml"),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.dagster
def test_the_eval_assets_show_the_changelog_and_the_judges_bill(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = REPO_ROOT / "examples" / "corpus"
    evals = REPO_ROOT / "examples" / "evals" / "sample.jsonl"
    rows = [json.loads(line) for line in evals.read_text().splitlines()]
    (project / "answers.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], "answer": r["gold"][0]["passage"]}) + "\n" for r in rows)
    )
    with FakeJudgeServer() as judge:
        monkeypatch.setenv("JUDGE_KEY", judge.api_key)
        # One item's prompts always fail: it is "not measured", counted, and the run still succeeds.
        judge.fail_when(rows[0]["gold"][0]["passage"][:60], 500)
        (project / "corpusgov.yaml").write_text(
            f"data_dir: data\nsources:\n  - name: sample\n    path: {sample}\n"
            f"    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
            f"evals:\n  sets:\n    - name: sample\n      path: {evals}\n  answers: answers.jsonl\n"
            f"  judge:\n    base_url: {judge.base_url}\n    model: {judge.model}\n    api_key: ${{JUDGE_KEY}}\n"
            "    max_retries: 1\n    retry_base_seconds: 0.01\n",
            encoding="utf-8",
        )
        holdout = [r["id"] for r in rows if r["split"] == "holdout"]
        with dg.instance_for_test() as instance:
            result = dagster_definitions().resolve_job_def("ingestion").execute_in_process(instance=instance)
        assert result.success
        versions = next(m for m in result.asset_materializations_for_node("eval_set_versions"))
        table = versions.metadata["sample_changelog"].value
        assert table.startswith("| status | dev items | holdout items | dev item ids |")
        assert "resolved" in table and not any(f"`{item}`" in table for item in holdout)
        baselines = next(m for m in result.asset_materializations_for_node("eval_baselines")).metadata
        assert 0.0 <= baselines["sample_ndcg_at_5"].value <= 1.0
        assert baselines["sample_generation"].value == "measured"
        assert 0.0 <= baselines["sample_faithfulness"].value <= 1.0
        assert baselines["sample_judge_calls_made"].value == judge.answered > 0
        assert "sample_judge_calls_cached" in baselines
        assert baselines["sample_judge_failures"].value >= 1
        assert "| faithfulness |" in baselines["sample_generation_table"].value


@pytest.mark.dagster
def test_materializing_a_source_alone_checks_it_and_commits_nothing(project: Path) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    job = dagster_definitions().resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(["sources", "docs"])])
        assert result.success
        [check] = result.get_asset_check_evaluations()
        assert (check.check_name, check.passed) == ("contract_docs", True)
    assert corpus_status(load_settings()).index_version is None, "only chunk_index commits"


def test_editing_a_contract_or_the_config_starts_a_run(project: Path) -> None:
    from pipelines.defs.automation.sensors import source_folder_sensor
    from pipelines.defs.resources import CorpusgovResource

    contract = write_contract(project / "own.odcs.yaml")
    config = project / "corpusgov.yaml"
    config.write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {contract}\n",
        encoding="utf-8",
    )
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))

    def tick(cursor: str | None) -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(cursor=cursor, resources={"corpusgov": CorpusgovResource()})
        return source_folder_sensor(context)

    first = tick(None)
    assert isinstance(first, dg.SensorResult) and first.run_requests
    assert isinstance(tick(first.cursor), dg.SkipReason), "nothing changed"
    write_contract(contract, version="1.1.0", min_length=200)
    after_contract = tick(first.cursor)
    assert isinstance(after_contract, dg.SensorResult) and after_contract.run_requests
    config.write_text(config.read_text(encoding="utf-8") + "evals:\n  k: 3\n", encoding="utf-8")
    after_config = tick(after_contract.cursor)
    assert isinstance(after_config, dg.SensorResult) and after_config.run_requests


@pytest.mark.dagster
def test_a_sources_check_stays_warn_while_its_documents_stay_quarantined(project: Path) -> None:
    """A run another source triggered leaves the WARN in place: the check says where the source
    stands (its quarantined documents), not only what this run changed."""
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "note.md", "# Note\n\nToo short to keep.\n")  # quarantined, within budget
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        first = job.execute_in_process(instance=instance)
        [warned] = [e for e in first.get_asset_check_evaluations() if e.check_name == "contract_docs"]
        assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
        write_doc(project / "corpus", "returns.md", procedure_text("returns"))  # an unrelated change
        second = job.execute_in_process(instance=instance)
        [still] = [e for e in second.get_asset_check_evaluations() if e.check_name == "contract_docs"]
    assert not still.passed and still.severity == dg.AssetCheckSeverity.WARN, still.description
    assert "1 document of this source quarantined" in (still.description or "")
    assert "`docs/note.md`" in still.metadata["failing_documents"].value
    assert "earlier run" in still.metadata["failing_documents"].value
