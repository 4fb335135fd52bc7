"""The alert sensor is in the code location, on by default, and says in its skip reason what it
sent."""

import importlib
import json
from pathlib import Path

import dagster as dg

from pipelines.defs.alerts.sensors import contract_alert_sensor
from pipelines.defs.resources import CorpusgovResource
from pipelines.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, write_doc


def evaluate(project: Path) -> dg.SkipReason:
    resource = CorpusgovResource(config_path=str(project / "corpusgov.yaml"))
    context = dg.build_sensor_context(resources={"corpusgov": resource})
    return contract_alert_sensor(context)


def test_the_alert_sensor_is_loaded_and_running_by_default(project: Path) -> None:
    import pipelines.definitions as definitions

    sensor = importlib.reload(definitions).defs.resolve_sensor_def("contract_alert_sensor")

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30


def test_the_alert_sensor_sends_new_violations_once(
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

    assert isinstance(first, dg.SkipReason)
    assert first.skip_message == "Sent 1 alert to 1 sink."
    assert second.skip_message == "No new violations; 1 already sent."
    lines = (project / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["doc_id"] for line in lines] == ["docs/tiny.md"]


def test_the_alert_sensor_says_when_no_sink_is_configured(project: Path) -> None:
    result = evaluate(project)

    assert "No alert sinks configured" in (result.skip_message or "")
