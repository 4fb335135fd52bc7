"""The alert sensors are in the code location, on by default; what they sent is readable in the
UI (an `alert_log` materialization and the tick's cursor), and a blocked or failed run in the
Dagster path alerts like one in the CLI path."""

import json
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.automation.sensors import ALERT_LOG, contract_alert_sensor
from pipelines.defs.resources import CorpusgovResource
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, dagster_definitions, procedure_text, write_doc
from tests.pipelines.contract_files import write_contract
from tests.pipelines.governance.test_alerts_webhook import Hook, hook  # noqa: F401 - the webhook fixture


def sense_run_failure(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
    """What `run_failure_alert_sensor` does on the failure of the run `result`."""
    from pipelines.defs.automation.sensors import run_failure_alert_sensor

    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
        resources={"corpusgov": CorpusgovResource()},
    ).for_run_failure()
    run_failure_alert_sensor(context)


def evaluate(project: Path) -> dg.SensorResult | dg.SkipReason:
    resource = CorpusgovResource()
    context = dg.build_sensor_context(resources={"corpusgov": resource})
    return contract_alert_sensor(context)


def test_the_alert_sensors_are_loaded_and_running_by_default(project: Path) -> None:
    defs = dagster_definitions()
    for name in ("contract_alert_sensor", "run_failure_alert_sensor"):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("contract_alert_sensor").minimum_interval_seconds == 30


def test_what_was_sent_is_an_alert_log_materialization_and_the_ticks_line(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text() + "alerts:\n  - kind: file\n    name: audit\n    path: alerts.jsonl\n"
    )
    write_doc(project / "corpus", "tiny.md", "# Hi\n\nok\n")
    run_ingestion(load_settings(), fake_embedder)

    first = evaluate(project)
    second = evaluate(project)

    assert isinstance(first, dg.SensorResult)
    assert first.cursor is None, "a quiet tick must not show the last send again"
    assert first.skip_reason is not None and first.skip_reason.skip_message == "Sent 1 alert to 1 sink."
    [event] = first.asset_events
    assert event.asset_key == ALERT_LOG
    assert "docs/tiny.md" in event.metadata["alerts"].value
    assert isinstance(second, dg.SkipReason)
    assert second.skip_message == "No new violations; 1 already sent."
    lines = (project / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == ["docs/tiny.md"]


def test_the_alert_sensor_says_when_no_sink_is_configured(project: Path) -> None:
    result = evaluate(project)
    assert isinstance(result, dg.SkipReason)
    assert "No alert sinks configured" in (result.skip_message or "")


@pytest.mark.dagster
def test_a_blocked_run_in_the_dagster_path_alerts_the_jsonl_sink_and_the_webhook(
    project: Path,
    hook: Hook,  # noqa: F811
) -> None:
    """The field report: two runs blocked over budget in Dagster reached no sink."""
    strict = write_contract(project / "strict.odcs.yaml", custom={"maxViolationRate": 0.0})
    (project / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {strict}\n"
        "alerts:\n"
        f"  - kind: webhook\n    url: '{hook.url}'\n    max_attempts: 1\n"
        "  - kind: file\n    path: alerts.jsonl\n",
        encoding="utf-8",
    )
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "note.md", "# Note\n\nToo short to keep.\n")
    defs = dagster_definitions()
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("ingestion").execute_in_process(instance=instance).success
    result = evaluate(project)
    assert isinstance(result, dg.SensorResult)
    kinds = [json.loads(line)["kind"] for line in (project / "alerts.jsonl").read_text().splitlines()]
    assert kinds == ["check_failed"]
    [body] = hook.bodies
    assert "blocked run" in body["text"] and "source 'docs'" in body["text"]
    assert isinstance(evaluate(project), dg.SkipReason), "once per key"


@pytest.mark.dagster
def test_a_failed_step_in_the_dagster_path_alerts(project: Path) -> None:
    """A step that raises: the run failure sensor records it, the alert sensor sends it."""
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text() + "alerts:\n  - kind: file\n    path: alerts.jsonl\n")
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    (project / "data").mkdir()
    (project / "data" / "lancedb").write_text("a file where the index folder belongs")
    defs = dagster_definitions()
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingestion").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        sense_run_failure(instance, result)
        # The reconciliation check the run never reached is evaluated, with its findings, not
        # left "Execution failed" with no text.
        key = dg.AssetCheckKey(dg.AssetKey(["chunk_index"]), "ledger_index_reconciliation")
        [latest] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        evaluation = latest.event.dagster_event.event_specific_data  # type: ignore[union-attr]
        assert evaluation.description, "its findings, in words"
        assert f"after run {result.run_id} failed" in evaluation.metadata["evaluated"].value
    evaluate(project)
    lines = [json.loads(line) for line in (project / "alerts.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["run_failed"]
    assert result.dagster_run.run_id in lines[0]["message"]
    # The step's error and the alert say why, in the CLI's one line, not "An exception was thrown".
    [step] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    said = step.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert len(said.splitlines()) == 1 and "is a file where the index folder belongs" in said, said
    assert "is a file where the index folder belongs" in lines[0]["message"]
    assert "An exception was thrown" not in lines[0]["message"]
    assert lines[0]["source"] == "docs", "the source whose step failed"


@pytest.mark.dagster
def test_a_broken_contract_and_a_missing_folder_alert_from_the_dagster_path(project: Path) -> None:
    broken = project / "broken.odcs.yaml"
    broken.write_text("apiVersion: v3.2.0\nkind: DataContract\n", encoding="utf-8")
    (project / "corpusgov.yaml").write_text(
        "data_dir: data\nsources:\n"
        f"  - name: docs\n    path: corpus\n    contract: {broken}\n"
        f"  - name: ghost\n    path: nowhere\n    contract: {project / 'ok.odcs.yaml'}\n"
        "alerts:\n  - kind: file\n    path: alerts.jsonl\n",
        encoding="utf-8",
    )
    write_contract(project / "ok.odcs.yaml")
    with dg.instance_for_test() as instance:
        result = dagster_definitions().resolve_job_def("ingestion").execute_in_process(instance=instance)
        assert result.success, "broken sources are reported, not a failed run"
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not checks["contract_docs"].passed and not checks["contract_ghost"].passed
    evaluate(project)
    lines = [json.loads(line) for line in (project / "alerts.jsonl").read_text().splitlines()]
    assert sorted((line["kind"], line["source"]) for line in lines) == [
        ("source_error", "docs"),
        ("source_error", "ghost"),
    ]


@pytest.mark.dagster
def test_a_dagster_run_failing_just_after_its_commit_alerts_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`chunk_index` dies right after the ledger commit (a killed step process, as far as the run
    can tell): the run is committed as index version 1 under the Dagster run's id, and its failure
    still alerts, exactly once (it joined the committed run's row, which used to swallow it)."""
    from pipelines.ledger import Ledger
    from pipelines.run import ingestion

    config = project / "corpusgov.yaml"
    config.write_text(config.read_text() + "alerts:\n  - kind: file\n    path: alerts.jsonl\n")
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))

    def killed_after_the_commit(name: str) -> None:
        if name == "commit.after_ledger_commit":
            raise RuntimeError("the step process was killed")

    monkeypatch.setattr(ingestion, "stop_point", killed_after_the_commit)
    defs = dagster_definitions()
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingestion").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        for _ in range(2):  # a sensor evaluated twice on one failure (a restart) records it once
            sense_run_failure(instance, result)
    [version] = Ledger.of(load_settings()).index_versions()
    assert version.index_version == 1, "the commit stands"
    evaluate(project)
    evaluate(project)
    lines = [json.loads(line) for line in (project / "alerts.jsonl").read_text().splitlines()]
    failed = [line for line in lines if line["kind"] == "run_failed"]
    assert len(failed) == 1, lines
    assert result.dagster_run.run_id in failed[0]["message"]
    assert "the step process was killed" in failed[0]["message"]


def test_a_failed_step_names_its_source() -> None:
    from pipelines.defs.sources.assets import source_of_step

    sources = ["docs", "hr-notes"]
    assert source_of_step("docs.docs_shard[1]", sources) == "docs"
    assert source_of_step("hr_notes.hr_notes_plan", sources) == "hr-notes"
    assert source_of_step("hr_notes_merge", sources) == "hr-notes"
    assert source_of_step("chunk_index", sources) is None
    assert source_of_step(None, sources) is None
