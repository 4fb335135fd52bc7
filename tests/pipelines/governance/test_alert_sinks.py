"""The sink registry: the kinds corpusgov.yaml accepts are the registered sinks, an unknown kind is
one line naming the known ones, and the dispatcher sends through the registry, so a new sink is
one class in `SINKS`."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import pytest

from pipelines.errors import CorpusgovError
from pipelines.governance.alert_records import CONTRACT_VIOLATION, Alert
from pipelines.governance.alert_sinks import SINKS, sink_for
from pipelines.governance.alerts import send_alerts
from pipelines.settings import AlertSinkConfig, load_settings


def test_the_kinds_corpusgov_yaml_accepts_are_the_registered_sinks() -> None:
    accepted = get_args(AlertSinkConfig.model_fields["kind"].annotation)
    assert set(accepted) == set(SINKS)
    for kind, sink in SINKS.items():
        assert sink.kind == kind
        assert sink.summary and "\n" not in sink.summary


def test_an_unknown_kind_is_one_line_naming_the_known_kinds() -> None:
    with pytest.raises(CorpusgovError) as raised:
        sink_for("pager")
    message = str(raised.value)
    assert "\n" not in message
    assert "'pager'" in message
    assert all(kind in message for kind in SINKS)


@dataclass
class RecordingSink:
    """A third sink that keeps what it is sent."""

    kind: str = "recording"
    summary: str = "a list in the test"
    batches: list[tuple[str, list[Alert]]] = field(default_factory=list)

    def send(
        self,
        sink: AlertSinkConfig,
        name: str,
        alerts: list[Alert],
        backoff_seconds: float,
        deadline: float | None,
    ) -> None:
        self.batches.append((name, list(alerts)))


def _alert(doc_id: str) -> Alert:
    return Alert(
        key=f"violation:{doc_id}:contract.too_short:1.0.0",
        kind=CONTRACT_VIOLATION,
        source="docs",
        doc_id=doc_id,
        reason="contract.too_short",
        contract_version="1.0.0",
        message=f"{doc_id} quarantined: contract.too_short",
    )


def test_a_sink_registered_in_sinks_gets_the_alerts_from_send_alerts(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = RecordingSink()
    monkeypatch.setitem(SINKS, recorder.kind, recorder)
    # corpusgov.yaml's Literal only admits shipped kinds: build the config past its validation.
    recording = AlertSinkConfig.model_construct(kind=recorder.kind, name="pager")
    jsonl = AlertSinkConfig(kind="file", path=str(project / "alerts" / "alerts.jsonl"))
    settings = load_settings().model_copy(update={"alerts": [recording, jsonl]})
    alerts = [_alert("a.md"), _alert("b.md")]

    report = send_alerts(settings, alerts, backoff_seconds=0.01)

    assert recorder.batches == [("pager", alerts)]
    assert report.failures == {} and report.sent == 2 and report.sinks == 2
    lines = (project / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
