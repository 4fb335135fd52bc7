import dataclasses

import pandas
import pytest

from contracts import STRICT_CONTRACT_PATH, DocumentFrameError, load_contract
from contracts.enforcement import enforce_contract
from tests.contracts.contract_variants import with_only


@pytest.fixture(scope="module")
def no_duplicates():
    """Only the duplicate-content rule."""
    strict = load_contract(STRICT_CONTRACT_PATH)
    return with_only(strict, no_duplicate_content=strict.no_duplicate_content)


def test_document_repeating_an_earlier_one_is_flagged_and_the_original_kept(no_duplicates) -> None:
    documents = pandas.DataFrame({"doc_id": ["a", "b", "c", "d"], "duplicate_of": [None, "a", None, "a"]})

    verdict = enforce_contract(no_duplicates, documents)

    assert verdict.reasons == {"b": ("contract.duplicate_content",), "d": ("contract.duplicate_content",)}


def test_duplicates_pass_when_the_contract_allows_them(no_duplicates) -> None:
    allowing = dataclasses.replace(no_duplicates, no_duplicate_content=False)
    documents = pandas.DataFrame({"doc_id": ["a", "b"], "duplicate_of": [None, "a"]})

    assert enforce_contract(allowing, documents).reasons == {}
    # Without the rule the column is not read, so a frame without it is fine too.
    assert enforce_contract(allowing, documents.drop(columns=["duplicate_of"])).reasons == {}


def test_rule_without_the_duplicate_of_column_is_refused(no_duplicates) -> None:
    with pytest.raises(DocumentFrameError) as caught:
        enforce_contract(no_duplicates, pandas.DataFrame({"doc_id": ["a"]}))

    assert caught.value.field == "duplicate_of"
