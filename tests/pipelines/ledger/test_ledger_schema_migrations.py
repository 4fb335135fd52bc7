"""A data dir written by an older corpusgov keeps working: the ledger's schema is versioned and
upgraded in place (pipelines/ledger/schema.py); one written by a newer corpusgov is refused with
the fix, never half-read."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import CorpusgovError
from pipelines.evaluation import DEV, eval_results
from pipelines.governance.catalog import corpus_status, list_documents
from pipelines.ledger import Ledger
from pipelines.ledger.schema import MIGRATIONS, SCHEMA_VERSION, LedgerSchemaError
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc


def _ingested(project: Path, embedder: FakeEmbedder) -> Path:
    for topic in ("receiving", "returns", "picking"):
        write_doc(project / "corpus", f"{topic}.md", procedure_text(topic))
    settings = load_settings()
    run_ingestion(settings, embedder)
    return settings.ledger_path


def _as_before_versioning(ledger_path: Path) -> None:
    """What the ledger looked like before versioning: no ledger_schema; the alerts table made by
    the alert sender (with a row in it), no eval_question_vectors; an older release also lacked
    held_back."""
    con = duckdb.connect(str(ledger_path))
    try:
        con.execute("DROP TABLE ledger_schema")
        con.execute("DROP TABLE eval_question_vectors")
        con.execute("DROP TABLE held_back")
        # Results from before generation metrics had no judge and no answers fingerprint.
        con.execute("DROP TABLE judge_calls")
        con.execute("ALTER TABLE eval_results DROP COLUMN judge")
        con.execute("ALTER TABLE eval_results DROP COLUMN answers_fingerprint")
        con.execute("DELETE FROM alerts")
        con.execute(
            "INSERT INTO alerts VALUES ('k1', 'contract_violation', 'docs', 'd1', 'contract.stale', "
            "'default@1', 'stale', now(), ['log'])"
        )
    finally:
        con.close()


def _versions(ledger_path: Path) -> list[int]:
    con = duckdb.connect(str(ledger_path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT version FROM ledger_schema ORDER BY version").fetchall()]
    finally:
        con.close()


def test_a_ledger_from_before_versioning_is_upgraded_by_a_read_and_keeps_every_row(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    ledger_path = _ingested(project, fake_embedder)
    settings = load_settings()
    documents_before = list_documents(settings)
    _as_before_versioning(ledger_path)

    status = corpus_status(settings)  # a read: `corpusgov status`

    assert status.documents["indexed"] == 3 and status.index_version == 1
    assert list_documents(settings) == documents_before
    assert _versions(ledger_path) == list(range(1, SCHEMA_VERSION + 1))
    with Ledger(ledger_path).connect(read_only=True) as con:
        assert con.execute("SELECT alert_key, reason FROM alerts").fetchall() == [("k1", "contract.stale")]
        assert con.execute("SELECT count(*) FROM held_back").fetchone() == (0,)
    # The next run sees every document as unchanged: nothing re-embedded.
    embedded = len(fake_embedder.embedded_texts)
    again = run_ingestion(settings, fake_embedder)
    assert again.unchanged == 3 and not again.changed
    assert len(fake_embedder.embedded_texts) == embedded


def test_each_migration_is_applied_once(project: Path, fake_embedder: FakeEmbedder) -> None:
    ledger_path = _ingested(project, fake_embedder)
    for _ in range(3):
        with Ledger(ledger_path).connect():
            pass
    assert _versions(ledger_path) == list(range(1, len(MIGRATIONS) + 1))


def test_a_ledger_from_a_newer_corpusgov_is_refused_with_the_fix(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    ledger_path = _ingested(project, fake_embedder)
    con = duckdb.connect(str(ledger_path))
    con.execute("INSERT INTO ledger_schema VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()

    for read_only in (True, False):
        with pytest.raises(LedgerSchemaError, match="Upgrade corpusgov") as refused:
            with Ledger(ledger_path).connect(read_only=read_only):
                pass
        assert isinstance(refused.value, CorpusgovError)  # the CLI's one `Error:` line
        assert f"schema version {SCHEMA_VERSION + 1}" in str(refused.value)
    with pytest.raises(LedgerSchemaError):
        run_ingestion(load_settings(), fake_embedder)
    assert json.dumps(_versions(ledger_path)) == json.dumps(list(range(1, SCHEMA_VERSION + 2)))


def test_a_reader_that_cannot_upgrade_an_older_ledger_still_reads_it(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    """Another process holds the file read-only (a notebook, a `duckdb -readonly` shell): the
    upgrade cannot take the write lock, so the read goes on against the older schema, at once and
    without an error that would send anyone to `doctor --repair`. The next write upgrades it."""
    ledger_path = _ingested(project, fake_embedder)
    settings = load_settings()
    _as_before_versioning(ledger_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print('held', flush=True); time.sleep(120)",
            str(ledger_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        status = corpus_status(settings)
        assert status.documents["indexed"] == 3
        assert Ledger(ledger_path).commit_intent() is None
        assert eval_results(Ledger(ledger_path), "sample", DEV) == []
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(duckdb.CatalogException):
        _versions(ledger_path)  # not upgraded by the reader
    run_ingestion(settings, fake_embedder)
    assert _versions(ledger_path) == list(range(1, SCHEMA_VERSION + 1))
