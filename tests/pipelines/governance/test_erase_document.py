"""`corpusgov erase` as a data-protection officer checks it: a marker planted in one document is
nowhere after the erasure (no LanceDB version, no data file of the index read raw or decoded, no
ledger table, no file of the data dir), the index and ledger still agree (`doctor`), rewritten
versions answer without it, the same bytes are refused by later runs at any path, and no rollback
re-admits it."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import erase as cli_erase
from pipelines.cli import index as cli_index
from pipelines.cli import read as cli_read
from pipelines.cli.app import app
from pipelines.governance.ingest import ingest
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc

MARKER = "ZEBRA-7731-MARKER"
CASE = (
    f"# Case notes for Jordan Whitfield {MARKER}\n\n"
    f"Jordan Whitfield ({MARKER}) lives at 14 Elm Row, Leeds, and can be reached at "
    "jordan.whitfield@northwind-mail.co.uk or +44 113 496 0123. The case was reviewed by the "
    "site safety officer, who confirmed the handover steps and recorded the outcome in the "
    "shift report before the meeting started. Every follow-up is logged in the case register "
    "with its owner and due date, and the team lead checks the register each Monday.\n"
)


def _marker_places(settings: Settings) -> list[str]:
    """Every place the marker still is: LanceDB versions, index data files (raw and decoded),
    ledger tables, and every other file of the data dir."""
    from lance.file import LanceFileReader

    found = []
    table = ChunkIndex(settings.lancedb_uri).require_table()
    for version in table.list_versions():
        try:
            table.checkout(version["version"])
        except (OSError, RuntimeError, ValueError):
            continue
        texts = read_columns(table, ["text"]).column("text").to_pylist()
        if any(MARKER in t for t in texts):
            found.append(f"lancedb version {version['version']}")
    table.checkout_latest()
    data = Path(settings.lancedb_uri) / "chunks.lance" / "data"
    for file in data.iterdir():
        decoded = (
            LanceFileReader(str(file), columns=["text"]).read_all().to_table().column("text").to_pylist()
        )
        if any(MARKER in t for t in decoded):
            found.append(f"data file {file.name} (decoded)")
    with duckdb.connect(str(settings.data_dir / "ledger.duckdb"), read_only=True) as con:
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            for row in con.execute(f"SELECT * FROM {name}").fetchall():
                if MARKER in str(row) or "Whitfield" in str(row):
                    found.append(f"ledger table {name}")
                    break
    for path in settings.data_dir.rglob("*"):
        if path.is_file() and (MARKER.encode() in path.read_bytes() or b"case-jordan" in path.read_bytes()):
            found.append(f"file {path.relative_to(settings.data_dir)}")
    return found


def _lance_version(settings: Settings, index_version: int) -> int:
    return next(
        v.lance_version for v in Ledger.of(settings).index_versions() if v.index_version == index_version
    )


@pytest.mark.fleet  # five runs and an erasure (make test runs it)
def test_erase_leaves_no_trace_and_the_bytes_stay_out(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cli in (cli_erase, cli_index, cli_read):
        monkeypatch.setattr(cli, "embedder_from_settings", lambda *_: fake_embedder)
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "hr/case-jordan.md", CASE.replace("Leeds", "York"))  # an older revision
    add_eval_set(project)
    settings = load_settings()
    assert ingest(settings, fake_embedder).report.index_version.index_version == 1
    write_doc(corpus, "hr/case-jordan.md", CASE)
    assert ingest(settings, fake_embedder).report.index_version.index_version == 2
    for round_number in (3, 4, 5):
        write_doc(corpus, "notes.md", procedure_text("notes") + f"\nRevision {round_number}.\n")
        assert ingest(settings, fake_embedder).report.index_version.index_version == round_number
    # A person's own tag on a version that holds the document (a release kept for audits).
    ChunkIndex(settings.lancedb_uri).require_table().tags.create("release-q4", _lance_version(settings, 3))
    before = _marker_places(settings)
    assert any(p.startswith("data file") for p in before) and any(p.startswith("ledger") for p in before), (
        before
    )

    runner = CliRunner()
    erased = runner.invoke(app, ["erase", "docs/hr/case-jordan.md", "--reason", "GDPR art. 17 request 114"])
    assert erased.exit_code == 0, (erased.output, erased.exception)
    assert "Erased docs/hr/case-jordan.md" in erased.output and "index version 6, published" in erased.output
    assert "Dagster's event log" in erased.output, "the certificate names what it cannot reach"

    assert _marker_places(settings) == []
    doctor = runner.invoke(app, ["doctor"])
    assert doctor.exit_code == 0, doctor.output
    # Rewritten versions still answer, without it; RAG apps reading `serving` too.
    for version in (2, 3, 6):
        shown = runner.invoke(
            app, ["search", "Jordan Whitfield case notes", "--as-of", str(version), "--json"]
        )
        assert shown.exit_code == 0, (shown.output, shown.exception)
        hits = json.loads(shown.output)
        assert hits and all("case-jordan" not in h["doc_id"] for h in hits), version
    release = ChunkIndex(settings.lancedb_uri).require_table()
    release.checkout("release-q4")
    assert int(release.version) == _lance_version(settings, 3), "the release follows its version"
    served = ChunkIndex(settings.lancedb_uri).require_table()
    served.checkout("serving")
    assert not any("case-jordan" in d for d in read_columns(served, ["doc_id"]).column("doc_id").to_pylist())

    # The certificate is stored; eval results on rewritten versions are marked.
    listed = json.loads(runner.invoke(app, ["erase", "--list", "--json"]).output)
    assert len(listed) == 1 and listed[0]["completed"] and listed[0]["reason"] == "GDPR art. 17 request 114"
    assert listed[0]["certificate"]["index"]["files_deleted"]
    # A second call says it is done.
    again = runner.invoke(app, ["erase", "docs/hr/case-jordan.md", "--reason", "again"])
    assert again.exit_code == 0 and "Already erased" in again.output

    # The same bytes, at the same path and at another, are refused; nothing of them is indexed.
    write_doc(corpus, "copies/case.md", CASE)
    outcome = ingest(settings, fake_embedder)
    documents = Ledger.of(settings).documents()
    for doc_id in ("docs/hr/case-jordan.md", "docs/copies/case.md"):
        assert documents[doc_id].reasons == ("policy.erased",), documents[doc_id]
    assert outcome.report.index_version is None or _marker_places(settings) == []

    # No rollback re-admits it.
    rolled = runner.invoke(app, ["index", "rollback", "2"])
    assert rolled.exit_code == 0, rolled.output
    head = ChunkIndex(settings.lancedb_uri).require_table()
    assert not any(MARKER in t for t in read_columns(head, ["text"]).column("text").to_pylist())
