"""Quarantine in the ledger: who is held back and why, held-back changes of blocked sources, and
recorded releases (overrides) with the exact bytes and contract version they cover."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.ledger import Ledger
from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.records import grade_of, label_of


@dataclass(frozen=True)
class QuarantineRow:
    doc_id: str
    source: str
    reasons: tuple[str, ...]
    contract_id: str | None
    contract_version: str | None
    content_hash: str | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class HeldBackRow:
    """A change of a source over its error budget: recorded, not applied."""

    doc_id: str
    source: str
    run_id: str
    recorded_at: datetime
    would_be: str  # the state the document would have had
    reasons: tuple[str, ...]
    detail: str | None
    contract_id: str | None
    contract_version: str | None


@dataclass(frozen=True)
class Release:
    """A recorded override: these bytes under this contract version re-enter the index."""

    doc_id: str
    content_hash: str | None
    contract_version: str | None
    overridden_reasons: tuple[str, ...]
    released_at: datetime
    released_by: str
    release_reason: str


@dataclass(frozen=True)
class LatestAssessment:
    """The assessment of the bytes that were quarantined (`quarantine show`)."""

    quality_signals: dict[str, Any]
    quality_reasons: tuple[str, ...]
    provenance_evidence: list[dict[str, Any]]
    safety: list[dict[str, Any]]
    declared_metadata: dict[str, Any]


@dataclass(frozen=True)
class QuarantinedDocument:
    quarantine: QuarantineRow
    path: str
    detail: str | None
    grade: Grade | None
    quality_score: float | None
    provenance: ProvenanceLabel | None
    safety_flags: tuple[str, ...]
    assessment: LatestAssessment | None
    releases: tuple[Release, ...]


def quarantine_rows(ledger: Ledger, source: str | None = None) -> list[QuarantineRow]:
    rows = _rows_of_source(
        ledger,
        source,
        "SELECT doc_id, source, reasons, contract_id, contract_version, content_hash, first_seen, "
        "last_seen FROM quarantine {where} ORDER BY doc_id",
    )
    return [_quarantine_row(r) for r in rows]


def _rows_of_source(ledger: Ledger, source: str | None, query: str) -> list[tuple[Any, ...]]:
    """`query`'s rows, of one source when `source` is given ({where} in the query)."""
    where, params = ("WHERE source = ?", [source]) if source else ("", [])
    with ledger.connect(read_only=True) as con:
        return con.execute(query.format(where=where), params).fetchall()


def _quarantine_row(r: tuple[Any, ...]) -> QuarantineRow:
    return QuarantineRow(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6], r[7])


def held_back_rows(ledger: Ledger, source: str | None = None) -> list[HeldBackRow]:
    rows = _rows_of_source(
        ledger,
        source,
        "SELECT doc_id, source, run_id, recorded_at, would_be, reasons, detail, contract_id, "
        "contract_version FROM held_back {where} ORDER BY source, doc_id",
    )
    return [HeldBackRow(r[0], r[1], r[2], r[3], r[4], tuple(r[5]), r[6], r[7], r[8]) for r in rows]


def quarantined_document(ledger: Ledger, doc_id: str) -> QuarantinedDocument | None:
    """The quarantine row with the latest assessment and every release, for `quarantine show`."""
    with ledger.connect(read_only=True) as con:
        row = con.execute(
            "SELECT q.doc_id, q.source, q.reasons, q.contract_id, q.contract_version, "
            "q.content_hash, q.first_seen, q.last_seen, d.path, d.detail, d.grade, "
            "d.quality_score, d.provenance, d.safety_flags FROM quarantine q "
            "JOIN documents d USING (doc_id) WHERE q.doc_id = ?",
            [doc_id],
        ).fetchone()
        if row is None:
            return None
        quarantine = _quarantine_row(row[:8])
        return QuarantinedDocument(
            quarantine=quarantine,
            path=row[8],
            detail=row[9],
            grade=grade_of(row[10]),
            quality_score=row[11],
            provenance=label_of(row[12]),
            safety_flags=tuple(row[13] or ()),
            assessment=_latest_assessment(con, doc_id, quarantine.content_hash),
            releases=_releases(con, doc_id),
        )


def _latest_assessment(
    con: LedgerConnection, doc_id: str, content_hash: str | None
) -> LatestAssessment | None:
    row = con.execute(
        "SELECT quality_signals, quality_reasons, provenance_evidence, safety, "
        "declared_metadata FROM assessments WHERE doc_id = ? AND content_hash IS NOT "
        "DISTINCT FROM ? ORDER BY recorded_at DESC LIMIT 1",
        [doc_id, content_hash],
    ).fetchone()
    if row is None:
        return None
    return LatestAssessment(
        quality_signals=json.loads(row[0]) if row[0] else {},
        quality_reasons=tuple(row[1] or ()),
        provenance_evidence=json.loads(row[2]) if row[2] else [],
        safety=json.loads(row[3]) if row[3] else [],
        declared_metadata=json.loads(row[4]) if row[4] else {},
    )


def _releases(con: LedgerConnection, doc_id: str) -> tuple[Release, ...]:
    rows = con.execute(
        "SELECT content_hash, contract_version, reasons, released_at, released_by, "
        "release_reason FROM quarantine_releases WHERE doc_id = ? ORDER BY released_at",
        [doc_id],
    ).fetchall()
    return tuple(Release(doc_id, r[0], r[1], tuple(r[2]), r[3], r[4], r[5]) for r in rows)


def record_release(ledger: Ledger, doc_id: str, released_by: str, reason: str) -> Release | None:
    """A recorded override: the document re-enters on the next run, for these exact bytes
    under this contract version. Changing either makes the override lapse. None when the
    document is not quarantined."""
    now = datetime.now(UTC)
    with ledger.connect() as con:
        row = con.execute(
            "SELECT content_hash, contract_version, reasons FROM quarantine WHERE doc_id = ?",
            [doc_id],
        ).fetchone()
        if row is None:
            return None
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO quarantine_releases VALUES (?, ?, ?, ?, ?, ?, ?)",
            [doc_id, row[0], row[1], row[2], now, released_by, reason],
        )
        # Forget the processing key so the next run looks at the document again.
        con.execute("UPDATE documents SET config_hash = NULL WHERE doc_id = ?", [doc_id])
        con.execute("COMMIT")
    return Release(doc_id, row[0], row[1], tuple(row[2]), now, released_by, reason)


def releases_in_force(ledger: Ledger) -> dict[str, tuple[str | None, str | None]]:
    """doc_id -> (content_hash, contract_version) of its latest release."""
    with ledger.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT ON (doc_id) doc_id, content_hash, contract_version "
            "FROM quarantine_releases ORDER BY doc_id, released_at DESC"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}
