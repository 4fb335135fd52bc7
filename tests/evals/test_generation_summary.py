"""A result's generation metrics as it keeps them (GenerationSummary): read back as written, with
today's keys in today's order, and results stored before generation metrics still read."""

import json

from evals.generation import GenerationMetrics, GenerationSummary, ItemGenerationScores

MEASURED = {
    "status": "measured",
    "reason": "",
    "judge": "fake-judge@bb636632a28e",
    "means": {"faithfulness": 0.222222, "llm_context_recall": 0.777778},
    "measured_items": {"faithfulness": 9, "llm_context_recall": 9},
    "skipped": {},
    "calls": {"made": 3, "cached": 78, "failed": 0, "retried": 0, "items_asked": 1},
    "failures": {"q07/faithfulness": "the judge's reply could not be used"},
    "answers": "answers.jsonl (15 answers)",
    "answers_on_other_contexts": 0,
    "items_without_answer": 0,
    "answers_for_unknown_items": 6,
    "app_errors": {"q03": "RuntimeError: down"},
}


def test_a_summary_reads_back_as_written_with_its_keys_in_order() -> None:
    summary = GenerationSummary.from_json(MEASURED)
    assert summary.measured and summary.calls["items_asked"] == 1
    assert GenerationSummary.from_json(summary.as_json()) == summary
    assert json.dumps(summary.as_json()) == json.dumps(MEASURED)


def test_the_summaries_written_today_keep_their_shape() -> None:
    # No judge: the bill counts no items, and nothing about answers.
    assert GenerationMetrics.not_measured().summary().as_json() == {
        "status": "not measured",
        "reason": "no LLM judge is configured",
        "judge": "",
        "means": {},
        "measured_items": {},
        "skipped": {},
        "calls": {"items_asked": 0},
        "failures": {},
    }
    row = ItemGenerationScores(
        "q1", {"faithfulness": 0.5}, {"llm_context_recall": "timeout"}, ("llm_context_recall",), 2
    )
    metrics = GenerationMetrics(
        status="measured",
        judge="j@1",
        means={"faithfulness": 0.1234567},
        measured_items={"faithfulness": 1},
        rows=(row,),
        calls={"made": 2, "cached": 0, "failed": 1, "retried": 1},
    )
    summary = metrics.summary()
    assert summary.means == {"faithfulness": 0.123457}, "rounded for storage"
    assert summary.calls == {"made": 2, "cached": 0, "failed": 1, "retried": 1, "items_asked": 1}
    assert summary.failures == {"q1/llm_context_recall": "timeout"}
    assert metrics.as_json() == summary.as_json()
    assert GenerationSummary.from_json(summary.as_json()) == summary


def test_a_result_from_before_generation_metrics_still_reads() -> None:
    older = {"status": "not measured", "reason": "no LLM judge is configured"}
    summary = GenerationSummary.from_json(older)
    assert not summary.measured and summary.reason == "no LLM judge is configured"
    assert (summary.judge, summary.means, summary.calls, summary.failures) == ("", {}, {}, {})
    assert summary.answers is None and summary.app_errors == {}
    assert not GenerationSummary.from_json({}).measured
