from datetime import date, datetime

import pandas
import pytest

from contracts import STRICT_CONTRACT_PATH, load_contract
from contracts.enforcement import enforce_contract
from tests.contracts.contract_variants import with_only


@pytest.fixture(scope="module")
def typed():
    """Only the field-type rule, on one field per checkable logicalType."""
    strict = load_contract(STRICT_CONTRACT_PATH)
    return with_only(
        strict,
        field_types={
            "title": "string",
            "day": "date",
            "at": "timestamp",
            "clock": "time",
            "pages": "integer",
            "ratio": "number",
            "reviewed": "boolean",
        },
    )


CASES = [
    # field, value, parses
    ("day", "2024-05-01", True),
    ("day", "2024-05-01T09:30:00Z", True),
    ("day", date(2024, 5, 1), True),  # a date the parser already converted is checked as ISO text
    ("day", "2024-02-30", False),
    ("day", "2024-13-01", False),
    ("day", "01.05.2024", False),
    ("day", "soon", False),
    ("at", "2024-05-01 09:30:00+02:00", True),
    ("at", datetime(2024, 5, 1, 9, 30), True),
    ("at", "2024-05-01T25:00", False),
    ("clock", "09:30", True),
    ("clock", "9:30 am", False),
    ("pages", "12", True),
    ("pages", 12, True),
    ("pages", "-3", True),
    ("pages", "12.0", False),
    ("pages", "twelve", False),
    ("ratio", "0.25", True),
    ("ratio", "-1e3", True),
    ("ratio", "1,5", False),
    ("reviewed", "true", True),
    ("reviewed", "False", True),
    ("reviewed", True, True),
    ("reviewed", "yes", False),
    ("title", "anything at all", True),  # string: nothing to parse
]


@pytest.mark.parametrize(("field", "value", "parses"), CASES, ids=[f"{c[0]}-{c[1]!s}" for c in CASES])
def test_typed_field_must_parse_as_its_logical_type(typed, field, value, parses) -> None:
    documents = pandas.DataFrame({"doc_id": ["d"], field: pandas.Series([value], dtype=object)})

    verdict = enforce_contract(typed, documents)

    assert verdict.reasons == ({} if parses else {"d": (f"contract.invalid_type_{field}",)})


def test_nulls_and_absent_columns_are_not_type_errors(typed) -> None:
    documents = pandas.DataFrame({"doc_id": ["a", "b"], "day": [None, "2024-05-01"], "pages": [None, None]})

    verdict = enforce_contract(typed, documents)

    assert verdict.reasons == {}
