"""Generation metrics through corpusgov's own judge client, against the fake OpenAI-compatible
server (tests/evals/judge_server.py): values, the reference-answer-only mode, the judge cache,
retries with backoff, and failures that leave an item "not measured" instead of scoring it 0."""

import socket
from collections.abc import Iterator

import numpy as np
import pytest

from evals.generation import (
    ANSWER_RELEVANCY,
    CONTEXT_PRECISION,
    CONTEXT_RECALL,
    FAITHFULNESS,
    NO_ANSWERS,
    GenerationItem,
    GenerationMetrics,
    evaluate_generation,
)
from evals.judge import JudgeUnavailableError, OpenAICompatibleJudge
from tests.conftest import FakeEmbedder
from tests.evals.judge_server import FakeJudgeServer

RETURNS = "Customers may return unopened items within 30 calendar days of delivery."
FORKLIFTS = "Forklift operators wear high-visibility vests on the loading dock."
SUPPORTED = "Unopened items may be returned within 30 calendar days of delivery."
INVENTED = "Opened electronics earn store credit after inspection by the manager."


class MemoryCache(dict[str, list[str]]):
    def put(self, key: str, model: str, completions: list[str]) -> None:
        self[key] = completions

    def forget(self, keys: list[str]) -> None:
        for key in keys:
            self.pop(key, None)

    def flush(self) -> None:
        pass


@pytest.fixture
def server() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as started:
        yield started


def client(server: FakeJudgeServer, **overrides: float) -> OpenAICompatibleJudge:
    return OpenAICompatibleJudge(
        base_url=server.base_url,
        model=server.model,
        api_key=server.api_key,
        timeout_seconds=overrides.get("timeout_seconds", 5.0),
        max_retries=int(overrides.get("max_retries", 2)),
        retry_base_seconds=0.01,
    )


def judge(
    server: FakeJudgeServer,
    items: list[GenerationItem],
    cache: MemoryCache | None = None,
    answers_given: bool = True,
    **overrides: float,
) -> GenerationMetrics:
    embed = FakeEmbedder().embed
    return evaluate_generation(
        items,
        client(server, **overrides),
        cache,
        lambda texts: np.asarray(embed(texts)),
        answers_given=answers_given,
    )


def item(
    item_id: str, answer: str | None, contexts: tuple[str, ...], reference: str | None = SUPPORTED
) -> GenerationItem:
    return GenerationItem(
        item_id,
        f"Within how many days may unopened items be returned ({item_id})?",
        contexts,
        answer,
        reference,
    )


def test_scores_follow_the_judges_verdicts(server: FakeJudgeServer) -> None:
    result = judge(
        server,
        [
            item("half", f"{SUPPORTED} {INVENTED}", (FORKLIFTS, RETURNS)),
            item("whole", SUPPORTED, (RETURNS,)),
        ],
    )
    rows = {row.item_id: row.scores for row in result.rows}
    assert rows["half"][FAITHFULNESS] == pytest.approx(0.5)
    assert rows["whole"][FAITHFULNESS] == pytest.approx(1.0)
    assert result.means[FAITHFULNESS] == pytest.approx(0.75)
    # The useful context ranked second, then first.
    assert rows["half"][CONTEXT_PRECISION] == pytest.approx(0.5)
    assert rows["whole"][CONTEXT_PRECISION] == pytest.approx(1.0)
    assert rows["whole"][CONTEXT_RECALL] == pytest.approx(1.0)
    assert 0 < rows["whole"][ANSWER_RELEVANCY] <= 1
    assert result.status == "measured" and result.judge.startswith("fake-judge@")
    # 2 (statements, verdicts) + 1 (relevancy, n=3 in one call) + 1 per context + 1 (recall).
    assert result.calls["made"] == (2 + 1 + 2 + 1) + (2 + 1 + 1 + 1) == server.answered


def test_a_noncommittal_answer_is_irrelevant_and_nothing_retrieved_scores_zero(
    server: FakeJudgeServer,
) -> None:
    result = judge(server, [item("dunno", "I don't know.", ())])
    scores = result.rows[0].scores
    assert scores[ANSWER_RELEVANCY] == 0.0
    assert scores[FAITHFULNESS] == scores[CONTEXT_PRECISION] == scores[CONTEXT_RECALL] == 0.0
    assert result.calls["made"] == 1, "only relevancy reads no contexts"


def test_without_app_answers_only_reference_metrics_are_judged(server: FakeJudgeServer) -> None:
    result = judge(server, [item("a", None, (RETURNS,))], answers_given=False)
    assert set(result.means) == {CONTEXT_PRECISION, CONTEXT_RECALL}
    assert result.skipped == {FAITHFULNESS: NO_ANSWERS, ANSWER_RELEVANCY: NO_ANSWERS}
    assert result.as_json()["failures"] == {}, "skipped metrics are not failures"


def test_an_item_the_app_did_not_answer_is_not_counted_as_a_judge_failure(server: FakeJudgeServer) -> None:
    result = judge(server, [item("answered", SUPPORTED, (RETURNS,)), item("silent", None, (RETURNS,))])
    silent = next(row for row in result.rows if row.item_id == "silent")
    assert silent.not_measured[FAITHFULNESS] == "the app gave no answer to this item"
    assert result.failures() == {} and result.calls["failed"] == 0
    assert result.measured_items[FAITHFULNESS] == 1 and result.measured_items[CONTEXT_RECALL] == 2


def test_an_item_without_a_reference_answer_is_not_measured_on_reference_metrics(
    server: FakeJudgeServer,
) -> None:
    result = judge(
        server, [item("ref", SUPPORTED, (RETURNS,)), item("noref", SUPPORTED, (RETURNS,), reference=None)]
    )
    noref = next(row for row in result.rows if row.item_id == "noref")
    assert CONTEXT_RECALL not in noref.scores
    assert noref.not_measured[CONTEXT_RECALL] == "no reference answer in the eval set"
    assert result.measured_items[CONTEXT_RECALL] == 1 and result.measured_items[FAITHFULNESS] == 2


def test_judge_calls_are_cached_by_prompt_and_model(server: FakeJudgeServer) -> None:
    cache = MemoryCache()
    items = [item("a", SUPPORTED, (RETURNS,)), item("b", INVENTED, (RETURNS,))]
    first = judge(server, items, cache)
    asked = server.answered
    again = judge(server, [items[0], item("b", INVENTED, (FORKLIFTS,))], cache)
    assert again.calls["made"] == server.answered - asked > 0
    assert again.calls["cached"] > 0
    assert again.calls["made"] < first.calls["made"], "only the item whose contexts changed is asked again"
    assert again.items_asked == 1 and first.items_asked == 2
    assert {row.item_id: row.scores for row in again.rows}["a"] == {
        row.item_id: row.scores for row in first.rows
    }["a"]


def test_rate_limits_and_server_errors_are_retried_with_backoff(server: FakeJudgeServer) -> None:
    server.fail_next(429, times=2)
    server.fail_next(503, times=1)
    result = judge(server, [item("a", SUPPORTED, (RETURNS,))], max_retries=4)
    assert result.status == "measured" and not result.rows[0].not_measured
    assert result.calls["retried"] == 3 and result.calls["failed"] == 0


def test_a_slow_judge_is_retried_after_its_timeout(server: FakeJudgeServer) -> None:
    server.hang_next(2.0, times=1)
    result = judge(server, [item("a", SUPPORTED, (RETURNS,))], timeout_seconds=0.5, max_retries=2)
    assert result.rows[0].scores[FAITHFULNESS] == pytest.approx(1.0)
    assert result.calls["retried"] == 1


def test_an_item_the_judge_keeps_failing_on_is_not_measured_never_zero(server: FakeJudgeServer) -> None:
    server.fail_when("POISON", 500)
    result = judge(
        server,
        [item("ok", SUPPORTED, (RETURNS,)), item("bad", f"{SUPPORTED} POISON.", (RETURNS,))],
        max_retries=1,
    )
    bad = next(row for row in result.rows if row.item_id == "bad")
    assert FAITHFULNESS not in bad.scores
    assert bad.not_measured[FAITHFULNESS] == "the judge failed 2 time(s): HTTP 500"
    assert result.means[FAITHFULNESS] == pytest.approx(1.0), "the failed item is left out of the mean"
    assert result.measured_items[FAITHFULNESS] == 1
    assert "bad/faithfulness" in result.as_json()["failures"]
    assert result.calls["failed"] >= 1


def test_a_refused_key_stops_judging_at_once_without_echoing_the_key(server: FakeJudgeServer) -> None:
    wrong = OpenAICompatibleJudge(
        server.base_url, server.model, api_key="sk-wrong-secret", retry_base_seconds=0.01
    )
    with pytest.raises(JudgeUnavailableError) as raised:
        evaluate_generation(
            [item(str(n), SUPPORTED, (RETURNS,)) for n in range(6)],
            wrong,
            None,
            FakeEmbedder().embed,
            answers_given=True,
            concurrency=1,
        )
    assert "refused the API key (HTTP 401)" in str(raised.value)
    assert "sk-wrong-secret" not in str(raised.value)
    assert server.received == 1, "no retry, no other item asked"


def test_an_unknown_model_or_a_wrong_path_says_which_settings_to_check(server: FakeJudgeServer) -> None:
    other = OpenAICompatibleJudge(server.base_url, "no-such-model", api_key=server.api_key)
    with pytest.raises(
        JudgeUnavailableError,
        match="HTTP 404 for model 'no-such-model'.*evals.judge.base_url.*evals.judge.model",
    ):
        evaluate_generation(
            [item("a", SUPPORTED, (RETURNS,))], other, None, FakeEmbedder().embed, answers_given=True
        )


@pytest.fixture
def refused_port() -> Iterator[str]:
    """A URL whose port is bound but not listening: every connection is refused, and no other
    process can take the port while the test runs."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{reserved.getsockname()[1]}/v1"


def test_an_unreachable_judge_fails_the_item_after_its_retries(refused_port: str) -> None:
    down = OpenAICompatibleJudge(refused_port, "m", max_retries=1, retry_base_seconds=0.01, timeout_seconds=2)
    result = evaluate_generation(
        [item("a", SUPPORTED, (RETURNS,))], down, None, FakeEmbedder().embed, answers_given=True
    )
    assert result.status == "not measured"
    assert "cannot connect to http://127.0.0.1" in result.reason
    assert result.means == {}


def test_a_judge_that_keeps_failing_is_given_up_on_instead_of_waiting_out_every_item(
    refused_port: str,
) -> None:
    down = OpenAICompatibleJudge(refused_port, "m", max_retries=2, retry_base_seconds=0.01, timeout_seconds=2)
    with pytest.raises(JudgeUnavailableError, match="for 8 calls in a row: the judge looks down"):
        evaluate_generation(
            [item(str(n), SUPPORTED, (RETURNS,)) for n in range(20)],
            down,
            None,
            FakeEmbedder().embed,
            answers_given=True,
            concurrency=1,
        )
    assert down.stats.retried == 8 * 2, "8 calls, each retried twice, then no more"


def test_a_reply_the_metric_cannot_use_is_not_cached(server: FakeJudgeServer) -> None:
    cache = MemoryCache()
    server.garble_when("GARBLED")
    rambling = item("a", f"{SUPPORTED} GARBLED.", (RETURNS,))
    first = judge(server, [rambling], cache)
    assert FAITHFULNESS in first.rows[0].judge_failed
    assert "could not be used" in first.rows[0].not_measured[FAITHFULNESS]
    server.clear_faults()
    again = judge(server, [rambling], cache)
    assert again.rows[0].scores[FAITHFULNESS] == pytest.approx(0.5), "asked again, not served the bad reply"
