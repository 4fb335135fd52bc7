"""What a baseline stores of its generation metrics (GenerationRun.summary): the metrics' summary
with what the answers said about themselves, in the keys and order the ledger has always held;
and the CLI line reads a result from before generation metrics as it did."""

import json

from evals.generation import GenerationMetrics, GenerationSummary
from pipelines.cli.evals import generation_line
from pipelines.evaluation.generation import NOT_CONFIGURED, GenerationRun


def test_a_judge_that_stopped_answering_leaves_its_counters_and_the_answers_notes() -> None:
    run = GenerationRun(
        GenerationMetrics.not_measured("the judge looks down", "j@1"),
        "j@1",
        "jsonl:1",
        {
            "answers": "answers.jsonl (15 answers)",
            "answers_on_other_contexts": 0,
            "items_without_answer": 0,
            "answers_for_unknown_items": 3,
            "calls": {"made": 0, "cached": 0, "failed": 7, "retried": 10},
        },
    )
    stored = (
        '{"status": "not measured", "reason": "the judge looks down", "judge": "j@1", "means": {}, '
        '"measured_items": {}, "skipped": {}, "calls": {"made": 0, "cached": 0, "failed": 7, '
        '"retried": 10}, "failures": {}, "answers": "answers.jsonl (15 answers)", '
        '"answers_on_other_contexts": 0, "items_without_answer": 0, "answers_for_unknown_items": 3}'
    )
    assert json.dumps(run.summary().as_json()) == stored
    assert GenerationSummary.from_json(json.loads(stored)) == run.summary()
    assert NOT_CONFIGURED.summary() == GenerationMetrics.not_measured().summary()


def test_the_cli_line_of_a_result_from_before_generation_metrics() -> None:
    older = GenerationSummary.from_json({"status": "not measured", "reason": "no LLM judge is configured"})
    assert generation_line(older) == "not measured (no LLM judge is configured)"
    measured = GenerationSummary.from_json(
        {
            "status": "measured",
            "reason": "",
            "judge": "j@1",
            "means": {"faithfulness": 0.5, "llm_context_recall": 1.0},
            "measured_items": {"faithfulness": 4, "llm_context_recall": 3},
            "skipped": {},
            "calls": {"made": 5, "cached": 2, "failed": 0, "retried": 0, "items_asked": 1},
            "failures": {},
        }
    )
    assert generation_line(measured) == (
        "faithfulness=0.500, llm_context_recall=1.000 (3 items) over 4 items; judge j@1: 5 calls made "
        "(for 1 item), 2 cached, 0 judge failures"
    )
