"""New documents are checked against documents indexed in earlier runs, not only their own batch."""

import json
from pathlib import Path

import pytest

from corpus_quality import InvalidQualityInputError, NearDuplicateIndex, near_duplicate_signal
from corpus_quality.near_duplicates import NearDuplicate

EXAMPLES = Path(__file__).parents[2] / "examples" / "corpus"
TEXTS = Path(__file__).parents[1] / "fixtures" / "corpus_quality" / "texts"


def corpus() -> dict[str, str]:
    paths = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".md", ".txt", ".html"))
    return {
        p.relative_to(EXAMPLES).as_posix(): p.read_text(encoding="utf-8", errors="replace") for p in paths
    }


@pytest.fixture
def index() -> NearDuplicateIndex:
    index = NearDuplicateIndex()
    for doc_id, text in corpus().items():
        index.add(doc_id, text)
    return index


def lightly_revised(text: str) -> str:
    words = text.split()
    words[len(words) // 2] = "revised"
    return " ".join(words) + " Reviewed again in March."


def test_finds_an_existing_near_duplicate_added_earlier(index: NearDuplicateIndex) -> None:
    original = (EXAMPLES / "policies" / "returns-policy.md").read_text()
    matches = index.query(lightly_revised(original), exclude="policies/returns-policy-copy.md")
    assert [m.doc_id for m in matches] == ["policies/returns-policy.md"]
    doc_id, jaccard = matches[0]
    assert 0.8 <= jaccard < 1.0


def test_unrelated_documents_do_not_match(index: NearDuplicateIndex) -> None:
    for path in sorted(TEXTS.iterdir()):
        assert index.query(path.read_text(encoding="utf-8")) == [], path.name


def test_a_document_is_not_its_own_duplicate(index: NearDuplicateIndex) -> None:
    text = (EXAMPLES / "ops" / "dock-scheduling.txt").read_text()
    assert index.query(text, exclude="ops/dock-scheduling.txt") == []
    assert index.query(text)[0] == NearDuplicate("ops/dock-scheduling.txt", 1.0)


def test_example_corpus_has_no_near_duplicates_except_the_runbook_revision(index: NearDuplicateIndex) -> None:
    pairs = {
        tuple(sorted((doc_id, match.doc_id)))
        for doc_id, text in corpus().items()
        for match in index.query(text, exclude=doc_id)
    }
    # The two runbook revisions have an exact shingle Jaccard of 0.803, on the threshold:
    # the MinHash estimate may land either side. Nothing else is close.
    assert all(len(pair) == 2 for pair in pairs)
    assert pairs <= {("runbooks/carrier-api-outage-rev2.md", "runbooks/carrier-api-outage.md")}


def test_remove_forgets_a_document(index: NearDuplicateIndex) -> None:
    text = (EXAMPLES / "ops" / "dock-scheduling.txt").read_text()
    index.remove("ops/dock-scheduling.txt")
    index.remove("never-indexed")
    assert "ops/dock-scheduling.txt" not in index
    assert index.query(text) == []


def test_readding_replaces_the_signature(index: NearDuplicateIndex) -> None:
    index.add("ops/dock-scheduling.txt", (TEXTS / "procedure.txt").read_text())
    assert index.query((EXAMPLES / "ops" / "dock-scheduling.txt").read_text()) == []


def test_text_without_words_is_not_indexed() -> None:
    index = NearDuplicateIndex()
    assert index.add("empty", "  \n ... ") is False
    assert len(index) == 0
    assert index.query("") == []


def test_rows_round_trip_through_json(index: NearDuplicateIndex) -> None:
    rows = json.loads(json.dumps(index.to_rows()))
    restored = NearDuplicateIndex.from_rows(rows)
    assert len(restored) == len(index)
    probe = lightly_revised((EXAMPLES / "policies" / "returns-policy.md").read_text())
    assert restored.query(probe) == index.query(probe)


def test_rows_from_another_fingerprint_version_are_rejected(index: NearDuplicateIndex) -> None:
    rows = index.to_rows()
    rows[0]["fingerprint_version"] = "w3-old"
    with pytest.raises(InvalidQualityInputError, match="row 1 .* re-index"):
        NearDuplicateIndex.from_rows(rows)


def test_signal_is_one_for_unique_documents_and_falls_with_similarity() -> None:
    assert near_duplicate_signal([]) == 1.0
    assert near_duplicate_signal([NearDuplicate("a", 0.85), NearDuplicate("b", 0.95)]) == pytest.approx(0.05)
    assert near_duplicate_signal([NearDuplicate("a", 1.0)]) == 0.0
