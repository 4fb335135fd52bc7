"""The alert sensor: contract violations, blocked runs and broken sources, sent to the sinks
configured under `alerts:` in corpusgov.yaml. It requests no runs; its skip reason says what it
sent, so the UI's sensor history is the alert log."""

import dagster as dg

from pipelines.alerts import dispatch_alerts
from pipelines.defs.resources import CorpusgovResource
from pipelines.errors import CorpusgovError

# Dagster stops a sensor evaluation after 60 s by default: give up on retries well before that.
DISPATCH_DEADLINE_SECONDS = 40.0


@dg.sensor(
    name="contract_alert_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends new contract violations (one alert per document, reason and contract "
    "version), blocked ingestion runs and broken sources to the webhook and JSONL sinks under "
    "`alerts:` in corpusgov.yaml. A standing violation alerts once; a failed sink is retried on "
    "the next evaluation.",
)
def contract_alert_sensor(
    context: dg.SensorEvaluationContext, corpusgov: CorpusgovResource
) -> dg.SkipReason:
    try:
        settings = corpusgov.settings()
        report = dispatch_alerts(settings, deadline_seconds=DISPATCH_DEADLINE_SECONDS)
    except CorpusgovError as err:
        return dg.SkipReason(f"Alerts not evaluated: {err}")
    for sink, error in sorted(report.failures.items()):
        # Failure messages name the sink, never its URL.
        context.log.warning(f"Alert sink {sink} failed: {error}")
    return dg.SkipReason(report.summary())
