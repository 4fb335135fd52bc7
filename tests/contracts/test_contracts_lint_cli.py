"""`corpusgov contracts lint`: one line per problem, exit 1 when there is any."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contracts import DEFAULT_CONTRACT_PATH, STRICT_CONTRACT_PATH
from pipelines.cli.app import app
from tests.contracts.conftest import FIXTURES

runner = CliRunner()
LINT_SET = FIXTURES / "lint_set"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


@pytest.fixture
def lint_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose contracts/ folder holds two good contracts for two folders."""
    (tmp_path / "contracts").mkdir()
    for name in ("good_a", "good_b"):
        shutil.copy(LINT_SET / f"{name}.odcs.yaml", tmp_path / "contracts")
    (tmp_path / "corpusgov.yaml").write_text(
        "sources:\n  - name: a\n    path: corpus/a\n    contract: contracts/good_a.odcs.yaml\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(tmp_path / "corpusgov.yaml"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_lint_without_files_checks_the_project_contracts(lint_project: Path) -> None:
    code, out = invoke("contracts", "lint")

    assert code == 0, out
    assert out.strip() == "2 contracts, no problems."  # good_a is in contracts/ and named by a source: once


def test_lint_also_checks_contracts_the_config_names_outside_contracts_folder(lint_project: Path) -> None:
    shutil.copy(FIXTURES / "bad_max_age.odcs.yaml", lint_project / "elsewhere.odcs.yaml")
    (lint_project / "corpusgov.yaml").write_text(
        "sources:\n  - name: b\n    path: corpus/b\n    contract: elsewhere.odcs.yaml\n", encoding="utf-8"
    )

    code, out = invoke("contracts", "lint")

    assert code == 1
    assert out.splitlines() == [
        "elsewhere.odcs.yaml: customProperties[maxAge]: '365 days' is not an ISO 8601 duration. Write a duration "
        "such as P365D, P2Y or P18M (a year counts as 365 days, a month as 30).",
        "3 contracts, 1 problem.",
    ]


def test_lint_reports_two_contracts_for_one_folder_naming_both_files(lint_project: Path) -> None:
    for name in ("clash_a", "clash_b"):
        shutil.copy(LINT_SET / f"{name}.odcs.yaml", lint_project / "contracts")

    code, out = invoke("contracts", "lint")

    assert code == 1
    problem = out.splitlines()[0]
    assert problem.startswith("contracts/clash_b.odcs.yaml: servers[local].path: servers[].path ")
    assert "contracts/clash_a.odcs.yaml" in problem and str(lint_project / "shared" / "docs") in problem
    assert out.splitlines()[-1] == "4 contracts, 1 problem."


def test_lint_given_files_checks_only_those(lint_project: Path) -> None:
    code, out = invoke("contracts", "lint", str(FIXTURES / "many_problems.odcs.yaml"), "--json")

    assert code == 1
    payload = json.loads(out)
    assert payload["contracts"] == [str(FIXTURES / "many_problems.odcs.yaml")]
    assert {p["field"] for p in payload["problems"]} == {
        "version",
        "customProperties[injectionPolicy]",
        "customProperties[colour]",
    }
    assert all(p["file"] == str(FIXTURES / "many_problems.odcs.yaml") for p in payload["problems"])


def test_lint_json_is_empty_for_good_files(lint_project: Path) -> None:
    code, out = invoke(
        "contracts", "lint", "contracts/good_a.odcs.yaml", "contracts/good_b.odcs.yaml", "--json"
    )

    assert code == 0
    assert json.loads(out) == {
        "contracts": ["contracts/good_a.odcs.yaml", "contracts/good_b.odcs.yaml"],
        "problems": [],
    }


def test_lint_of_a_missing_file_is_a_problem_not_a_traceback(lint_project: Path) -> None:
    code, out = invoke("contracts", "lint", "nope.odcs.yaml")

    assert code == 1
    assert out.startswith("nope.odcs.yaml: cannot read the contract file")


def test_lint_without_config_uses_the_contracts_folder_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORPUSGOV_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contracts").mkdir()
    shutil.copy(LINT_SET / "good_a.odcs.yaml", tmp_path / "contracts")

    code, out = invoke("contracts", "lint")

    assert (code, out.strip()) == (0, "1 contract, no problems.")


def test_lint_with_nothing_to_lint_says_what_to_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORPUSGOV_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["contracts", "lint"])

    assert result.exit_code == 1
    assert "No contracts to lint" in result.stderr


def test_shipped_contracts_lint_clean_together() -> None:
    code, out = invoke("contracts", "lint", str(DEFAULT_CONTRACT_PATH), str(STRICT_CONTRACT_PATH))

    assert (code, out.strip()) == (0, "2 contracts, no problems."), out
