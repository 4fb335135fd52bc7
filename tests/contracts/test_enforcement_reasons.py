import dataclasses
from datetime import UTC, datetime

import pandas
import pytest

from contracts import STRICT_CONTRACT_PATH, DocumentFrameError, load_contract
from contracts.enforcement import enforce_contract
from tests.contracts.contract_variants import with_only

NOW = datetime(2025, 6, 1, tzinfo=UTC)  # strict's maxAge P2Y: anything before 2023-06-02 is stale
GOOD = {
    "mime_type": "text/markdown",
    "text_chars": 5000,
    "language": "en",
    "grade": "B",
    "title": "T",
    "author": "A",
    "modified": "2024-05-01",
    "created": "2024-01-01",
    "revision": "3",
    "duplicate_of": None,
}

# doc_id -> (fields that differ from GOOD, the reasons the strict contract must give)
ROWS: dict[str, tuple[dict, tuple[str, ...]]] = {
    "ok-en": ({}, ()),
    "ok-de-grade-a": ({"language": "de", "grade": "A"}, ()),
    "ok-at-bounds": ({"text_chars": 200, "grade": "C"}, ()),
    "ok-at-upper-bound": ({"text_chars": 500_000}, ()),
    "no-title": ({"title": None}, ("contract.missing_title",)),
    "no-author": ({"author": None}, ("contract.missing_author",)),
    "no-modified": ({"modified": None}, ("contract.missing_modified",)),
    "short": ({"text_chars": 199}, ("contract.text_too_short",)),
    "long": ({"text_chars": 500_001}, ("contract.text_too_long",)),
    "zip": ({"mime_type": "application/zip"}, ("contract.mime_type_not_allowed",)),
    "no-mime": ({"mime_type": None}, ("contract.mime_type_not_allowed",)),
    "french": ({"language": "fr"}, ("contract.language_not_allowed",)),
    "no-language": ({"language": None}, ("contract.language_unknown",)),
    "grade-f": ({"grade": "F"}, ("contract.grade_below_minimum",)),
    "ungraded": ({"grade": None}, ("contract.grade_unknown",)),
    "modified-with-time": ({"modified": "2024-05-01T09:30:00+02:00"}, ()),
    "modified-not-a-date": ({"modified": "last spring"}, ("contract.invalid_type_modified",)),
    "modified-no-such-day": ({"modified": "2024-02-30"}, ("contract.invalid_type_modified",)),
    "created-us-style": ({"created": "05/01/2024"}, ("contract.invalid_type_created",)),
    "no-created": ({"created": None}, ()),  # optional and typed: a null is not a type error
    "revision-fraction": ({"revision": "2.5"}, ("contract.invalid_type_revision",)),
    "stale": ({"modified": "2023-05-31", "created": "2023-01-01"}, ("contract.stale",)),
    "fresh-modified-old-created": ({"created": "2001-01-01"}, ()),
    "stale-created-no-modified": (
        {"modified": None, "created": "2020-01-01"},
        ("contract.missing_modified", "contract.stale"),
    ),
    "undated": (
        {"modified": None, "created": None},
        ("contract.freshness_unknown", "contract.missing_modified"),
    ),
    "duplicate": ({"duplicate_of": "ok-en"}, ("contract.duplicate_content",)),
    "everything": (
        {"title": None, "text_chars": 3, "language": "fr", "grade": "F"},
        (
            "contract.grade_below_minimum",
            "contract.language_not_allowed",
            "contract.missing_title",
            "contract.text_too_short",
        ),
    ),
}


def frame(rows: dict[str, tuple[dict, tuple[str, ...]]]) -> pandas.DataFrame:
    return pandas.DataFrame([{"doc_id": doc_id, **GOOD, **changes} for doc_id, (changes, _) in rows.items()])


@pytest.fixture(scope="module")
def strict():
    return load_contract(STRICT_CONTRACT_PATH)


def test_each_rule_flags_exactly_the_failing_documents(strict) -> None:
    verdict = enforce_contract(strict, frame(ROWS), now=NOW)

    expected = {doc_id: reasons for doc_id, (_, reasons) in ROWS.items() if reasons}
    assert verdict.reasons == expected
    assert verdict.checked == len(ROWS)
    assert verdict.violations_by_reason["contract.text_too_short"] == 2
    assert verdict.violations_by_reason["contract.mime_type_not_allowed"] == 2
    assert verdict.violation_rate == len(expected) / len(ROWS)
    assert (verdict.contract_id, verdict.contract_version) == ("corpusgov-strict", "1.0.0")


def test_absent_required_column_counts_as_null_for_every_row(strict) -> None:
    documents = frame({"a": ({}, ()), "b": ({}, ())}).drop(columns=["author"])

    verdict = enforce_contract(strict, documents, now=NOW)

    assert verdict.reasons == {"a": ("contract.missing_author",), "b": ("contract.missing_author",)}


def test_default_contract_admits_any_grade_and_language(strict) -> None:
    lenient = dataclasses.replace(strict, allowed_languages=None, minimum_grade="F", required_fields=())
    rows = {
        "f": ({"grade": "F", "language": "fr"}, ()),
        "ungraded": ({"grade": None, "language": None}, ()),
        "bogus-grade": ({"grade": "Z"}, ("contract.grade_below_minimum",)),
    }

    verdict = enforce_contract(lenient, frame(rows), now=NOW)

    assert verdict.reasons == {"bogus-grade": ("contract.grade_below_minimum",)}


def test_unconstrained_contract_runs_only_the_rules_it_declares(strict) -> None:
    bare = with_only(strict)
    documents = pandas.DataFrame({"doc_id": ["x"]})  # nothing but ids: no other column is read

    verdict = enforce_contract(bare, documents)

    assert (verdict.reasons, verdict.expectations, verdict.checked) == ({}, 0, 1)


@pytest.mark.parametrize(
    ("documents", "field"),
    [
        (pandas.DataFrame({"text_chars": [500]}), "doc_id"),
        (pandas.DataFrame({"doc_id": ["a", None], "text_chars": [500, 500]}), "doc_id"),
        (pandas.DataFrame({"doc_id": ["a", "a"], "text_chars": [500, 500]}), "doc_id"),
        (pandas.DataFrame({"doc_id": ["a"]}), "text_chars"),
        (pandas.DataFrame({"doc_id": ["a"], "text_chars": [500]}), "duplicate_of"),
    ],
    ids=["no-doc-id-column", "null-doc-id", "duplicate-doc-id", "no-text-chars", "no-duplicate-of"],
)
def test_malformed_documents_frame_is_refused_with_the_column(strict, documents, field) -> None:
    with pytest.raises(DocumentFrameError) as caught:
        enforce_contract(strict, documents)

    assert caught.value.field == field
    assert str(caught.value).startswith(f"{STRICT_CONTRACT_PATH}: {field}: ")
