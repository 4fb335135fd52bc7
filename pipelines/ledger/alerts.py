"""What alerts are made from, and which were sent: the ledger rows pipelines/governance/alerts.py reads.

One read-only connection gathers everything a dispatch needs, so the ingestion writer is never
held up by the alert sensor; recording what was sent is the only write.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from pipelines.document.outcome import DocumentState
from pipelines.ledger import Ledger
from pipelines.ledger.schema import has_table


class RunRow(NamedTuple):
    run_id: str
    finished_at: datetime
    summary: dict[str, Any]


class QuarantinedRow(NamedTuple):
    doc_id: str
    source: str
    path: str
    reasons: list[str]
    detail: str | None
    contract_id: str | None
    contract_version: str | None


class EvalEventRow(NamedTuple):
    event_id: str
    eval_set: str
    kind: str
    message: str
    details: dict[str, Any]


class SentAlert(NamedTuple):
    key: str
    kind: str
    source: str
    doc_id: str | None
    reason: str | None
    contract_version: str | None
    message: str


@dataclass(frozen=True)
class AlertInputs:
    """Runs (oldest first), quarantined documents (by id), eval events (oldest first), and the
    keys of the alerts already sent."""

    runs: list[RunRow]
    quarantined: list[QuarantinedRow]
    eval_events: list[EvalEventRow]
    sent_keys: set[str]


def alert_inputs(ledger: Ledger) -> AlertInputs:
    with ledger.connect(read_only=True) as con:
        runs = [
            RunRow(run_id, finished_at, json.loads(summary))
            for run_id, finished_at, summary in con.execute(
                "SELECT run_id, finished_at, summary FROM ingestion_runs ORDER BY finished_at"
            ).fetchall()
        ]
        quarantined = [
            QuarantinedRow(*row)
            for row in con.execute(
                "SELECT doc_id, source, path, reasons, detail, contract_id, contract_version "
                "FROM documents WHERE state = ? ORDER BY doc_id",
                [DocumentState.QUARANTINED.value],
            ).fetchall()
        ]
        events = [
            EvalEventRow(event_id, eval_set, kind, message, json.loads(details))
            for event_id, eval_set, kind, message, details in con.execute(
                "SELECT event_id, eval_set, kind, message, details FROM eval_events ORDER BY created_at"
            ).fetchall()
        ]
        # A ledger an older corpusgov wrote, that this reader could not upgrade, has no alerts yet.
        sent = (
            {r[0] for r in con.execute("SELECT alert_key FROM alerts").fetchall()}
            if has_table(con, "alerts")
            else set()
        )
    return AlertInputs(runs, quarantined, events, sent)


def record_sent_alerts(ledger: Ledger, alerts: list[SentAlert], sink_names: list[str], now: datetime) -> None:
    """Every sink accepted these: they are never sent again (the key is the primary key)."""
    with ledger.connect() as con:
        con.executemany(
            "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [[*alert, now, sink_names] for alert in alerts],
        )
