"""Personal data is found on the labelled set (tests/fixtures/pii: at least 60 documents, with
hard negatives) at the targets: recall >= 0.9 for emails, phones and cards, >= 0.8 for names and
addresses, precision >= 0.8 for every kind. Scores come from bench/assessment.py, which prints the
full table; the detectors are deterministic, so these are assertions, not timings."""

import json
from typing import Any

import pytest

from tests.corpus_quality.test_detector_floors import REPO, bench

PII_FIXTURES = REPO / "tests" / "fixtures" / "pii"
RECALL_TARGETS = {
    "email": 0.9,
    "phone": 0.9,
    "card": 0.9,
    "person": 0.8,
    "address": 0.8,
    "date_of_birth": 0.8,
}


@pytest.fixture(scope="module")
def scores() -> dict[str, Any]:
    computed: dict[str, Any] = bench.compute_pii_scores(bench.assess_pii_fixtures(PII_FIXTURES))
    return computed


def test_the_set_has_60_documents_with_hard_negatives_and_every_kind() -> None:
    documents = json.loads((PII_FIXTURES / "labels.json").read_text(encoding="utf-8"))["documents"]
    assert len(documents) >= 60
    assert sum(not row["pii"] for row in documents) >= 15, "hard negatives: documents with none"
    assert {item["kind"] for row in documents for item in row["pii"]} >= set(RECALL_TARGETS)
    for row in documents:
        assert (PII_FIXTURES / "docs" / row["path"]).is_file(), row["path"]


@pytest.mark.parametrize("kind", sorted(RECALL_TARGETS))
def test_each_kind_meets_its_recall_and_precision_targets(scores: dict[str, Any], kind: str) -> None:
    score = scores[kind]
    misses = f"missed {score.false_negatives}, wrongly found {score.false_positives}"
    assert score.recall >= RECALL_TARGETS[kind], misses
    assert score.precision >= 0.8, misses
