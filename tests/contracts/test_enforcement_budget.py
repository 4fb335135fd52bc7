import dataclasses

import pandas
import pytest

from contracts import DEFAULT_CONTRACT_PATH, STRICT_CONTRACT_PATH, load_contract
from contracts.enforcement import enforce_contract


def documents(short: int, fine: int) -> pandas.DataFrame:
    ids = [f"short-{i}" for i in range(short)] + [f"fine-{i}" for i in range(fine)]
    return pandas.DataFrame({
        "doc_id": ids, "text_chars": [10] * short + [5000] * fine, "mime_type": "text/plain",
        "language": "en", "grade": "A", "title": "T", "author": "A", "modified": "2024-01-01",
    })


@pytest.fixture(scope="module")
def strict():
    return load_contract(STRICT_CONTRACT_PATH)  # maxViolationRate 0.2


@pytest.mark.parametrize(("short", "fine", "within"), [(0, 10, True), (2, 8, True), (3, 7, False), (10, 0, False)])
def test_budget_compares_violation_rate_to_max_violation_rate(strict, short, fine, within) -> None:
    verdict = enforce_contract(strict, documents(short, fine))

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
    # strict: 3 required fields, 2 text bounds, mime type (set + null), language (set + null), grade (set + null)
    assert enforce_contract(strict, documents(0, 1)).expectations == 11
    lenient = dataclasses.replace(strict, minimum_grade="F")
    assert enforce_contract(lenient, documents(0, 1)).expectations == 10
