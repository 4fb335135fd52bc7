"""The CLI's JSON shapes and its manners: a user mistake is one red line and exit 1, no traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipelines.cli.ingest as cli_ingest
import pipelines.cli.read as cli_read
from pipelines.cli.app import app
from tests.conftest import FakeEmbedder, corpusgov_main, prepared, procedure_text, write_doc

runner = CliRunner()


@pytest.fixture
def cli_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    embedder = FakeEmbedder()
    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: embedder)
    monkeypatch.setattr(cli_read, "embedder_from_settings", lambda *_: embedder)
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "returns.md", procedure_text("returns"))
    write_doc(corpus, "empty.txt", b"")
    return project


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_ingest_then_status_json(cli_project: Path) -> None:
    code, out = invoke("ingest")
    assert code == 0, out
    assert "Index version 1" in out
    code, out = invoke("status", "--json")
    assert code == 0
    assert json.loads(out) == {
        "index_version": 1,
        "lance_version": json.loads(out)["lance_version"],
        "chunks": json.loads(out)["chunks"],
        "embedding_model": "fake-embedder@test",
        "documents": {"indexed": 2, "quarantined": 0, "rejected": 1, "removed": 0},
        "index_problem": None,
        "serving_version": 1,
    }
    assert json.loads(out)["chunks"] >= 2


def test_second_ingest_says_no_changes(cli_project: Path) -> None:
    invoke("ingest")
    code, out = invoke("ingest")
    assert code == 0
    assert "No changes" in out


def test_documents_json_shape_and_state_filter(cli_project: Path) -> None:
    invoke("ingest")
    code, out = invoke("documents", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    assert set(rows[0]) == {
        "doc_id",
        "source",
        "path",
        "state",
        "reasons",
        "content_hash",
        "grade",
        "quality_score",
        "provenance",
        "safety_flags",
        "contract_version",
    }
    code, out = invoke("documents", "--json", "--state", "rejected")
    rejected = json.loads(out)
    assert [r["doc_id"] for r in rejected] == ["docs/empty.txt"]
    assert rejected[0]["reasons"] == ["discover.empty_file"]


def test_search_json_and_filters(cli_project: Path) -> None:
    invoke("ingest")
    code, out = invoke("search", "returns procedure", "--k", "3", "--json")
    hits = json.loads(out)
    assert code == 0 and 1 <= len(hits) <= 3
    assert set(hits[0]) >= {"doc_id", "chunk_id", "score", "text", "grade", "provenance"}
    assert hits[0]["doc_id"] == "docs/returns.md"
    code, out = invoke("search", "returns procedure", "--exclude-label", "unknown", "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ingest", "--source", "nope"), "Unknown source 'nope'"),
        (("documents", "--state", "lost"), "Unknown state 'lost'"),
        (("search", "x", "--min-grade", "Z"), "Unknown grade 'Z'"),
        (("search", "x", "--exclude-label", "robot"), "Unknown provenance label 'robot'"),
        (("search", "x", "--exclude-flag", "safety.injection"), "Unknown flag 'safety.injection'"),
        (("search", "x", "--as-of", "two"), "Invalid value for '--as-of': 'two' is not a valid int"),
        (("index", "diff", "1", "latest"), "'latest' is not a valid int. See `corpusgov index diff --help`"),
        (("status", "--verbose"), "No such option: --verbose"),
        (("index", "diff"), "Missing argument"),
        (("search", "x", "--k", "100000000000000000000"), "--k must be from 1 to 100 (serving.max_k"),
        (("search", "x", "--k", "0"), "--k must be from 1 to 100"),
        (
            ("index", "cleanup", "--older-than-days", "nan"),
            "must be a number of days from 0 to 36500, got nan",
        ),
        (("index", "cleanup", "--older-than-days", "1e300"), "from 0 to 36500, got 1e+300"),
        (("index", "cleanup", "--older-than-days", "-5"), "from 0 to 36500, got -5"),
        (("index", "promote", "99"), "There is no index version 99 to promote"),
        (("index", "rollback", "99"), "There is no index version 99"),
        (("erase",), "Name the document to erase"),
        (("erase", "docs/returns.md"), "Say why with --reason"),
        (("erase", "docs/nope.md", "--reason", "request 114"), "No document docs/nope.md in the ledger"),
        (("erase", "--release", "0" * 64, "--reason", "x"), "No tombstone in force holds the content hash"),
        (("outputs", "register", "NOT_JSON_LINES"), "line 2: not valid JSON"),
        (("outputs", "register", "WRONG_SHAPE"), "line 1: 'text' is required"),
    ],
)
def test_user_mistakes_are_one_line_errors(
    cli_project: Path,
    args: tuple[str, ...],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepared(cli_project, "cli-ingested", lambda: invoke("ingest"))
    good = '{"id": "a1", "text": "An answer the app gave.", "derived_from": []}'
    (cli_project / "NOT_JSON_LINES").write_text(good + "\n{not json\n", encoding="utf-8")
    (cli_project / "WRONG_SHAPE").write_text('{"id": "a1"}\n', encoding="utf-8")
    args = tuple(str(cli_project / a) if a in ("NOT_JSON_LINES", "WRONG_SHAPE") else a for a in args)
    # `main` in this process, as the program runs it; test_missing_config_is_a_clear_error and
    # test_a_grade_this_version_does_not_know_is_one_line_naming_the_fix start the real program.
    result = corpusgov_main(capsys, monkeypatch, *args)
    assert result.returncode == 1
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr + result.stdout
    assert [line.startswith("Error:") for line in result.stderr.strip().splitlines()][:1] == [True]
    assert "Usage:" not in result.stderr, "one line, no usage box"
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error:")]) == 1


def test_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "CORPUSGOV_CONFIG": str(tmp_path / "missing.yaml")}
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "No config file at" in result.stderr and "CORPUSGOV_CONFIG" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_source_folder_is_reported_and_other_sources_go_on(
    cli_project: Path,
) -> None:
    config = cli_project / "corpusgov.yaml"
    config.write_text(
        config.read_text()
        + f"  - name: ghost\n    path: nowhere\n    contract: {cli_project / 'corpus' / '..' / 'x'}\n"
    )
    code, out = invoke("ingest")
    assert code == 1
    code, out = invoke("documents", "--json")
    assert len(json.loads(out)) == 3, "the healthy source is still ingested"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("data_dir_is_a_file", "is a file, not a folder"),
        ("data_dir_cannot_be_created", "Cannot create data_dir"),
        ("data_dir_under_proc", "Cannot create data_dir"),
        ("config_not_utf8", "not UTF-8 text"),
        ("config_empty", "is empty. It needs at least `sources:`"),
    ],
)
@pytest.mark.parametrize("command", ["ingest", "status", "documents"])
def test_data_dir_and_config_problems_are_one_line_errors(
    tmp_path: Path,
    setup: str,
    message: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "corpus").mkdir()
    config = tmp_path / "corpusgov.yaml"
    config.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(config))
    monkeypatch.delenv("CORPUSGOV_DATA_DIR", raising=False)
    if setup == "data_dir_is_a_file":
        (tmp_path / "data").write_text("not a folder", encoding="utf-8")
    elif setup == "data_dir_cannot_be_created":
        (tmp_path / "blocker").write_text("a file", encoding="utf-8")
        monkeypatch.setenv("CORPUSGOV_DATA_DIR", str(tmp_path / "blocker" / "data"))
    elif setup == "data_dir_under_proc":
        # A folder no one can make, read commands included.
        monkeypatch.setenv("CORPUSGOV_DATA_DIR", "/proc/1/nope")
    elif setup == "config_empty":
        config.write_text("", encoding="utf-8")
    else:
        config.write_bytes("data_dir: donn\xe9es\nsources: []\n".encode("latin-1"))
    result = corpusgov_main(capsys, monkeypatch, command)
    assert result.returncode == 1
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def test_documents_lists_who_carries_a_flag(cli_project: Path) -> None:
    write_doc(
        cli_project / "corpus",
        "contacts.md",
        procedure_text("escalation") + "\nCall Dana at dana.whitfield@northwind-logistics.com.\n",
    )
    invoke("ingest")
    code, out = invoke("documents", "--flag", "safety.pii_email", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["doc_id"] for r in rows] == ["docs/contacts.md"]
    assert "safety.pii_email" in rows[0]["safety_flags"] and rows[0]["quality_score"] > 0
    assert rows[0]["contract_version"] == "1.0.0"
    code, out = invoke("documents", "--flag", "safety.injection_like", "--json")
    assert code == 0 and json.loads(out) == []


def test_a_grade_this_version_does_not_know_is_one_line_naming_the_fix(cli_project: Path) -> None:
    """A newer corpusgov (or a hand edit) may leave a grade this one cannot read: say so, no traceback."""
    import duckdb

    assert invoke("ingest")[0] == 0
    con = duckdb.connect(str(cli_project / "data" / "ledger.duckdb"))
    con.execute("UPDATE documents SET grade = 'A+' WHERE doc_id = 'docs/receiving.md'")
    con.close()
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "documents", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert result.returncode == 1
    assert "grade 'A+', which this corpusgov does not know" in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr + result.stdout
