"""Alerts: contract violations, blocked runs and broken sources, sent once to configured sinks.

Alerts are derived from the ledger (quarantined documents, `ingestion_runs`), so nothing has to
remember to raise them. Each alert has a dedup key; a key is written to the ledger table `alerts`
only when every sink accepted it, so a standing violation alerts once, and a sink that failed gets
the alert again on the next evaluation (at-least-once: a sink that already accepted it may see it
twice). Webhook URLs are secrets (Slack embeds the token in the path): they never appear in logs,
errors or reports; a sink is named by its `name` or its position, e.g. `webhook #1`.
"""

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.rules import is_contract_reason
from pipelines.contract.checks import ContractCheck
from pipelines.governance.alert_records import (
    CHECK_CLEARED,
    CHECK_FAILED,
    CONTRACT_VIOLATION,
    PROMOTION_BLOCKED,
    RUN_FAILED,
    SOURCE_ERROR,
    Alert,
    AlertSinkError,
    one_line,
    plural,
)
from pipelines.governance.alert_sinks import WEBHOOK_MAX_LINES, sink_for, webhook_payload
from pipelines.ledger import Ledger
from pipelines.ledger.alerts import AlertInputs, SentAlert, alert_inputs, record_sent_alerts
from pipelines.ledger.records import RunFailure
from pipelines.run.failed_runs import flush_failed_runs
from pipelines.settings import AlertSinkConfig, Settings

# The sinks and the alert record live in alert_sinks.py and alert_records.py; their public names
# stay importable from here, where callers have always found them.
__all__ = [
    "CHECK_CLEARED",
    "CHECK_FAILED",
    "CONTRACT_VIOLATION",
    "PROMOTION_BLOCKED",
    "RUN_FAILED",
    "SOURCE_ERROR",
    "WEBHOOK_MAX_LINES",
    "Alert",
    "AlertSinkError",
    "DispatchReport",
    "collect_alerts",
    "dispatch_alerts",
    "send_alerts",
    "sink_name",
    "webhook_payload",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchReport:
    """What one evaluation did. Failures are keyed by sink name and never hold a URL."""

    sent: int
    skipped_already_sent: int
    failures: dict[str, str] = field(default_factory=dict)
    unsent: int = 0  # alerts a sink refused: retried on the next evaluation
    sinks: int = 0
    sent_alerts: tuple["Alert", ...] = ()  # the alerts of this evaluation, delivered or tried

    def summary(self) -> str:
        """One line for the sensor's skip reason and the logs."""
        if not self.sinks:
            return "No alert sinks configured under `alerts:` in corpusgov.yaml."
        parts = []
        if self.sent:
            parts.append(f"sent {plural(self.sent, 'alert')} to {plural(self.sinks, 'sink')}")
        if self.unsent:
            failed = "; ".join(f"{name}: {error}" for name, error in sorted(self.failures.items()))
            parts.append(f"{plural(self.unsent, 'alert')} not sent, retried next time ({failed})")
        if not parts:
            parts.append("no new violations")
        if self.skipped_already_sent:
            parts.append(f"{self.skipped_already_sent} already sent")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


def collect_alerts(settings: Settings) -> list[Alert]:
    """Every alert the ledger supports now, already sent or not: blocked runs and broken sources
    first, then one per (document, reason, contract version) of quarantined documents."""
    return _ledger_alerts(alert_inputs(Ledger.of(settings)))


def send_alerts(
    settings: Settings,
    alerts: list[Alert],
    backoff_seconds: float = 1.0,
    deadline_seconds: float | None = None,
) -> DispatchReport:
    """Send `alerts` to every configured sink, as one batch per sink.

    A webhook is retried with exponential backoff (`backoff_seconds`, doubling) on connection
    errors, timeouts, 429 and 5xx, up to the sink's `max_attempts`; `deadline_seconds` caps the
    whole call so a Dagster sensor evaluation finishes in time. Nothing here records what was sent:
    `dispatch_alerts` does.
    """
    sinks = settings.alerts
    if not alerts or not sinks:
        return DispatchReport(sent=0, skipped_already_sent=0, sinks=len(sinks))
    deadline = time.monotonic() + deadline_seconds if deadline_seconds is not None else None
    failures: dict[str, str] = {}
    for position, sink in enumerate(sinks, start=1):
        name = sink_name(sink, position)
        try:
            sink_for(sink.kind).send(sink, name, alerts, backoff_seconds, deadline)
        except AlertSinkError as err:
            logger.warning("Alert sink %s failed: %s", name, err)
            failures[name] = str(err)
        except Exception as err:  # noqa: BLE001 - one broken sink must not silence the others
            # Only the type: a library's message may quote the URL, and with it the token.
            failures[name] = f"{name} failed unexpectedly ({type(err).__name__}); retried next time"
            logger.warning("Alert sink %s failed: %s", name, failures[name])
    delivered = 0 if failures else len(alerts)
    return DispatchReport(
        sent=delivered,
        skipped_already_sent=0,
        failures=failures,
        unsent=len(alerts) - delivered,
        sinks=len(sinks),
    )


def dispatch_alerts(
    settings: Settings, backoff_seconds: float = 1.0, deadline_seconds: float | None = None
) -> DispatchReport:
    """Collect alerts from the ledger, send the ones not sent before, and record what every sink
    accepted. What the alert sensor runs on every evaluation. Failed runs that waited for the
    ledger in the local spool (pipelines/run/failed_runs.py) go in first."""
    flush_failed_runs(settings)
    if not settings.alerts:
        return DispatchReport(sent=0, skipped_already_sent=0)
    ledger = Ledger.of(settings)
    if not ledger.exists():
        return DispatchReport(sent=0, skipped_already_sent=0, sinks=len(settings.alerts))
    inputs = alert_inputs(ledger)
    alerts = _ledger_alerts(inputs)
    new = [a for a in alerts if a.key not in inputs.sent_keys]
    report = send_alerts(settings, new, backoff_seconds, deadline_seconds)
    if report.sent:
        names = [sink_name(s, i) for i, s in enumerate(settings.alerts, start=1)]
        _record_sent(settings, new, names)
    return DispatchReport(
        sent=report.sent,
        skipped_already_sent=len(alerts) - len(new),
        failures=report.failures,
        unsent=report.unsent,
        sinks=report.sinks,
        sent_alerts=tuple(new),
    )


def sink_name(sink: AlertSinkConfig, position: int) -> str:
    """How logs and reports name a sink: its `name`, else `<kind> #<position in alerts:>`."""
    return sink.name or f"{sink.kind} #{position}"


def _ledger_alerts(inputs: AlertInputs) -> list[Alert]:
    alerts: dict[str, Alert] = {}
    for event_id, eval_set, kind, message, details in inputs.eval_events:
        # Re-baselines, index-change deltas explained, regressions between comparable results.
        key = f"eval:{event_id}"
        alerts[key] = Alert(
            key=key,
            kind=f"eval_{kind}",
            source=eval_set,
            doc_id=None,
            reason=kind,
            contract_version=None,
            message=message,
            details=details,
        )
    # A source's block is one episode from the run that blocked it until a run lets its changes
    # in: one `check_failed` when it starts (or its reasons or contract change), one
    # `check_cleared` when it ends, however many runs it stands through.
    blocks: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for run_id, finished_at, summary in inputs.runs:
        for alert in _run_alerts(run_id, finished_at, summary):
            alerts.setdefault(alert.key, alert)
        when = {"run_id": run_id, "finished_at": finished_at.isoformat()}
        for stored in summary.get("contract_checks", []):
            # Summaries of older runs have no per-check "blocked": the run's own says it.
            check = ContractCheck.from_json({"blocked": summary.get("blocked", False), **stored})
            if check.error:
                continue
            episode = blocks.get(check.source)
            if check.blocked:
                identity = (check.contract_version, tuple(sorted(check.violations_by_reason)))
                if episode is None or episode[1] != identity:
                    blocks[check.source] = (run_id, identity)
                    alert = _blocked_alert(run_id, check, when)
                    alerts.setdefault(alert.key, alert)
            elif episode is not None:
                del blocks[check.source]
                alert = _cleared_alert(episode[0], run_id, check, when)
                alerts.setdefault(alert.key, alert)
    for held in inputs.held_back_versions:
        key = f"{PROMOTION_BLOCKED}:{held.index_version}"
        failures = "; ".join(held.verdict.get("failures", [])) or "see corpusgov index versions"
        alerts.setdefault(
            key,
            Alert(
                key=key,
                kind=PROMOTION_BLOCKED,
                source="index",
                doc_id=None,
                reason=PROMOTION_BLOCKED,
                contract_version=None,
                message=one_line(
                    f"index version {held.index_version} held back from publication, RAG apps still read "
                    f"version {held.verdict.get('served_version')}: {failures}. `corpusgov index promote "
                    f"{held.index_version}` publishes it anyway."
                ),
                details=held.verdict,
            ),
        )
    for doc_id, source, path, reasons, detail, contract_id, contract_version in inputs.quarantined:
        for reason in reasons:
            if not is_contract_reason(reason):
                continue
            key = f"violation:{doc_id}:{reason}:{contract_version}"
            alerts.setdefault(
                key,
                Alert(
                    key=key,
                    kind=CONTRACT_VIOLATION,
                    source=source,
                    doc_id=doc_id,
                    reason=reason,
                    contract_version=contract_version,
                    message=f"{doc_id} quarantined: {reason} (contract {contract_id} v{contract_version})",
                    details={"path": path, "contract_id": contract_id, "detail": detail},
                ),
            )
    return list(alerts.values())


def _run_alerts(run_id: str, finished_at: datetime, summary: dict[str, Any]) -> list[Alert]:
    alerts = []
    failed = summary.get("failed")
    if failed:
        failure = RunFailure.from_json(failed)
        alerts.append(
            Alert(
                key=f"run_failed:{run_id}",
                kind=RUN_FAILED,
                source=",".join(summary.get("sources", [])),
                doc_id=None,
                reason=failure.kind,
                contract_version=None,
                message=one_line(f"ingestion run {run_id} failed at {failure.step}: {failure.error}"),
                details={"run_id": run_id, "finished_at": finished_at.isoformat(), **failure.as_json()},
            )
        )
    for stored in summary.get("contract_checks", []):
        # Summaries of older runs have no per-check "blocked": the run's own says it.
        check = ContractCheck.from_json({"blocked": summary.get("blocked", False), **stored})
        when = {"run_id": run_id, "finished_at": finished_at.isoformat()}
        if check.error:
            digest = hashlib.sha256(check.error.encode()).hexdigest()[:16]
            alerts.append(
                Alert(
                    key=f"source_error:{check.source}:{digest}",
                    kind=SOURCE_ERROR,
                    source=check.source,
                    doc_id=None,
                    reason=None,
                    contract_version=check.contract_version,
                    message=one_line(check.error),
                    details={**when, "error": check.error},
                )
            )
    return alerts


def _blocked_alert(run_id: str, check: ContractCheck, when: dict[str, str]) -> Alert:
    top = ", ".join(
        f"{reason} ({count})" for reason, count in Counter(check.violations_by_reason).most_common(3)
    )
    governed = check.governed or check.checked
    return Alert(
        key=f"check_failed:{run_id}:{check.source}",
        kind=CHECK_FAILED,
        source=check.source,
        doc_id=None,
        reason=None,
        contract_version=check.contract_version,
        message=f"run blocked for source '{check.source}', its changes held back: "
        f"{check.violation_rate:.0%} of {governed} governed documents violate {check.contract_ref} "
        f"(budget {check.max_violation_rate:.0%}); top reasons: {top or 'none'}. "
        "See `corpusgov quarantine list --blocked`.",
        details={
            **when,
            "checked": check.checked,
            "violation_rate": check.violation_rate,
            "max_violation_rate": check.max_violation_rate,
            "violations_by_reason": check.violations_by_reason,
        },
    )


def _cleared_alert(blocked_at: str, run_id: str, check: ContractCheck, when: dict[str, str]) -> Alert:
    governed = check.governed or check.checked
    return Alert(
        key=f"{CHECK_CLEARED}:{blocked_at}:{check.source}",
        kind=CHECK_CLEARED,
        source=check.source,
        doc_id=None,
        reason=None,
        contract_version=check.contract_version,
        message=f"source '{check.source}' no longer blocked: run {run_id} let its changes in "
        f"({check.violation_rate:.0%} of {governed} governed documents violate {check.contract_ref}, "
        f"budget {check.max_violation_rate:.0%}); blocked since run {blocked_at}.",
        details={**when, "blocked_at_run": blocked_at, "violation_rate": check.violation_rate},
    )


def _record_sent(settings: Settings, alerts: list[Alert], sink_names: list[str]) -> None:
    record_sent_alerts(
        Ledger.of(settings),
        [
            SentAlert(a.key, a.kind, a.source, a.doc_id, a.reason, a.contract_version, a.message)
            for a in alerts
        ],
        sink_names,
        datetime.now(UTC),
    )
