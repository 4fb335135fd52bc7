"""Quarantine in the ledger: who is held back and why, held-back changes of blocked sources, and
recorded releases (overrides) with the exact bytes and contract version they cover."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.ledger import Ledger
from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.records import HeldBackRow, QuarantineRow, grade_of, label_of
from pipelines.ledger.rows import (
    column,
    first_record,
    insert_statement,
    named_rows,
    parameters,
    record_of,
    records,
    select_list,
)

R = TypeVar("R")


@dataclass(frozen=True)
class Release:
    """A recorded override: these bytes under this contract version re-enter the index."""

    doc_id: str
    content_hash: str | None
    contract_version: str | None
    overridden_reasons: tuple[str, ...] = field(metadata=column("reasons"))
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
    return _records_of_source(
        ledger,
        QuarantineRow,
        source,
        f"SELECT {select_list(QuarantineRow)} FROM quarantine {{where}} ORDER BY doc_id",
    )


def _records_of_source(ledger: Ledger, record: type[R], source: str | None, query: str) -> list[R]:
    """`query`'s rows as `record`s, of one source when `source` is given ({where} in the query)."""
    where, params = ("WHERE source = ?", [source]) if source else ("", [])
    with ledger.connect(read_only=True) as con:
        return records(con, record, query.format(where=where), params)


def held_back_rows(ledger: Ledger, source: str | None = None) -> list[HeldBackRow]:
    return _records_of_source(
        ledger,
        HeldBackRow,
        source,
        f"SELECT {select_list(HeldBackRow)} FROM held_back {{where}} ORDER BY source, doc_id",
    )


def quarantined_document(ledger: Ledger, doc_id: str) -> QuarantinedDocument | None:
    """The quarantine row with the latest assessment and every release, for `quarantine show`."""
    with ledger.connect(read_only=True) as con:
        found = named_rows(
            con,
            f"SELECT {select_list(QuarantineRow, prefix='q.')}, d.path, d.detail, d.grade, "
            "d.quality_score, d.provenance, d.safety_flags FROM quarantine q "
            "JOIN documents d USING (doc_id) WHERE q.doc_id = ?",
            [doc_id],
        )
        if not found:
            return None
        (row,) = found
        quarantine = record_of(QuarantineRow, row)
        return QuarantinedDocument(
            quarantine=quarantine,
            path=row["path"],
            detail=row["detail"],
            grade=grade_of(row["grade"]),
            quality_score=row["quality_score"],
            provenance=label_of(row["provenance"]),
            safety_flags=tuple(row["safety_flags"] or ()),
            assessment=_latest_assessment(con, doc_id, quarantine.content_hash),
            releases=_releases(con, doc_id),
        )


def _latest_assessment(
    con: LedgerConnection, doc_id: str, content_hash: str | None
) -> LatestAssessment | None:
    return first_record(
        con,
        LatestAssessment,
        f"SELECT {select_list(LatestAssessment)} FROM assessments WHERE doc_id = ? AND content_hash "
        "IS NOT DISTINCT FROM ? ORDER BY recorded_at DESC LIMIT 1",
        [doc_id, content_hash],
    )


def _releases(con: LedgerConnection, doc_id: str) -> tuple[Release, ...]:
    return tuple(
        records(
            con,
            Release,
            f"SELECT {select_list(Release)} FROM quarantine_releases WHERE doc_id = ? ORDER BY released_at",
            [doc_id],
        )
    )


def record_release(ledger: Ledger, doc_id: str, released_by: str, reason: str) -> Release | None:
    """A recorded override: the document re-enters on the next run, for these exact bytes
    under this contract version. Changing either makes the override lapse. None when the
    document is not quarantined."""
    now = datetime.now(UTC)
    with ledger.connect() as con:
        held = first_record(
            con,
            QuarantineRow,
            f"SELECT {select_list(QuarantineRow)} FROM quarantine WHERE doc_id = ?",
            [doc_id],
        )
        if held is None:
            return None
        release = Release(
            doc_id=doc_id,
            content_hash=held.content_hash,
            contract_version=held.contract_version,
            overridden_reasons=held.reasons,
            released_at=now,
            released_by=released_by,
            release_reason=reason,
        )
        con.execute("BEGIN TRANSACTION")
        con.execute(insert_statement("quarantine_releases", Release), parameters(release))
        # Forget the processing key so the next run looks at the document again.
        con.execute("UPDATE documents SET config_hash = NULL WHERE doc_id = ?", [doc_id])
        con.execute("COMMIT")
    return release


def releases_in_force(ledger: Ledger) -> dict[str, tuple[str | None, str | None]]:
    """doc_id -> (content_hash, contract_version) of its latest release."""
    with ledger.connect(read_only=True) as con:
        rows = named_rows(
            con,
            "SELECT DISTINCT ON (doc_id) doc_id, content_hash, contract_version "
            "FROM quarantine_releases ORDER BY doc_id, released_at DESC",
        )
    return {row["doc_id"]: (row["content_hash"], row["contract_version"]) for row in rows}
