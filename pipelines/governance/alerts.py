"""Alerts: contract violations, blocked runs and broken sources, sent once to configured sinks.

Alerts are derived from the ledger (quarantined documents, `ingestion_runs`), so nothing has to
remember to raise them. Each alert has a dedup key; a key is written to the ledger table `alerts`
only when every sink accepted it, so a standing violation alerts once, and a sink that failed gets
the alert again on the next evaluation (at-least-once: a sink that already accepted it may see it
twice). Webhook URLs are secrets (Slack embeds the token in the path): they never appear in logs,
errors or reports; a sink is named by its `name` or its position, e.g. `webhook #1`.
"""

import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.contract.checks import ContractCheck
from pipelines.errors import CorpusgovError
from pipelines.ledger import Ledger
from pipelines.ledger.alerts import AlertInputs, SentAlert, alert_inputs, record_sent_alerts
from pipelines.ledger.records import RunFailure
from pipelines.settings import ENV_REFERENCE, AlertSinkConfig, Settings

logger = logging.getLogger(__name__)

CONTRACT_VIOLATION = "contract_violation"
CHECK_FAILED = "check_failed"
SOURCE_ERROR = "source_error"
RUN_FAILED = "run_failed"
# Reason codes a contract decides; `quality.*` and `discover.*` are not contract violations.
VIOLATION_REASON_PREFIXES = ("contract.", "policy.")
# One webhook message per batch: a count and this many lines, so 500 violations are one post.
WEBHOOK_MAX_LINES = 20
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class AlertSinkError(CorpusgovError):
    """A sink did not accept alerts. The message names the sink, never a webhook URL."""


@dataclass(frozen=True)
class Alert:
    """One thing a person should hear about once."""

    key: str  # dedup key: the same key is never sent twice
    kind: str  # contract_violation | check_failed | source_error | eval_<event kind>
    source: str
    doc_id: str | None
    reason: str | None
    contract_version: str | None
    message: str  # one line for a person
    details: dict[str, Any] = field(default_factory=dict)


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
            parts.append(f"sent {_plural(self.sent, 'alert')} to {_plural(self.sinks, 'sink')}")
        if self.unsent:
            failed = "; ".join(f"{name}: {error}" for name, error in sorted(self.failures.items()))
            parts.append(f"{_plural(self.unsent, 'alert')} not sent, retried next time ({failed})")
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
            if sink.kind == "webhook":
                _post_webhook(sink, name, alerts, backoff_seconds, deadline)
            else:
                _append_jsonl(sink, name, alerts)
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
    accepted. What the alert sensor runs on every evaluation."""
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


def webhook_payload(alerts: list[Alert]) -> dict[str, Any]:
    """A Slack-compatible message for a batch: a headline with counts, then one line per alert."""
    kinds = Counter(a.kind for a in alerts)
    labels = {
        CHECK_FAILED: "blocked run",
        SOURCE_ERROR: "broken source",
        RUN_FAILED: "failed run",
        CONTRACT_VIOLATION: "contract violation",
    }
    counts = ", ".join(_plural(kinds[kind], label) for kind, label in labels.items() if kinds.get(kind))
    lines = [f"*corpusgov*: {_plural(len(alerts), 'new alert')} ({counts})"]
    lines += [f"• {_one_line(a.message)}" for a in alerts[:WEBHOOK_MAX_LINES]]
    if len(alerts) > WEBHOOK_MAX_LINES:
        more = len(alerts) - WEBHOOK_MAX_LINES
        lines.append(f"…and {more} more: see `corpusgov quarantine list`")
    return {"text": "\n".join(lines)}


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
    for run_id, finished_at, summary in inputs.runs:
        for alert in _run_alerts(run_id, finished_at, summary):
            alerts.setdefault(alert.key, alert)
    for doc_id, source, path, reasons, detail, contract_id, contract_version in inputs.quarantined:
        for reason in reasons:
            if not reason.startswith(VIOLATION_REASON_PREFIXES):
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
                message=_one_line(f"ingestion run {run_id} failed at {failure.step}: {failure.error}"),
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
                    message=_one_line(check.error),
                    details={**when, "error": check.error},
                )
            )
        elif check.blocked:
            alerts.append(_blocked_alert(run_id, check, when))
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


def _resolve_url(sink: AlertSinkConfig, name: str) -> str:
    url = sink.url or ""
    reference = ENV_REFERENCE.match(url.strip())
    if reference:
        variable = reference.group(1)
        url = os.environ.get(variable, "")
        if not url:
            raise AlertSinkError(
                f"the environment variable {variable} holding the webhook URL of {name} is not "
                "set. Set it where Dagster (or the CLI) runs; alerts are retried on the next "
                "evaluation."
            )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise AlertSinkError(
            f"the URL of {name} contains a space, tab, line break or control character. Fix "
            "`url` in corpusgov.yaml (or the variable it names); a pasted URL often carries one."
        )
    if not url.startswith(("https://", "http://")):
        raise AlertSinkError(
            f"the URL of {name} is not an http(s) URL. Fix `url` in corpusgov.yaml (or the "
            "variable it names)."
        )
    return url


def _post_webhook(
    sink: AlertSinkConfig,
    name: str,
    alerts: list[Alert],
    backoff_seconds: float,
    deadline: float | None,
) -> None:
    url = _resolve_url(sink, name)
    body = json.dumps(webhook_payload(alerts)).encode("utf-8")
    for attempt in range(1, sink.max_attempts + 1):
        timeout = sink.timeout_seconds
        if deadline is not None:
            timeout = max(0.1, min(timeout, deadline - time.monotonic()))
        problem = _post_once(url, body, timeout)
        if problem is None:
            return
        outcome, retryable = problem
        if not retryable:
            raise AlertSinkError(f"{name} refused the alerts ({outcome}); not retried")
        delay = backoff_seconds * 2 ** (attempt - 1)
        if attempt == sink.max_attempts:
            break
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise AlertSinkError(
                f"{name} failed {attempt} time(s), last with {outcome}; out of time for this evaluation"
            )
        logger.info(
            "Alert sink %s: attempt %d/%d failed (%s); retrying in %.2gs",
            name,
            attempt,
            sink.max_attempts,
            outcome,
            delay,
        )
        time.sleep(delay)
    raise AlertSinkError(f"{name} failed {sink.max_attempts} time(s), last with {outcome}")


def _post_once(url: str, body: bytes, timeout: float) -> tuple[str, bool] | None:
    """None when accepted, else (what went wrong without the URL, whether to retry)."""
    try:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "corpusgov"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
        return None
    except urllib.error.HTTPError as err:
        # HTTPError carries the URL (err.url, err.filename): describe it by status only.
        return f"HTTP {err.code}", err.code in _RETRY_STATUSES
    except urllib.error.URLError as err:
        reason = err.reason
        label = type(reason).__name__ if isinstance(reason, BaseException) else "connection error"
        return f"connection failed: {label}", True
    except TimeoutError:
        return f"no answer within {timeout:.3g}s", True
    except http.client.InvalidURL:
        # Its message quotes the URL: keep only what kind of problem it was.
        return "request failed: the URL is not valid", False
    except http.client.HTTPException as err:
        # A garbage status line, a truncated body, a dropped connection: the server misbehaved.
        return f"bad answer from the server: {type(err).__name__}", True
    except (ValueError, OSError) as err:
        # Messages of these may quote the URL: keep only the exception type.
        return f"request failed: {type(err).__name__}", isinstance(err, OSError)


def _append_jsonl(sink: AlertSinkConfig, name: str, alerts: list[Alert]) -> None:
    path = Path(sink.path or "")
    sent_at = datetime.now(UTC).isoformat()
    lines = "".join(
        json.dumps(
            {
                "sent_at": sent_at,
                "kind": a.kind,
                "source": a.source,
                "doc_id": a.doc_id,
                "reason": a.reason,
                "contract_version": a.contract_version,
                "message": a.message,
                "key": a.key,
                "details": a.details,
            },
            default=str,
        )
        + "\n"
        for a in alerts
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write call per batch so a concurrent reader never sees half a batch of lines.
        with path.open("a", encoding="utf-8") as out:
            out.write(lines)
    except OSError as err:
        raise AlertSinkError(
            f"{name} could not append to its file ({err.strerror or type(err).__name__}); check "
            "its `path` in corpusgov.yaml"
        ) from err


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


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
