"""What an alert is, shared by the dispatcher (alerts.py) and the sinks (alert_sinks.py) without
either importing the other's module."""

from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import CorpusgovError

CONTRACT_VIOLATION = "contract_violation"
CHECK_FAILED = "check_failed"
CHECK_CLEARED = "check_cleared"
SOURCE_ERROR = "source_error"
RUN_FAILED = "run_failed"
PROMOTION_BLOCKED = "promotion_blocked"


class AlertSinkError(CorpusgovError):
    """A sink did not accept alerts. The message names the sink, never a webhook URL."""


@dataclass(frozen=True)
class Alert:
    """One thing a person should hear about once."""

    key: str  # dedup key: the same key is never sent twice
    kind: str  # contract_violation | check_failed | check_cleared | source_error | run_failed | eval_<event kind>
    source: str
    doc_id: str | None
    reason: str | None
    contract_version: str | None
    message: str  # one line for a person
    details: dict[str, Any] = field(default_factory=dict)


def one_line(text: str, limit: int = 300) -> str:
    """`text` with its whitespace runs collapsed to single spaces, cut to `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def plural(count: int, noun: str) -> str:
    """`1 alert`, `2 alerts`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
