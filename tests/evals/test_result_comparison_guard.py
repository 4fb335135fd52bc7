"""Results are compared only under identical keys; otherwise refused or decomposed."""

import pytest

from evals.comparison import (
    EvalResult,
    ResultKey,
    compare_results,
    decompose,
    detect_regression,
    should_supersede,
)
from evals.errors import IncomparableResultsError
from evals.resolution import EvalSetVersion, IndexSnapshot, resolve_eval_set
from evals.sets import EvalSet
from tests.evals.index_snapshots import SAFETY, SAFETY_CHUNKS, snapshot

OLD = ResultKey("a" * 64, 3, "cfg-1")


def _result(key: ResultKey, recall: float, mrr: float = 0.5) -> EvalResult:
    return EvalResult(key=key, metrics={"recall@5": recall, "mrr@5": mrr})


def test_same_key_results_compare_metric_by_metric() -> None:
    comparison = compare_results(_result(OLD, 0.89), _result(OLD, 0.79, 0.6))
    assert comparison.deltas["recall@5"] == pytest.approx(-0.10)
    assert comparison.deltas["mrr@5"] == pytest.approx(0.10)


def test_different_index_version_is_refused_with_decompose_advice() -> None:
    new = ResultKey("b" * 64, 4, "cfg-1")
    with pytest.raises(IncomparableResultsError) as raised:
        compare_results(_result(OLD, 0.89), _result(new, 0.79))
    message = str(raised.value)
    assert raised.value.differing == ("eval_set_version_hash", "index_version")
    assert "index version differs (v3 vs v4)" in message
    assert "--decompose" in message and "re-baseline" in message
    assert "config hash" not in message


def test_different_config_is_refused_with_rebaseline_advice() -> None:
    with pytest.raises(IncomparableResultsError) as raised:
        compare_results(_result(OLD, 0.89), _result(ResultKey(OLD.eval_set_version_hash, 3, "cfg-2"), 0.9))
    assert raised.value.differing == ("config_hash",)
    assert "config hash differs (cfg-1 vs cfg-2)" in str(raised.value)
    assert "re-baseline" in str(raised.value)


def test_different_eval_set_version_alone_is_refused() -> None:
    with pytest.raises(IncomparableResultsError) as raised:
        compare_results(_result(OLD, 0.89), _result(ResultKey("c" * 64, 3, "cfg-1"), 0.89))
    assert raised.value.differing == ("eval_set_version_hash",)
    assert "eval set version differs" in str(raised.value)


def test_regression_is_detected_only_beyond_the_threshold() -> None:
    drops = detect_regression(_result(OLD, 0.89, 0.50), _result(OLD, 0.79, 0.49), threshold=0.05)
    assert drops == ["recall@5: 0.890 -> 0.790 (-0.100)"]


def test_regression_detection_refuses_incomparable_results() -> None:
    with pytest.raises(IncomparableResultsError):
        detect_regression(_result(OLD, 0.89), _result(ResultKey("b" * 64, 4, "cfg-1"), 0.79), threshold=0.05)


def test_decomposition_adds_up_and_exposes_a_phantom_regression() -> None:
    new_on_old = ResultKey("d" * 64, 3, "cfg-1")
    new = ResultKey("b" * 64, 4, "cfg-1")
    split = decompose(_result(OLD, 0.89, 0.50), _result(new_on_old, 0.79, 0.55), _result(new, 0.79, 0.70))
    recall = split.deltas["recall@5"]
    assert recall.total == pytest.approx(-0.10)
    assert recall.eval_set_changed == pytest.approx(-0.10)
    assert recall.index_changed == pytest.approx(0.0)
    for delta in split.deltas.values():
        assert delta.eval_set_changed + delta.index_changed == pytest.approx(delta.total)


def test_decomposition_refuses_a_bridge_measured_on_another_index() -> None:
    with pytest.raises(IncomparableResultsError, match="re-run the new eval set on index v3"):
        decompose(
            _result(OLD, 0.89),
            _result(ResultKey("d" * 64, 4, "cfg-1"), 0.8),
            _result(ResultKey("b" * 64, 4, "cfg-1"), 0.8),
        )


def test_supersede_when_enough_items_changed(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    same: EvalSetVersion = resolve_eval_set(warehouse, snapshot(2, base_docs, previous=v1), first.resolutions)
    returns_removed = resolve_eval_set(
        warehouse, snapshot(2, {SAFETY: SAFETY_CHUNKS}, previous=v1), first.resolutions
    )
    assert not should_supersede(first)
    assert not should_supersede(same)
    assert should_supersede(returns_removed)  # 1 of 3 items orphaned
    assert not should_supersede(returns_removed, share=0.5)


def _judged(key: ResultKey, recall: float, faithfulness: float) -> EvalResult:
    return EvalResult(key=key, metrics={"recall@5": recall, "faithfulness": faithfulness})


@pytest.mark.parametrize(
    ("changed", "label"),
    [({"judge": "llama3@bbbb"}, "judge differs"), ({"answers_fingerprint": "jsonl:2222"}, "answers differs")],
)
def test_another_judge_or_other_answers_are_refused(changed: dict[str, str], label: str) -> None:
    before = ResultKey("a" * 64, 3, "cfg-1", "qwen@aaaa", "jsonl:1111")
    after = ResultKey(**{**before.__dict__, **changed})
    with pytest.raises(IncomparableResultsError) as raised:
        compare_results(_judged(before, 0.9, 0.89), _judged(after, 0.9, 0.79))
    assert label in str(raised.value)
    assert "same evals.judge and evals.answers" in str(raised.value)


def test_a_judge_change_still_decomposes_retrieval_but_not_generation() -> None:
    old = ResultKey("a" * 64, 3, "cfg-1", "qwen@aaaa")
    new_on_old = ResultKey("b" * 64, 3, "cfg-1", "llama3@bbbb")
    new = ResultKey("b" * 64, 4, "cfg-1", "llama3@bbbb")
    split = decompose(_judged(old, 0.9, 0.89), _judged(new_on_old, 0.8, 0.70), _judged(new, 0.8, 0.79))
    assert set(split.deltas) == {"recall@5"}
    assert split.deltas["recall@5"].eval_set_changed == pytest.approx(-0.1)
    assert "judge changed" in split.refused["faithfulness"]


def test_a_phantom_faithfulness_drop_is_attributed_to_the_eval_set() -> None:
    old = ResultKey("a" * 64, 3, "cfg-1", "qwen@aaaa", "jsonl:1111")
    new_on_old = ResultKey("b" * 64, 3, "cfg-1", "qwen@aaaa", "jsonl:1111")
    new = ResultKey("b" * 64, 4, "cfg-1", "qwen@aaaa", "jsonl:1111")
    split = decompose(_judged(old, 0.9, 0.89), _judged(new_on_old, 0.9, 0.79), _judged(new, 0.9, 0.79))
    faithfulness = split.deltas["faithfulness"]
    assert faithfulness.total == pytest.approx(-0.10)
    assert faithfulness.eval_set_changed == pytest.approx(-0.10) and faithfulness.index_changed == 0
    assert split.refused == {}


def test_a_metric_the_bridge_could_not_measure_is_refused_not_dropped() -> None:
    old = ResultKey("a" * 64, 3, "cfg-1", "qwen@aaaa")
    new_on_old = ResultKey("b" * 64, 3, "cfg-1", "qwen@aaaa")
    new = ResultKey("b" * 64, 4, "cfg-1", "qwen@aaaa")
    bridge = EvalResult(key=new_on_old, metrics={"recall@5": 0.9})  # the judge was down for it
    split = decompose(_judged(old, 0.9, 0.9), bridge, _judged(new, 0.9, 0.5))
    assert "faithfulness" not in split.deltas
    assert split.refused["faithfulness"] == "not measured when the new eval set ran on the old index"
