"""Where alerts go: one class per `kind:` of corpusgov.yaml's `alerts:`, registered in `SINKS`.

A new sink is a class with `kind`, `summary` and `send`, added to `SINKS`, and its kind added to
`AlertSinkConfig.kind` in pipelines/settings.py (tests/pipelines/governance/test_alert_sinks.py
checks the two agree). Webhook URLs are secrets: no message, log line or summary holds one.
"""

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pipelines.errors import CorpusgovError
from pipelines.governance.alert_records import (
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
from pipelines.settings import ENV_REFERENCE, AlertSinkConfig

# The dispatcher's logger: delivery logs keep the one name they had before the sinks moved here.
logger = logging.getLogger("pipelines.governance.alerts")

# One webhook message per batch: a count and this many lines, so 500 violations are one post.
WEBHOOK_MAX_LINES = 20
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _RedirectRefused(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would re-send a 302's POST as a GET without the body, and
    the alerts would count as sent. A 3xx then reaches the caller as an HTTPError with its status."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None


# build_opener leaves out its default redirect handler when given a subclass of it.
_OPENER = urllib.request.build_opener(_RedirectRefused)


class AlertSink(Protocol):
    """One kind of alert sink."""

    kind: str  # its `kind:` under `alerts:` in corpusgov.yaml
    summary: str  # where it sends, in one line

    def send(
        self,
        sink: AlertSinkConfig,
        name: str,
        alerts: list[Alert],
        backoff_seconds: float,
        deadline: float | None,
    ) -> None:
        """Deliver `alerts` as one batch to the sink `sink` configures, named `name` in messages.

        Raises `AlertSinkError` (naming the sink, never its URL) when the sink did not accept the
        batch; `deadline` is a `time.monotonic()` value, or None for no limit."""
        ...


class WebhookSink:
    """A Slack-compatible JSON POST, retried with exponential backoff on transient failures."""

    kind = "webhook"
    summary = "one Slack-compatible JSON message per batch, POSTed to `url`"

    def send(
        self,
        sink: AlertSinkConfig,
        name: str,
        alerts: list[Alert],
        backoff_seconds: float,
        deadline: float | None,
    ) -> None:
        """POST one message for the batch; retry connection errors, timeouts, 429, 5xx and 3xx
        (redirects are never followed) up to the sink's `max_attempts`, waiting
        `backoff_seconds`, doubling, and never past `deadline`."""
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


class JsonlFileSink:
    """A JSONL file: one line per alert, a batch appended in one write."""

    kind = "file"
    summary = "one JSON line per alert, appended to the file at `path`"

    def send(
        self,
        sink: AlertSinkConfig,
        name: str,
        alerts: list[Alert],
        backoff_seconds: float,
        deadline: float | None,
    ) -> None:
        """Append one line per alert; a local write is not retried, so the backoff and deadline
        do not apply."""
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


_ALL_SINKS: tuple[AlertSink, ...] = (WebhookSink(), JsonlFileSink())
SINKS: dict[str, AlertSink] = {sink.kind: sink for sink in _ALL_SINKS}


def sink_for(kind: str) -> AlertSink:
    """The sink for a `kind:` of corpusgov.yaml's `alerts:`."""
    sink = SINKS.get(kind)
    if sink is None:
        raise CorpusgovError(
            f"Unknown alert sink kind {kind!r}; known kinds: {', '.join(sorted(SINKS))}. "
            "Fix `kind` under `alerts:` in corpusgov.yaml."
        )
    return sink


def webhook_payload(alerts: list[Alert]) -> dict[str, Any]:
    """A Slack-compatible message for a batch: a headline with counts, then one line per alert."""
    kinds = Counter(a.kind for a in alerts)
    labels = {
        CHECK_FAILED: "blocked run",
        SOURCE_ERROR: "broken source",
        RUN_FAILED: "failed run",
        CONTRACT_VIOLATION: "contract violation",
        PROMOTION_BLOCKED: "index version held back",
    }
    counts = ", ".join(plural(kinds[kind], label) for kind, label in labels.items() if kinds.get(kind))
    lines = [f"*corpusgov*: {plural(len(alerts), 'new alert')} ({counts})"]
    lines += [f"• {one_line(a.message)}" for a in alerts[:WEBHOOK_MAX_LINES]]
    if len(alerts) > WEBHOOK_MAX_LINES:
        more = len(alerts) - WEBHOOK_MAX_LINES
        lines.append(f"…and {more} more: see `corpusgov quarantine list`")
    return {"text": "\n".join(lines)}


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


def _post_once(url: str, body: bytes, timeout: float) -> tuple[str, bool] | None:
    """None when accepted, else (what went wrong without the URL, whether to retry)."""
    try:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "corpusgov"},
        )
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
        return None
    except urllib.error.HTTPError as err:
        # HTTPError carries the URL (err.url, err.filename): describe it by status only.
        if 300 <= err.code < 400:
            # Retried like a 5xx: a moved endpoint may be a proxy's passing state; if it stays,
            # the alert stays unsent and the sensor says so. Its Location may hold a secret too.
            return f"HTTP {err.code}, a redirect (not followed: set `url` to where it points)", True
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
