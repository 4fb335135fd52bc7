from datetime import UTC, datetime, timedelta

import pandas
import pytest

from contracts import STRICT_CONTRACT_PATH, load_contract
from contracts.enforcement import enforce_contract
from tests.contracts.contract_variants import with_only

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def fresh_only():
    """Only the freshness rule: maxAge 30 days."""
    strict = load_contract(STRICT_CONTRACT_PATH)
    return with_only(strict, max_age=timedelta(days=30))


def verdict_for(contract, rows: dict[str, dict], now=NOW):
    frame = pandas.DataFrame(
        [{"doc_id": doc_id, "modified": None, "created": None, **row} for doc_id, row in rows.items()]
    )
    return enforce_contract(contract, frame, now=now)


def test_document_older_than_max_age_is_stale(fresh_only) -> None:
    verdict = verdict_for(
        fresh_only,
        {
            "at-limit": {"modified": "2024-12-02"},
            "just-over": {"modified": "2024-12-01T23:59:00Z"},
            "old": {"modified": "2019-06-01"},
            "other-zone": {"modified": "2024-12-02T01:00:00+02:00"},  # 2024-12-01T23:00Z
            "future": {"modified": "2025-03-01"},
        },
    )

    assert verdict.reasons == {
        "just-over": ("contract.stale",),
        "old": ("contract.stale",),
        "other-zone": ("contract.stale",),
    }


def test_modified_wins_and_created_is_the_fallback(fresh_only) -> None:
    verdict = verdict_for(
        fresh_only,
        {
            "recently-edited": {"modified": "2024-12-20", "created": "2010-01-01"},
            "old-created-only": {"created": "2010-01-01"},
            "new-created-only": {"created": "2024-12-20"},
            "unparseable-modified": {"modified": "last week", "created": "2024-12-20"},
        },
    )

    assert verdict.reasons == {"old-created-only": ("contract.stale",)}


def test_document_without_a_date_has_unknown_freshness(fresh_only) -> None:
    verdict = verdict_for(
        fresh_only, {"undated": {}, "garbage": {"modified": "n/a"}, "dated": {"modified": "2024-12-31"}}
    )

    assert verdict.reasons == {
        "undated": ("contract.freshness_unknown",),
        "garbage": ("contract.freshness_unknown",),
    }


def test_frame_without_date_columns_leaves_every_document_unknown(fresh_only) -> None:
    verdict = enforce_contract(fresh_only, pandas.DataFrame({"doc_id": ["a", "b"]}), now=NOW)

    assert verdict.violations_by_reason == {"contract.freshness_unknown": 2}


def test_now_defaults_to_the_current_time_and_naive_now_is_utc(fresh_only) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert verdict_for(fresh_only, {"d": {"modified": yesterday}}, now=None).reasons == {}
    naive = datetime(2025, 1, 1)
    assert verdict_for(fresh_only, {"d": {"modified": "2024-11-01"}}, now=naive).reasons == {
        "d": ("contract.stale",)
    }
