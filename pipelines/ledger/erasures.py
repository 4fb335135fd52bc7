"""What `corpusgov erase` changes in the ledger: the document's own rows made anonymous, every
mention of its id elsewhere replaced, its content hashes tombstoned, and the audit row.

The statements are written once for DuckDB and PostgreSQL (`regexp_replace` and LIKE are spelled
the same in both; only a list column's rewrite differs).
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.postgres import PostgresConnection
from pipelines.ledger.rows import named_rows

ERASED = "policy.erased"
ERASED_DETAIL = (
    "these bytes were erased (`corpusgov erase`): delete the file, or release them with "
    "`corpusgov erase --release <content hash>`"
)
# The ledger's own bookkeeping of erasures: their rows name what was erased by its pseudonym only.
_NOT_SCRUBBED = frozenset({"erasures", "tombstones", "ledger_schema", "commit_intents"})
# Characters that continue an id: a match must not be followed or preceded by one, so erasing
# `docs/a.md` leaves `docs/a.md.bak` alone.
_ID_CHARS = r"[^A-Za-z0-9_./\-]"


def pseudonym(doc_id: str) -> str:
    """The id an erased document keeps in the ledger: its source, then a hash of its old id."""
    source = doc_id.split("/", 1)[0]
    return f"{source}/erased-{digest(doc_id)[:16]}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ErasureRow:
    """The audit row of one erasure (`erasures`): who, when, why, and its certificate, filled in
    as the steps finish (`completed_at` stays empty until the last one)."""

    erasure_id: str
    doc_id: str  # the pseudonym
    erased_by: str
    erased_at: datetime
    reason: str
    completed_at: datetime | None
    certificate: dict[str, Any]


def erasures(con: LedgerConnection) -> list[ErasureRow]:
    rows = named_rows(
        con,
        "SELECT erasure_id, doc_id, erased_by, erased_at, reason, completed_at, certificate FROM erasures "
        "ORDER BY erased_at",
    )
    return [_erasure_row(row) for row in rows]


def _erasure_row(row: dict[str, Any]) -> ErasureRow:
    certificate = row["certificate"]
    return ErasureRow(
        row["erasure_id"],
        row["doc_id"],
        row["erased_by"],
        row["erased_at"],
        row["reason"],
        row["completed_at"],
        json.loads(certificate) if isinstance(certificate, str) else certificate,
    )


def record_erasure(con: LedgerConnection, erasure: ErasureRow, content_hashes: list[str]) -> None:
    con.execute(
        "INSERT INTO erasures (erasure_id, doc_id, erased_by, erased_at, reason, completed_at, certificate) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            erasure.erasure_id,
            erasure.doc_id,
            erasure.erased_by,
            erasure.erased_at,
            erasure.reason,
            erasure.completed_at,
            json.dumps(erasure.certificate),
        ],
    )
    for content_hash in sorted(set(content_hashes)):
        con.execute(
            "INSERT INTO tombstones (content_hash, erasure_id, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (content_hash) DO UPDATE SET erasure_id = excluded.erasure_id, "
            "created_at = excluded.created_at, released_at = NULL, released_by = NULL",
            [content_hash, erasure.erasure_id, erasure.erased_at],
        )


def update_certificate(
    con: LedgerConnection, erasure_id: str, certificate: dict[str, Any], completed_at: datetime | None
) -> None:
    con.execute(
        "UPDATE erasures SET certificate = ?, completed_at = ? WHERE erasure_id = ?",
        [json.dumps(certificate), completed_at, erasure_id],
    )


def tombstoned(con: LedgerConnection) -> set[str]:
    """The content hashes no run may index again (erased, not released)."""
    rows = con.execute("SELECT content_hash FROM tombstones WHERE released_at IS NULL").fetchall()
    return {row[0] for row in rows}


def release_tombstone(con: LedgerConnection, content_hash: str, by: str, at: datetime) -> bool:
    """Let content erased once be indexed again (a person decided it); False when no tombstone
    in force holds `content_hash`."""
    rows = con.execute(
        "SELECT count(*) FROM tombstones WHERE content_hash = ? AND released_at IS NULL", [content_hash]
    ).fetchall()
    if not rows[0][0]:
        return False
    con.execute(
        "UPDATE tombstones SET released_at = ?, released_by = ? WHERE content_hash = ?",
        [at, by, content_hash],
    )
    # Files refused for these bytes are read again at the next run.
    con.execute(
        "UPDATE documents SET config_hash = NULL WHERE content_hash = ? AND list_contains(reasons, ?)",
        [content_hash, ERASED],
    )
    return True


def anonymise_document(con: LedgerConnection, doc_id: str, doc_pseudonym: str, now: datetime) -> None:
    """The document's own rows: text-bearing fields replaced by their hashes, the row `removed`
    with the reason `policy.erased`, its chunks, signature and quarantine entry gone."""
    titles = con.execute("SELECT title FROM documents WHERE doc_id = ?", [doc_id]).fetchall()
    hashed_title = f"sha256:{digest(titles[0][0])}" if titles and titles[0][0] is not None else None
    con.execute(
        "UPDATE documents SET state = 'removed', reasons = ?, detail = NULL, path = ?, title = ?, "
        "chunk_count = 0, config_hash = NULL, derived_from = NULL, last_changed = ? WHERE doc_id = ?",
        [[ERASED], doc_pseudonym, hashed_title, now, doc_id],
    )
    _hash_json_columns(con, "assessments", doc_id, ("declared_metadata", "provenance_evidence", "safety"))
    con.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
    con.execute("DELETE FROM near_duplicate_signatures WHERE doc_id = ?", [doc_id])
    con.execute("DELETE FROM quarantine WHERE doc_id = ?", [doc_id])
    con.execute("DELETE FROM held_back WHERE doc_id = ?", [doc_id])
    con.execute(
        "INSERT INTO document_versions (doc_id, recorded_at, run_id, index_version, content_hash, state, "
        "reasons, grade, provenance, contract_version) SELECT doc_id, ?, 'erase', index_version, "
        "content_hash, 'removed', ?, NULL, NULL, contract_version FROM documents WHERE doc_id = ?",
        [now, [ERASED], doc_id],
    )


def _hash_json_columns(con: LedgerConnection, table: str, doc_id: str, columns: tuple[str, ...]) -> None:
    """Replace each JSON value of the document's rows by `{"sha256": <hash of the value>}`: the
    values are gone, and a person holding the original can still prove it was this one."""
    casts = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
    rows = named_rows(con, f"SELECT recorded_at, {casts} FROM {table} WHERE doc_id = ?", [doc_id])
    for row in rows:
        hashed = {c: None if row[c] is None else json.dumps({"sha256": digest(row[c])}) for c in columns}
        sets = ", ".join(f"{c} = CAST(? AS JSON)" for c in columns)
        con.execute(
            f"UPDATE {table} SET {sets} WHERE doc_id = ? AND recorded_at = ?",
            [*(hashed[c] for c in columns), doc_id, row["recorded_at"]],
        )


def scrub_mentions(con: LedgerConnection, needle: str, replacement: str) -> dict[str, int]:
    """Replace `needle` (a document id) by `replacement` in every text, list and JSON column of
    every table, where it stands as a whole id. Returns the rows changed per table."""
    pattern = f"(^|{_ID_CHARS}){re.escape(needle)}({_ID_CHARS}|$)"
    # re.escape writes `\-`, `\.` and `\/`-free escapes that RE2 (DuckDB) and PostgreSQL both read.
    like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    postgres = isinstance(con, PostgresConnection)
    changed: dict[str, int] = {}
    for table, column, kind in _text_columns(con, postgres):
        if table in _NOT_SCRUBBED:
            continue
        text = f"CAST({column} AS VARCHAR)"
        if kind == "list":
            value = (
                f"ARRAY(SELECT regexp_replace(x, ?, ?, 'g') FROM unnest({column}) AS x)"
                if postgres
                else f"list_transform({column}, lambda x: regexp_replace(x, ?, ?, 'g'))"
            )
        elif kind == "json":
            value = f"CAST(regexp_replace({text}, ?, ?, 'g') AS JSON)"
        else:
            value = f"regexp_replace({column}, ?, ?, 'g')"
        where = f"{text} LIKE ? ESCAPE '\\'"
        count = con.execute(f"SELECT count(*) FROM {table} WHERE {where}", [like]).fetchall()[0][0]
        if count:
            con.execute(
                f"UPDATE {table} SET {column} = {value} WHERE {where}",
                [pattern, f"\\1{replacement}\\2", like],
            )
            changed[table] = changed.get(table, 0) + int(count)
    return changed


def _text_columns(con: LedgerConnection, postgres: bool) -> list[tuple[str, str, str]]:
    """(table, column, kind) of every column that can hold an id: 'text', 'list' or 'json'."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns = []
    for table, column, data_type in rows:
        kind = str(data_type).lower()
        if kind in ("varchar", "text", "character varying"):
            columns.append((table, column, "text"))
        elif kind in ("varchar[]", "text[]") or (postgres and kind == "array"):
            columns.append((table, column, "list"))
        elif kind in ("json", "jsonb"):
            columns.append((table, column, "json"))
    return columns
