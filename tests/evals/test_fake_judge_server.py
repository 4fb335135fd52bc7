"""The fake judge drives ragas 0.4.3's real LLM metrics offline, through ragas' own LangChain path
(LangchainLLMWrapper around ChatOpenAI), and the expected scores follow from its documented
word-overlap rules; its fault injection (429, 500, 401, hangs) reaches the openai client as the
errors a real provider would cause."""
# ruff: noqa: E402 - ragas must see RAGAS_DO_NOT_TRACK before it is imported

import os

# ragas posts telemetry on every score unless this is exactly "true" (it caches the first read).
os.environ["RAGAS_DO_NOT_TRACK"] = "true"

import asyncio
import hashlib
import json
import re
import threading
import time
import warnings
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionContentPartTextParam, ChatCompletionUserMessageParam
from pydantic import SecretStr

with warnings.catch_warnings():
    # 0.4.3 announces a move to ragas.metrics.collections on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from ragas import SingleTurnSample
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.llms import LangchainLLMWrapper
    from ragas.llms.base import BaseRagasLLM
    from ragas.metrics import (
        Faithfulness,
        LLMContextPrecisionWithReference,
        LLMContextRecall,
        ResponseRelevancy,
    )
    from ragas.metrics._faithfulness import StatementGeneratorInput, StatementGeneratorPrompt
    from ragas.metrics.base import SingleTurnMetric
    from ragas.run_config import RunConfig

from tests.evals.judge_server import FakeJudgeServer, overlap, sentences

QUESTION = "How long do customers have to return unopened items?"
RETURN_WINDOW = "Customers may return unopened items within 30 days of delivery."
REFUNDS = "Refunds are issued to the original payment method within five business days."
RETURNS_POLICY = f"{RETURN_WINDOW} {REFUNDS}"
FORKLIFTS = (
    "Forklift operators wear high-visibility vests on the loading dock. Pallets stack three levels high."
)
GIFT_CARDS = "Gift cards never expire and cannot be exchanged for cash."
LOYALTY = "Loyalty points double during holiday weekends."
NLI_INSTRUCTION = "Your task is to judge the faithfulness of a series of statements"


@pytest.fixture
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as server:
        yield server


class HashedBagOfWords(BaseRagasEmbeddings):
    """Deterministic embeddings: each word adds 1 to one of 64 dimensions chosen by its hash."""

    DIMENSIONS = 64

    def __init__(self) -> None:
        super().__init__()
        self.run_config = RunConfig()

    def embed_query(self, text: str) -> list[float]:
        vector = np.zeros(self.DIMENSIONS)
        for word in re.findall(r"[a-z0-9']+", text.lower()):
            # blake2b, not hash(): Python salts str hashes per process.
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            vector[bucket % self.DIMENSIONS] += 1.0
        return [float(x) for x in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)


def judge_llm(judge: FakeJudgeServer, api_key: str | None = None) -> BaseRagasLLM:
    chat = ChatOpenAI(
        base_url=judge.base_url,
        api_key=SecretStr(api_key or judge.api_key),
        model=judge.model,
        max_retries=0,
        timeout=5,
    )
    with warnings.catch_warnings():
        # Deprecated in favour of llm_factory (instructor), but it is the path ragas' metrics document.
        warnings.simplefilter("ignore", DeprecationWarning)
        return LangchainLLMWrapper(chat)


def score(metric: SingleTurnMetric, sample: SingleTurnSample) -> float:
    return float(asyncio.run(metric.single_turn_ascore(sample)))


def statement_prompt(answer: str) -> str:
    """A real ragas prompt (Faithfulness step 1), rendered by ragas itself, for the raw-client tests."""
    return StatementGeneratorPrompt().to_string(StatementGeneratorInput(question=QUESTION, answer=answer))


def expected_faithfulness(answer: str, context: str) -> float:
    verdicts = [overlap(s, context) >= 0.6 for s in sentences(answer)]
    return sum(verdicts) / len(verdicts)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (RETURNS_POLICY, 1.0),  # both sentences copied from the context
        (f"{RETURN_WINDOW} {GIFT_CARDS}", 0.5),
        (f"{GIFT_CARDS} {LOYALTY}", 0.0),
    ],
)
def test_faithfulness_is_the_share_of_supported_sentences(
    judge: FakeJudgeServer, answer: str, expected: float
) -> None:
    sample = SingleTurnSample(user_input=QUESTION, response=answer, retrieved_contexts=[RETURNS_POLICY])

    assert score(Faithfulness(llm=judge_llm(judge)), sample) == expected
    assert expected_faithfulness(answer, RETURNS_POLICY) == expected
    # Two calls: the answer split into statements, then one NLI verdict per statement.
    assert (judge.received, judge.answered) == (2, 2)
    assert judge.prompts[1].startswith(NLI_INSTRUCTION)
    assert all(s in judge.prompts[1] for s in sentences(answer))


@pytest.mark.parametrize(
    ("retrieved", "expected"),
    [
        ([FORKLIFTS, RETURNS_POLICY], 0.5),  # the useful context ranked second: AP = (1/2) / 1
        ([RETURNS_POLICY, FORKLIFTS], 1.0),
    ],
)
def test_context_precision_is_average_precision_of_useful_contexts(
    judge: FakeJudgeServer, retrieved: list[str], expected: float
) -> None:
    sample = SingleTurnSample(user_input=QUESTION, retrieved_contexts=retrieved, reference=RETURN_WINDOW)

    assert score(LLMContextPrecisionWithReference(llm=judge_llm(judge)), sample) == pytest.approx(expected)
    # One verdict per retrieved context; useful means half the reference's content words in it.
    assert [overlap(RETURN_WINDOW, c) >= 0.5 for c in retrieved] == [c == RETURNS_POLICY for c in retrieved]
    assert judge.received == 2


def test_context_recall_is_the_share_of_reference_sentences_in_the_contexts(judge: FakeJudgeServer) -> None:
    reference = f"{RETURN_WINDOW} Opened items earn store credit only."
    sample = SingleTurnSample(
        user_input=QUESTION, retrieved_contexts=[FORKLIFTS, RETURNS_POLICY], reference=reference
    )
    contexts = f"{FORKLIFTS}\n{RETURNS_POLICY}"

    assert score(LLMContextRecall(llm=judge_llm(judge)), sample) == 0.5
    assert [overlap(s, contexts) >= 0.6 for s in sentences(reference)] == [True, False]
    assert judge.received == 1


def test_answer_relevancy_is_question_similarity_unless_noncommittal(judge: FakeJudgeServer) -> None:
    embeddings = HashedBagOfWords()
    metric = ResponseRelevancy(llm=judge_llm(judge), embeddings=embeddings)
    committal = SingleTurnSample(user_input=QUESTION, response=RETURN_WINDOW)
    noncommittal = SingleTurnSample(user_input=QUESTION, response="I don't know.")

    relevancy = score(metric, committal)
    question, answer = (
        np.array(embeddings.embed_query(QUESTION)),
        np.array(embeddings.embed_query(RETURN_WINDOW)),
    )
    cosine = float(question @ answer / (np.linalg.norm(question) * np.linalg.norm(answer)))
    assert relevancy > 0
    # The judge returns the response as the generated question, three times over.
    assert relevancy == pytest.approx(cosine)
    assert score(metric, noncommittal) == 0.0
    # strictness=3 reaches the server as one request with n=3, not three requests.
    assert judge.received == 2


def test_wrong_api_key_fails_the_metric(judge: FakeJudgeServer) -> None:
    sample = SingleTurnSample(
        user_input=QUESTION, response=RETURN_WINDOW, retrieved_contexts=[RETURNS_POLICY]
    )

    with pytest.raises(openai.AuthenticationError):
        score(Faithfulness(llm=judge_llm(judge, api_key="not-the-key")), sample)
    # ragas retries only rate limits for ChatOpenAI, so the 401 is final.
    assert (judge.received, judge.answered) == (1, 0)


def test_a_rate_limit_is_retried_by_the_client(judge: FakeJudgeServer) -> None:
    judge.fail_next(429, 1)
    with openai.OpenAI(base_url=judge.base_url, api_key=judge.api_key, max_retries=2) as client:
        completion = client.chat.completions.create(
            model=judge.model, messages=[{"role": "user", "content": statement_prompt(RETURNS_POLICY)}]
        )

    assert json.loads(completion.choices[0].message.content or "") == {
        "statements": sentences(RETURNS_POLICY)
    }
    assert (judge.received, judge.answered) == (2, 1)


def test_fail_when_fails_every_matching_request(judge: FakeJudgeServer) -> None:
    judge.fail_when(NLI_INSTRUCTION, 500)
    metric = Faithfulness(llm=judge_llm(judge))
    sample = SingleTurnSample(
        user_input=QUESTION, response=RETURN_WINDOW, retrieved_contexts=[RETURNS_POLICY]
    )

    for _ in range(2):
        with pytest.raises(openai.InternalServerError, match="fail_when"):
            score(metric, sample)
    # Each run: the statements are answered, the verdict request fails.
    assert (judge.received, judge.answered) == (4, 2)
    with openai.OpenAI(base_url=judge.base_url, api_key=judge.api_key, max_retries=1) as client:
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(
                model=judge.model, messages=[{"role": "user", "content": f"{NLI_INSTRUCTION} ..."}]
            )
    assert (judge.received, judge.answered) == (6, 2)  # the client's retry failed too


def test_a_hung_request_times_out_the_client_and_stop_does_not_wait_for_it() -> None:
    with FakeJudgeServer() as judge:
        judge.hang_next(30.0)
        messages: list[ChatCompletionUserMessageParam] = [
            {"role": "user", "content": statement_prompt(REFUNDS)}
        ]
        with openai.OpenAI(
            base_url=judge.base_url, api_key=judge.api_key, timeout=0.5, max_retries=0
        ) as client:
            with pytest.raises(openai.APITimeoutError):
                client.chat.completions.create(model=judge.model, messages=messages)
            # The hang is spent: the next request is answered while the first still sleeps.
            answer = client.chat.completions.create(model=judge.model, messages=messages)
            assert answer.choices[0].finish_reason == "stop"
        assert (judge.received, judge.answered) == (2, 1)
        stopping = time.monotonic()

    assert time.monotonic() - stopping < 2.0
    assert not [t for t in threading.enumerate() if t.name == "fake-judge"]


def test_the_chat_completion_is_openai_shaped(judge: FakeJudgeServer) -> None:
    parts: list[ChatCompletionContentPartTextParam] = [{"type": "text", "text": statement_prompt(GIFT_CARDS)}]
    with openai.OpenAI(base_url=judge.base_url, api_key=judge.api_key, max_retries=0) as client:
        completion = client.chat.completions.create(
            model=judge.model, messages=[{"role": "user", "content": parts}], n=3
        )
        with pytest.raises(openai.NotFoundError, match="model_not_found"):
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.BadRequestError, match="not recognised"):
            client.chat.completions.create(model=judge.model, messages=[{"role": "user", "content": "hi"}])

    assert completion.object == "chat.completion"
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert {c.message.content for c in completion.choices} == {json.dumps({"statements": [GIFT_CARDS]})}
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert judge.prompts == [parts[0]["text"], "hi", "hi"]
    assert (judge.received, judge.answered) == (3, 1)
