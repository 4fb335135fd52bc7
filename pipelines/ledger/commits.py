"""The ledger's writes of a commit: one run, or one rollback, applied in one transaction.

Both run inside the write connection `Ledger.writer` holds for the whole commit protocol
(pipelines/index/commit_protocol.py), and both delete the run's commit intent in the same transaction,
so the ledger either has all of a run or none of it.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from corpus_quality.near_duplicates import FINGERPRINT_VERSION
from pipelines.document.outcome import DocumentOutcome
from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.erasures import ErasureRow, anonymise_document, record_erasure, scrub_mentions
from pipelines.ledger.records import (
    SHORT_CHUNK_CHARS,
    CommitIntent,
    HeldBackRow,
    IndexVersion,
    LedgerCommit,
    Publication,
    QuarantineRow,
    VersionCounts,
)
from pipelines.ledger.rows import column_list, first_record, insert_statement, parameters, select_list
from pipelines.ledger.run_tables import ASSESSMENTS, CHUNKS, DOCUMENTS, SIGNATURES, RunTable
from pipelines.ledger.schema import rollback_quietly
from pipelines.stop_points import stop_point


class LedgerWriter:
    """The held write connection of one commit (see `Ledger.writer`)."""

    def __init__(self, con: LedgerConnection) -> None:
        self.con = con

    def record_intent(self, run_id: str, kind: str, base_lance_version: int | None) -> None:
        """Written before LanceDB is touched; deleted by the transaction that commits the run."""
        self.con.execute("DELETE FROM commit_intents")
        intent = CommitIntent(run_id, kind, base_lance_version, datetime.now(UTC))
        self.con.execute(insert_statement("commit_intents", CommitIntent), parameters(intent))

    def latest_index_version(self) -> IndexVersion | None:
        """The latest index version as this write connection sees it: read under the write
        lock, so no other writer can commit between this read and this writer's commit."""
        return first_record(
            self.con,
            IndexVersion,
            f"SELECT {select_list(IndexVersion)} FROM index_versions ORDER BY index_version DESC LIMIT 1",
        )

    def commit(self, commit: LedgerCommit, before_commit: Callable[[], None] | None = None) -> None:
        """Apply `commit` in one transaction; `before_commit` runs last inside it, and raising
        there leaves the ledger as it was."""
        apply_commit(self.con, commit, before_commit)

    def apply_rollback(
        self, version: IndexVersion, restored: pa.Table, run_id: str, reason: str, publication: Publication
    ) -> None:
        apply_rollback(self.con, version, restored, run_id, reason, publication)

    def apply_erasure(
        self,
        erasure: ErasureRow,
        doc_id: str,
        content_hashes: list[str],
        version: IndexVersion | None,
        publication: Publication | None,
        run_id: str,
    ) -> dict[str, Any]:
        """Step 1 of `corpusgov erase` (pipelines/governance/erasure.py) in one transaction;
        returns what it changed, for the certificate."""
        return apply_erasure(self.con, erasure, doc_id, content_hashes, version, publication, run_id)

    def publish(self, publication: Publication) -> None:
        """Record `publication` (step 8 of the commit protocol): from its COMMIT on, the index
        version it names is the one served; the `serving` tag follows it."""
        self.con.execute(insert_statement("publications", Publication), parameters(publication))


# Columns of the statements that copy rows from SQL rather than from a record.
_DOCUMENT_VERSION_COLUMNS = (
    "doc_id, recorded_at, run_id, index_version, content_hash, state, reasons, grade, provenance, "
    "contract_version"
)
_QUARANTINE_COLUMNS = column_list(QuarantineRow)
_INSERT_RUN = (
    "INSERT INTO ingestion_runs (run_id, started_at, finished_at, sources, index_version, summary) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# Documents per statement when a run's rows go in. Converting a whole first ingest's table at
# once (Arrow arrays, DuckDB's list and JSON intermediates) took tens of MB that stay with the
# process until the transaction ends (measured: ~60 MB at 20,000 documents); a slice at a time
# bounds that by the slice. The rows, and their order, are the same.
RUN_ROWS_PER_STATEMENT = 2048


def _insert_run_rows(
    con: LedgerConnection,
    name: str,
    outcomes: Sequence[DocumentOutcome],
    rows: RunTable[Any],
    statement: str,
    params: dict[str, Any] | None = None,
) -> None:
    """Run `statement` over the `rows` of `outcomes`, registered as `name`, one slice of
    documents at a time, letting go of each slice's rows before the next is built."""
    for start in range(0, len(outcomes), RUN_ROWS_PER_STATEMENT):
        con.register(name, rows.arrow(outcomes[start : start + RUN_ROWS_PER_STATEMENT]))
        try:
            con.execute(statement, params)
        finally:
            con.unregister(name)


def apply_commit(
    con: LedgerConnection, commit: LedgerCommit, before_commit: Callable[[], None] | None = None
) -> None:
    """Apply one run atomically: document rows, their history, chunks, the index version.

    Rows go in as Arrow tables (pipelines/ledger/run_tables.py) in a few set-based statements:
    row-by-row inserts would cost seconds on a large first ingest. Each table is built just
    before its statement and dropped after it, so a large run never holds them all at once;
    all but `run_documents` (which several statements join) a slice of documents at a time.
    """
    now = datetime.now(UTC)
    index_version = commit.index_version.index_version if commit.index_version else None
    con.register("run_documents", DOCUMENTS.arrow(commit.outcomes))
    con.execute("BEGIN TRANSACTION")
    try:
        _replace_documents(con, now, commit.run_id, index_version)
        _record_assessments(con, now, commit)
        _update_quarantine(con, now, commit.sources)
        _replace_signatures_and_chunks(con, commit)
        if commit.index_version is not None:
            write_index_version(con, commit.index_version, commit.run_id)
            record_version_stats(con, commit.index_version.index_version)
        _record_run(con, now, commit, index_version)
        # The intent of this run is done when the run is: same transaction.
        con.execute("DELETE FROM commit_intents")
        stop_point("commit.before_ledger_commit")
        if before_commit is not None:
            before_commit()
        con.execute("COMMIT")
    except BaseException:
        rollback_quietly(con)
        raise
    finally:
        con.unregister("run_documents")


def _replace_documents(con: LedgerConnection, now: datetime, run_id: str, index_version: int | None) -> None:
    """The run's documents replace their rows (keeping first_seen) and join their history."""
    con.execute(
        """
        CREATE TEMP TABLE run_first_seen AS
        SELECT r.doc_id, coalesce(d.first_seen, $now) AS first_seen
        FROM run_documents r LEFT JOIN documents d USING (doc_id)
        """,
        {"now": now},
    )
    con.execute("DELETE FROM documents WHERE doc_id IN (SELECT doc_id FROM run_documents)")
    con.execute(
        f"""
        INSERT INTO documents ({DOCUMENTS.column_list()}, first_seen, last_changed, index_version)
        SELECT {DOCUMENTS.select_list("r.")}, f.first_seen, $now, $index_version
        FROM run_documents r JOIN run_first_seen f USING (doc_id)
        """,
        {"now": now, "index_version": index_version},
    )
    con.execute(
        f"""
        INSERT INTO document_versions ({_DOCUMENT_VERSION_COLUMNS})
        SELECT doc_id, $now, $run_id, $index_version, content_hash, state, reasons,
               grade, provenance, contract_version
        FROM run_documents
        """,
        {"now": now, "run_id": run_id, "index_version": index_version},
    )


def _record_assessments(con: LedgerConnection, now: datetime, commit: LedgerCommit) -> None:
    _insert_run_rows(
        con,
        "run_assessments",
        commit.outcomes,
        ASSESSMENTS,
        f"""
        INSERT INTO assessments ({ASSESSMENTS.column_list()}, recorded_at)
        SELECT {ASSESSMENTS.select_list()}, $now FROM run_assessments
        """,
        {"now": now},
    )


def _update_quarantine(con: LedgerConnection, now: datetime, sources: tuple[str, ...]) -> None:
    """Quarantined documents of this run enter (or stay, keeping first_seen); the others leave."""
    con.execute(
        """
        DELETE FROM quarantine WHERE doc_id IN (
            SELECT doc_id FROM run_documents WHERE state <> 'quarantined')
        """
    )
    con.execute(
        f"""
        INSERT INTO quarantine ({_QUARANTINE_COLUMNS})
        SELECT r.doc_id, r.source, r.reasons, r.contract_id, r.contract_version,
               r.content_hash, coalesce(q.first_seen, $now), $now
        FROM run_documents r LEFT JOIN quarantine q USING (doc_id)
        WHERE r.state = 'quarantined'
        ON CONFLICT (doc_id) DO UPDATE SET reasons = excluded.reasons,
            contract_id = excluded.contract_id, contract_version = excluded.contract_version,
            content_hash = excluded.content_hash, last_seen = excluded.last_seen
        """,
        {"now": now},
    )
    # Still quarantined and looked at again this run (unchanged files are not re-processed).
    con.execute(
        "UPDATE quarantine SET last_seen = $now WHERE list_contains($sources, source)",
        {"now": now, "sources": list(sources)},
    )


def _replace_signatures_and_chunks(con: LedgerConnection, commit: LedgerCommit) -> None:
    # The corpus a new document is compared with: indexed documents only.
    con.execute("DELETE FROM near_duplicate_signatures WHERE doc_id IN (SELECT doc_id FROM run_documents)")
    _insert_run_rows(
        con,
        "run_signatures",
        commit.outcomes,
        SIGNATURES,
        f"INSERT INTO near_duplicate_signatures ({SIGNATURES.column_list()}) "
        f"SELECT {SIGNATURES.select_list()} FROM run_signatures",
        {"version": FINGERPRINT_VERSION},
    )
    con.execute("DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM run_documents)")
    _insert_run_rows(
        con,
        "run_chunks",
        commit.outcomes,
        CHUNKS,
        f"INSERT INTO chunks ({CHUNKS.column_list()}) SELECT {CHUNKS.select_list()} FROM run_chunks",
    )


def _record_run(
    con: LedgerConnection, now: datetime, commit: LedgerCommit, index_version: int | None
) -> None:
    con.execute(
        _INSERT_RUN,
        [
            commit.run_id,
            commit.started_at,
            now,
            list(commit.sources),
            index_version,
            json.dumps(commit.summary),
        ],
    )
    # A source's held-back changes are those of its latest run; a run that lets them
    # through clears them.
    con.execute(
        "DELETE FROM held_back WHERE list_contains($sources, source)",
        {"sources": list(commit.sources)},
    )
    if commit.held_back:
        con.executemany(
            insert_statement("held_back", HeldBackRow),
            [
                parameters(
                    HeldBackRow(
                        doc_id=o.doc_id,
                        source=o.source,
                        run_id=commit.run_id,
                        recorded_at=now,
                        would_be=o.state.value,
                        reasons=o.reasons,
                        detail=o.detail,
                        contract_id=o.contract_id,
                        contract_version=o.contract_version,
                    )
                )
                for o in commit.held_back
            ],
        )


def apply_rollback(
    con: LedgerConnection,
    version: IndexVersion,
    restored: pa.Table,
    run_id: str,
    reason: str,
    publication: Publication,
) -> None:
    """Make document states and chunks match a restored index, as one new index version, and
    publish it in the same transaction (a rollback is served at once, or not at all).

    Documents back in the index are `indexed`; indexed documents that left it are held as
    `quarantined` with `reason`. Both lose their processing key, so the next ingestion looks
    at them again against the sources as they are then. Documents the rollback held out keep
    their row as it is.
    """
    now = datetime.now(UTC)
    con.register("restored", restored)
    con.execute("BEGIN TRANSACTION")
    try:
        _restore_documents(con, now, version.index_version, run_id, reason)
        _restore_quarantine_and_chunks(con, now)
        write_index_version(con, replace(version, counts=_rollback_counts(con, version)), run_id)
        record_version_stats(con, version.index_version)
        con.execute(insert_statement("publications", Publication), parameters(publication))
        con.execute(
            _INSERT_RUN,
            [run_id, now, now, [], version.index_version, json.dumps({"rollback": version.counts.as_json()})],
        )
        con.execute("DELETE FROM commit_intents")
        con.execute("COMMIT")
    except BaseException:
        rollback_quietly(con)
        raise


def _restore_documents(con: LedgerConnection, now: datetime, version: int, run_id: str, reason: str) -> None:
    """Documents in `restored` become indexed; indexed ones that are not, quarantined."""
    con.execute(
        """
        CREATE TEMP TABLE restored_docs AS
        SELECT doc_id, min(content_hash) AS content_hash, min(grade) AS grade,
               min(provenance) AS provenance, count(*) AS chunk_count
        FROM restored GROUP BY doc_id
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE left_index AS
        SELECT doc_id FROM documents WHERE state = 'indexed'
        AND doc_id NOT IN (SELECT doc_id FROM restored_docs)
        """
    )
    con.execute(
        """
        UPDATE documents SET state = 'indexed', reasons = $no_reasons, detail = NULL,
            content_hash = r.content_hash, grade = r.grade, provenance = r.provenance,
            chunk_count = r.chunk_count, config_hash = NULL, last_changed = $now,
            index_version = $version
        FROM restored_docs r WHERE documents.doc_id = r.doc_id
        """,
        {"now": now, "version": version, "no_reasons": []},
    )
    con.execute(
        """
        UPDATE documents SET state = 'quarantined', reasons = $reasons,
            detail = 'left the index in a rollback', chunk_count = 0,
            config_hash = NULL, last_changed = $now, index_version = $version
        WHERE doc_id IN (SELECT doc_id FROM left_index)
        """,
        {"now": now, "version": version, "reasons": [reason]},
    )
    con.execute(
        f"""
        INSERT INTO document_versions ({_DOCUMENT_VERSION_COLUMNS})
        SELECT doc_id, $now, $run_id, $version, content_hash, state, reasons, grade,
               provenance, contract_version
        FROM documents WHERE index_version = $version AND last_changed = $now
        """,
        {"now": now, "run_id": run_id, "version": version},
    )


def _restore_quarantine_and_chunks(con: LedgerConnection, now: datetime) -> None:
    con.execute("DELETE FROM quarantine WHERE doc_id IN (SELECT doc_id FROM restored_docs)")
    con.execute(
        f"""
        INSERT INTO quarantine ({_QUARANTINE_COLUMNS})
        SELECT doc_id, source, reasons, contract_id, contract_version, content_hash,
               $now, $now FROM documents WHERE doc_id IN (SELECT doc_id FROM left_index)
        ON CONFLICT (doc_id) DO UPDATE SET source = excluded.source, reasons = excluded.reasons,
            contract_id = excluded.contract_id, contract_version = excluded.contract_version,
            content_hash = excluded.content_hash, first_seen = excluded.first_seen,
            last_seen = excluded.last_seen
        """,
        {"now": now},
    )
    con.execute("DELETE FROM chunks")
    con.execute(
        f"INSERT INTO chunks ({CHUNKS.column_list()}) SELECT chunk_id, doc_id, ordinal, length(text) FROM restored"
    )


def _rollback_counts(con: LedgerConnection, version: IndexVersion) -> VersionCounts:
    """The restored version's counts, with states as they are after the rollback."""
    by_state = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY 1").fetchall())
    by_grade = dict(
        con.execute("SELECT coalesce(grade, 'none'), count(*) FROM restored_docs GROUP BY 1").fetchall()
    )
    by_provenance = dict(
        con.execute(
            "SELECT coalesce(provenance, 'unknown'), count(*) FROM restored_docs GROUP BY 1"
        ).fetchall()
    )
    return replace(version.counts, by_state=by_state, by_grade=by_grade, by_provenance=by_provenance)


def record_version_stats(con: LedgerConnection, index_version: int) -> None:
    """Each source's documents and chunks as the version holds them, in the transaction that
    commits it: the drift stats the publication gate compares with the served version's."""
    con.execute(
        """
        INSERT INTO version_stats (index_version, source, documents, chunks, median_chars,
            p95_chars, short_chunks, ai_generated)
        SELECT ?, d.source, count(DISTINCT d.doc_id), count(c.chunk_id),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY c.chars),
            percentile_cont(0.95) WITHIN GROUP (ORDER BY c.chars),
            count(c.chunk_id) FILTER (WHERE c.chars < ?),
            count(DISTINCT d.doc_id) FILTER (WHERE d.provenance = 'ai_generated')
        FROM documents d LEFT JOIN chunks c USING (doc_id)
        WHERE d.state = 'indexed'
        GROUP BY d.source
        """,
        [index_version, SHORT_CHUNK_CHARS],
    )


def write_index_version(con: LedgerConnection, v: IndexVersion, run_id: str) -> None:
    con.execute(insert_statement("index_versions", IndexVersion, "run_id"), [*parameters(v), run_id])


def apply_erasure(
    con: LedgerConnection,
    erasure: ErasureRow,
    doc_id: str,
    content_hashes: list[str],
    version: IndexVersion | None,
    publication: Publication | None,
    run_id: str,
) -> dict[str, Any]:
    now = erasure.erased_at
    con.execute("BEGIN TRANSACTION")
    try:
        anonymise_document(con, doc_id, erasure.doc_id, now)
        (judged,) = con.execute("SELECT count(*) FROM judge_calls").fetchall()[0]
        # The judge's cache is keyed by prompts that held chunk text: cleared whole (it refills
        # at the next scoring), since which entries read this document is not kept.
        con.execute("DELETE FROM judge_calls")
        mentions = scrub_mentions(con, doc_id, erasure.doc_id)
        (outputs,) = con.execute(
            "SELECT count(*) FROM self_outputs WHERE CAST(row AS VARCHAR) LIKE ?", [f"%{erasure.doc_id}%"]
        ).fetchall()[0]
        con.execute("DELETE FROM self_outputs WHERE CAST(row AS VARCHAR) LIKE ?", [f"%{erasure.doc_id}%"])
        if version is not None:
            by_state = dict(con.execute("SELECT state, count(*) FROM documents GROUP BY 1").fetchall())
            indexed = "FROM documents WHERE state = 'indexed' GROUP BY 1"
            counts = VersionCounts(
                by_state=by_state,
                by_grade=dict(con.execute(f"SELECT coalesce(grade, 'none'), count(*) {indexed}").fetchall()),
                by_provenance=dict(
                    con.execute(f"SELECT coalesce(provenance, 'unknown'), count(*) {indexed}").fetchall()
                ),
            )
            write_index_version(con, replace(version, counts=counts), run_id)
            record_version_stats(con, version.index_version)
            con.execute(
                "UPDATE document_versions SET index_version = ? WHERE doc_id = ? AND run_id = 'erase'",
                [version.index_version, erasure.doc_id],
            )
        if publication is not None:
            con.execute(insert_statement("publications", Publication), parameters(publication))
        record_erasure(con, erasure, content_hashes)
        con.execute(
            _INSERT_RUN,
            [
                run_id,
                now,
                now,
                [],
                version.index_version if version else None,
                json.dumps({"erasure": erasure.erasure_id}),
            ],
        )
        con.execute("DELETE FROM commit_intents")
        con.execute("COMMIT")
    except BaseException:
        rollback_quietly(con)
        raise
    return {
        "rows_renamed": mentions,
        "judge_cache_entries_cleared": int(judged),
        "self_outputs_removed": int(outputs),
    }
