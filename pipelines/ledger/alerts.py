"""What alerts are made from, and which were sent: the ledger rows pipelines/governance/alerts.py reads.

One read-only connection gathers everything a dispatch needs, so the ingestion writer is never
held up by the alert sensor; recording what was sent is the only write.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pipelines.document.outcome import DocumentState
from pipelines.ledger import Ledger
from pipelines.ledger.rows import named_rows, records, select_list
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


class HeldBackVersion(NamedTuple):
    """A candidate index version the publication gate held back."""

    index_version: int
    verdict: dict[str, Any]


@dataclass(frozen=True)
class AlertInputs:
    """Runs (oldest first), quarantined documents (by id), eval events (oldest first), candidates
    the publication gate held back, and the keys of the alerts already sent."""

    runs: list[RunRow]
    quarantined: list[QuarantinedRow]
    eval_events: list[EvalEventRow]
    sent_keys: set[str]
    held_back_versions: list[HeldBackVersion] = field(default_factory=list)


def alert_inputs(ledger: Ledger) -> AlertInputs:
    with ledger.connect(read_only=True) as con:
        runs = records(con, RunRow, f"SELECT {select_list(RunRow)} FROM ingestion_runs ORDER BY finished_at")
        quarantined = records(
            con,
            QuarantinedRow,
            f"SELECT {select_list(QuarantinedRow)} FROM documents WHERE state = ? ORDER BY doc_id",
            [DocumentState.QUARANTINED.value],
        )
        events = records(
            con, EvalEventRow, f"SELECT {select_list(EvalEventRow)} FROM eval_events ORDER BY created_at"
        )
        held_back = (
            records(
                con,
                HeldBackVersion,
                f"SELECT {select_list(HeldBackVersion)} FROM publication_gates WHERE NOT passed "
                "ORDER BY evaluated_at",
            )
            if has_table(con, "publication_gates")
            else []
        )
        # A ledger an older corpusgov wrote, that this reader could not upgrade, has no alerts yet.
        sent = (
            {row["alert_key"] for row in named_rows(con, "SELECT alert_key FROM alerts")}
            if has_table(con, "alerts")
            else set()
        )
    return AlertInputs(runs, quarantined, events, sent, held_back)


def record_sent_alerts(ledger: Ledger, alerts: list[SentAlert], sink_names: list[str], now: datetime) -> None:
    """Every sink accepted these: they are never sent again (the key is the primary key)."""
    with ledger.connect() as con:
        con.executemany(
            "INSERT INTO alerts (alert_key, kind, source, doc_id, reason, contract_version, message, "
            "first_sent_at, sinks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                [a.key, a.kind, a.source, a.doc_id, a.reason, a.contract_version, a.message, now, sink_names]
                for a in alerts
            ],
        )
