"""Retrieval metrics on hand-computed examples, and how evaluate_retrieval treats items."""

import math
from collections.abc import Sequence

import pytest

from evals.metrics import (
    RetrievedChunk,
    evaluate_retrieval,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)
from evals.resolution import ItemResolution
from evals.sets import EvalItem, GoldEvidence

RANKED = ["c1", "gold", "c3", "c4", "c5"]


def test_gold_at_rank_two_of_five() -> None:
    assert hit_at_k(RANKED, ["gold"], 5) == 1.0
    assert recall_at_k(RANKED, ["gold"], 5) == 1.0
    assert mrr_at_k(RANKED, ["gold"], 5) == 0.5
    assert ndcg_at_k(RANKED, ["gold"], 5) == pytest.approx(1 / math.log2(3))


def test_gold_below_the_cutoff_does_not_count() -> None:
    assert hit_at_k(RANKED, ["gold"], 1) == 0.0
    assert mrr_at_k(RANKED, ["gold"], 1) == 0.0
    assert ndcg_at_k(RANKED, ["gold"], 1) == 0.0


def test_two_gold_chunks_one_found_first() -> None:
    ranked = ["g1", "x", "y"]
    assert recall_at_k(ranked, ["g1", "g2"], 3) == 0.5
    assert ndcg_at_k(ranked, ["g1", "g2"], 3) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def _item(item_id: str, passage: str) -> EvalItem:
    return EvalItem(item_id, f"question {item_id}?", None, (GoldEvidence("d", passage),), "dev")


def _retriever(results: dict[str, list[RetrievedChunk]]):
    def retrieve(question: str, k: int) -> list[RetrievedChunk]:
        return results[question][:k]

    return retrieve


def _chunks(ids: Sequence[str], texts: dict[str, str]) -> list[RetrievedChunk]:
    return [
        RetrievedChunk(c, "d", texts.get(c, f"unrelated text of {c} about pallets"), 1.0 - n / 10)
        for n, c in enumerate(ids)
    ]


TEXTS = {"gold": "Customers may return unopened items within 30 calendar days of delivery for a full refund."}


def test_report_scores_ragas_metrics_without_an_llm() -> None:
    items = [_item("q1", TEXTS["gold"])]
    resolutions = {"q1": ItemResolution("q1", "resolved", ("gold",), "")}
    retrieve = _retriever({"question q1?": _chunks(["c1", "gold", "c3", "c4", "c5"], TEXTS)})
    report = evaluate_retrieval(items, resolutions, retrieve, 5, reference_texts=TEXTS)

    row = report.rows[0].scores
    assert row["hit@5"] == 1.0 and row["mrr@5"] == 0.5
    assert row["ndcg@5"] == pytest.approx(1 / math.log2(3))
    assert row["id_based_context_precision"] == pytest.approx(1 / 5)
    assert row["id_based_context_recall"] == 1.0
    # ragas' average precision over verdicts [0, 1, 0, 0, 0]: (1/2) / 1.
    assert row["non_llm_context_precision_with_reference"] == pytest.approx(0.5)
    assert row["non_llm_context_recall"] == 1.0
    assert report.means == row


def test_stale_and_orphaned_items_are_excluded_not_scored_as_misses() -> None:
    items = [_item("ok", TEXTS["gold"]), _item("gone", "old text"), _item("lost", "old text")]
    resolutions = {
        "ok": ItemResolution("ok", "unchanged", ("gold",), ""),
        "gone": ItemResolution("gone", "stale", (), ""),
        "lost": ItemResolution("lost", "orphaned", (), ""),
    }
    retrieve = _retriever({"question ok?": _chunks(["gold"], TEXTS)})
    report = evaluate_retrieval(items, resolutions, retrieve, 3)
    assert report.excluded_item_ids == ("gone", "lost")
    assert report.scored_count == 1
    assert report.means["hit@3"] == 1.0 and report.means["recall@3"] == 1.0


def test_means_average_over_items_and_empty_retrieval_scores_zero() -> None:
    items = [_item("a", TEXTS["gold"]), _item("b", TEXTS["gold"])]
    resolutions = {i.id: ItemResolution(i.id, "resolved", ("gold",), "") for i in items}
    retrieve = _retriever({"question a?": _chunks(["gold", "x"], TEXTS), "question b?": []})
    report = evaluate_retrieval(items, resolutions, retrieve, 2)
    assert report.means["hit@2"] == 0.5
    assert report.means["mrr@2"] == 0.5
    assert all(value == 0.0 for value in report.rows[1].scores.values())


def test_retrieving_a_contested_chunk_is_recorded() -> None:
    items = [_item("a", TEXTS["gold"])]
    resolutions = {"a": ItemResolution("a", "contested", ("gold",), "", contested_by=("dup",))}
    report = evaluate_retrieval(
        items, resolutions, _retriever({"question a?": _chunks(["dup", "gold"], TEXTS)}), 2
    )
    assert report.rows[0].contested_retrieved == ("dup",)
    assert report.rows[0].scores["mrr@2"] == 0.5
