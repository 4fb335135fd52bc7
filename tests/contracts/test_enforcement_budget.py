import dataclasses
from datetime import UTC, datetime

import pandas
import pytest

from contracts import DEFAULT_CONTRACT_PATH, STRICT_CONTRACT_PATH, load_contract
from contracts.enforcement import enforce_contract

NOW = datetime(2024, 6, 1, tzinfo=UTC)  # the documents' 2024-01-01 is fresh under strict's maxAge P2Y


def documents(short: int, fine: int) -> pandas.DataFrame:
    ids = [f"short-{i}" for i in range(short)] + [f"fine-{i}" for i in range(fine)]
    return pandas.DataFrame(
        {
            "doc_id": ids,
            "text_chars": [10] * short + [5000] * fine,
            "mime_type": "text/plain",
            "language": "en",
            "grade": "A",
            "title": "T",
            "author": "A",
            "modified": "2024-01-01",
            "duplicate_of": None,
        }
    )


@pytest.fixture(scope="module")
def strict():
    return load_contract(STRICT_CONTRACT_PATH)  # maxViolationRate 0.2


@pytest.mark.parametrize(
    ("short", "fine", "within"), [(0, 10, True), (2, 8, True), (3, 7, False), (10, 0, False)]
)
def test_budget_compares_violation_rate_to_max_violation_rate(strict, short, fine, within) -> None:
    verdict = enforce_contract(strict, documents(short, fine), now=NOW)

    assert verdict.violation_rate == pytest.approx(short / (short + fine))
    assert verdict.within_budget is within


def test_default_contract_never_blocks() -> None:
    verdict = enforce_contract(load_contract(DEFAULT_CONTRACT_PATH), documents(short=5, fine=0))

    assert verdict.violation_rate == 1.0
    assert verdict.within_budget


def test_empty_frame_gives_empty_verdict_without_running_gx(strict, monkeypatch) -> None:
    import contracts.enforcement as enforcement

    def no_gx() -> None:
        raise AssertionError("GX must not run for an empty frame")

    monkeypatch.setattr(enforcement, "_validation_runtime", no_gx)
    verdict = enforce_contract(strict, documents(0, 0))

    assert (verdict.checked, verdict.reasons, verdict.violations_by_reason) == (0, {}, {})
    assert (verdict.violation_rate, verdict.within_budget, verdict.expectations) == (0.0, True, 0)


def test_expectation_count_reflects_the_contract(strict) -> None:
    # strict: 3 required fields; types: 2 dates (pattern + calendar) and an integer; 2 text bounds;
    # mime type, language and grade (set + null each); freshness (age + unknown); duplicates
    assert enforce_contract(strict, documents(0, 1), now=NOW).expectations == 19
    lenient = dataclasses.replace(strict, minimum_grade="F", max_age=None, no_duplicate_content=False)
    assert enforce_contract(lenient, documents(0, 1), now=NOW).expectations == 15


@pytest.mark.parametrize(("severity", "blocks"), [("error", True), ("warning", False)])
def test_only_error_severity_blocks_a_run_over_budget(strict, severity, blocks) -> None:
    contract = dataclasses.replace(strict, severity=severity)

    verdict = enforce_contract(contract, documents(short=5, fine=5), now=NOW)

    # The verdict is the same either way; severity only decides what being over budget does.
    assert not verdict.within_budget
    assert contract.blocks_when_over_budget is blocks
