"""A malformed eval set stops `corpusgov ingest` before the index is touched: one `Error:` line
naming the file, the line and the problem, exit 1, no index version; `corpusgov evals lint` lists
every problem; once the file is fixed, the next ingest binds the eval set, even one that changes
no document."""

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

import pipelines.cli.ingest as cli_ingest
import pipelines.governance.ingest as governance_ingest
from evals import EvalSetError
from pipelines.errors import CommittedRunError
from pipelines.ledger import Ledger
from pipelines.settings import load_settings
from tests.conftest import (
    ONE_ITEM_EVAL_SET,
    FakeEmbedder,
    add_eval_set,
    corpusgov_main,
    procedure_text,
    write_doc,
)

GOOD = ONE_ITEM_EVAL_SET
SECOND = GOOD.replace('"q01"', '"q02"')

# (file content, the line its problem is on, words the problem is named by)
MALFORMED = {
    "unknown key": (GOOD + SECOND.replace('"split"', '"colour": "red", "split"'), 2, "unknown key(s) colour"),
    "bad JSON": (GOOD + '{"id": "q02", "question": \n', 2, "invalid JSON"),
    "duplicate id": (GOOD + SECOND + GOOD, 3, "duplicate item id 'q01' (first at line 1)"),
}


@pytest.fixture
def cli_with_fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: FakeEmbedder())


def _corpusgov(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> "subprocess.CompletedProcess[str]":
    return corpusgov_main(capsys, monkeypatch, *args)


def _index_versions() -> list[int]:
    return [v.index_version for v in Ledger.of(load_settings()).index_versions()]


@pytest.mark.parametrize("problem", list(MALFORMED))
@pytest.mark.usefixtures("cli_with_fake_embedder")
def test_a_malformed_eval_set_stops_ingest_before_the_index_is_touched(
    problem: str, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    content, line, words = MALFORMED[problem]
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    add_eval_set(project, content)

    refused = _corpusgov(capsys, monkeypatch, "ingest")
    assert refused.returncode == 1
    [error] = refused.stderr.strip().splitlines()
    assert error.startswith("Error: Eval set 'sample' cannot be loaded:")
    assert f"sample.jsonl: line {line}" in error and words in error
    assert "Nothing of this run was committed" in error
    assert "Traceback" not in refused.stderr
    assert _index_versions() == [], "the run did not commit"
    assert not Path(load_settings().lancedb_uri).exists(), "LanceDB was not opened"

    lint = _corpusgov(capsys, monkeypatch, "evals", "lint")
    assert lint.returncode == 1
    lines = lint.stdout.strip().splitlines()
    assert any(f"sample.jsonl: line {line}" in row and words in row for row in lines), lines
    assert lines[-1] == "1 eval set, 1 problem."

    (project / "sample.jsonl").write_text(GOOD + SECOND, encoding="utf-8")  # fixed
    fixed = _corpusgov(capsys, monkeypatch, "evals", "lint")
    assert fixed.returncode == 0 and fixed.stdout.strip() == "1 eval set, no problems."


@pytest.mark.usefixtures("cli_with_fake_embedder")
def test_an_eval_set_loadable_again_is_bound_by_the_next_ingest_without_document_changes(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    add_eval_set(project, GOOD)
    assert _corpusgov(capsys, monkeypatch, "ingest").returncode == 0
    (project / "sample.jsonl").write_text(MALFORMED["unknown key"][0], encoding="utf-8")

    refused = _corpusgov(capsys, monkeypatch, "ingest")
    assert refused.returncode == 1 and "sample.jsonl: line 2" in refused.stderr
    assert _index_versions() == [1]

    (project / "sample.jsonl").write_text(GOOD + SECOND, encoding="utf-8")  # fixed
    fixed = _corpusgov(capsys, monkeypatch, "ingest", "--json")
    assert fixed.returncode == 0, fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["index_version"] is None, "no document changed: no index version"
    assert [(s["eval_set"], s["version"], s["index_version"], s["items"]) for s in report["eval_sets"]] == [
        ("sample", 2, 1, 2)
    ], "the no-op run binds the set as it is now"
    assert _index_versions() == [1]


def test_evals_lint_lists_every_problem_with_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_eval_set(project, GOOD + MALFORMED["unknown key"][0].splitlines()[1] + "\n{oops\n" + GOOD)
    lint = _corpusgov(capsys, monkeypatch, "evals", "lint")
    assert lint.returncode == 1
    lines = lint.stdout.strip().splitlines()
    assert len(lines) == 4, lines
    assert "sample.jsonl: line 2" in lines[0] and "unknown key(s) colour" in lines[0]
    assert "sample.jsonl: line 3" in lines[1] and "invalid JSON" in lines[1]
    assert "sample.jsonl: line 4" in lines[2] and "duplicate item id 'q01'" in lines[2]
    assert lines[3] == "1 eval set, 3 problems."

    as_json = json.loads(_corpusgov(capsys, monkeypatch, "evals", "lint", "--json").stdout)
    assert [s["name"] for s in as_json["eval_sets"]] == ["sample"]
    assert [(p["eval_set"], p["line"]) for p in as_json["problems"]] == [
        ("sample", 2),
        ("sample", 3),
        ("sample", 4),
    ]
    assert all(p["file"].endswith("sample.jsonl") for p in as_json["problems"])


def test_an_eval_set_error_after_the_commit_says_the_run_is_committed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second line of defence: a set that stops loading between the check and the commit."""

    def broken(*_: object) -> object:
        raise EvalSetError(project / "sample.jsonl", "line 2", "unknown key(s) colour", "use only id")

    monkeypatch.setattr(governance_ingest, "follow_index", broken)
    report = SimpleNamespace(index_version=SimpleNamespace(index_version=4))
    with pytest.raises(CommittedRunError) as raised:
        governance_ingest._after_commit(load_settings(), FakeEmbedder(), report)  # type: ignore[arg-type]
    assert str(raised.value).startswith(
        "The run is committed as index version 4, but re-versioning the eval sets on it failed: "
        f"{project / 'sample.jsonl'}: line 2: unknown key(s) colour."
    )
