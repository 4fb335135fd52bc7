"""A source's block alerts once, not per run: `check_failed` when the block starts or its reasons
change, nothing while it stands through later runs (a sensor, a Materialize, the nightly pass),
and `check_cleared` when a run lets the source's changes in; blocked again, it alerts again."""

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.governance.alerts import CHECK_CLEARED, CHECK_FAILED, _ledger_alerts
from pipelines.ledger.alerts import AlertInputs, RunRow

START = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def _run(number: int, blocked: bool, reasons: dict[str, int] | None = None) -> RunRow:
    check: dict[str, Any] = {
        "source": "docs",
        "contract": "contracts/strict.odcs.yaml",
        "contract_id": "strict",
        "contract_version": "1.0.0",
        "checked": 12,
        "governed": 41,
        "violating": 11 if blocked else 1,
        "violations_by_reason": reasons or ({"contract.text_too_short": 11} if blocked else {}),
        "violation_rate": 0.27 if blocked else 0.02,
        "max_violation_rate": 0.1,
        "within_budget": not blocked,
        "blocks_when_over_budget": True,
    }
    return RunRow(f"run-{number}", START + timedelta(minutes=number), {"contract_checks": [check]})


def _block_alerts(runs: list[RunRow]) -> list[tuple[str, str]]:
    alerts = _ledger_alerts(AlertInputs(runs, [], [], set()))
    return [(a.kind, a.key) for a in alerts if a.kind in (CHECK_FAILED, CHECK_CLEARED)]


def test_a_standing_block_alerts_once_and_its_end_is_said() -> None:
    runs = [_run(1, True), _run(2, True), _run(3, True), _run(4, False), _run(5, False)]
    assert _block_alerts(runs) == [
        (CHECK_FAILED, "check_failed:run-1:docs"),
        (CHECK_CLEARED, "check_cleared:run-1:docs"),
    ]
    cleared = next(a for a in _ledger_alerts(AlertInputs(runs, [], [], set())) if a.kind == CHECK_CLEARED)
    assert "no longer blocked" in cleared.message and "run-4" in cleared.message


def test_a_block_whose_reasons_change_or_that_returns_alerts_again() -> None:
    runs = [
        _run(1, True),
        _run(2, True, {"contract.text_too_short": 11, "policy.pii_quarantined": 3}),
        _run(3, False),
        _run(4, True),
    ]
    assert _block_alerts(runs) == [
        (CHECK_FAILED, "check_failed:run-1:docs"),
        (CHECK_FAILED, "check_failed:run-2:docs"),
        (CHECK_CLEARED, "check_cleared:run-2:docs"),
        (CHECK_FAILED, "check_failed:run-4:docs"),
    ]
