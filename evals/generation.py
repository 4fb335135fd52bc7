"""Generation metrics: ragas 0.4.3's LLM-based metrics, judged by the configured LLM.

For one item, with the contexts retrieved from the index version under test:
- `faithfulness`: share of the answer's statements the contexts support (needs the app's answer);
- `answer_relevancy`: cosine between the question and questions the judge infers from the answer
  (embedded with the index's own model), 0 for a noncommittal answer (needs the app's answer);
- `llm_context_precision_with_reference`: precision of the contexts judged useful for the
  reference answer, weighted by rank (needs a reference answer);
- `llm_context_recall`: share of the reference answer's sentences the contexts support (needs a
  reference answer).
An item that retrieved nothing scores 0 on the metrics that read contexts, as in retrieval.

A metric that cannot run is "not measured" with the reason, never 0: without app answers
(`evals.answers`) the first two are skipped for every item (the reference-answer-only mode),
without a reference answer the last two are skipped for that item, and a judge call that failed
after its retries leaves that item's metric unmeasured. Means are over the items measured.
"""

import asyncio
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evals.judge import (
    CALLS_OF_METRIC,
    JudgeCache,
    JudgeCallError,
    JudgeUnavailableError,
    OpenAICompatibleJudge,
    ragas_judge_llm,
)
from evals.metrics import ragas_metric_classes, ragas_offline, run_async

FAITHFULNESS = "faithfulness"
ANSWER_RELEVANCY = "answer_relevancy"
CONTEXT_PRECISION = "llm_context_precision_with_reference"
CONTEXT_RECALL = "llm_context_recall"
GENERATION_METRICS: tuple[str, ...] = (FAITHFULNESS, ANSWER_RELEVANCY, CONTEXT_PRECISION, CONTEXT_RECALL)
_NEEDS_ANSWER = frozenset({FAITHFULNESS, ANSWER_RELEVANCY})
_NEEDS_REFERENCE = frozenset({CONTEXT_PRECISION, CONTEXT_RECALL})
NO_ANSWERS = "no app answers: set evals.answers in corpusgov.yaml"
# ragas gives NaN when there is nothing to score (an answer without statements to check).
NO_SCORE = "nothing to score: the judge found no statements or questions in the answer"


@dataclass(frozen=True)
class GenerationItem:
    """What the judge sees for one eval item."""

    item_id: str
    question: str
    contexts: tuple[str, ...]
    answer: str | None
    reference_answer: str | None
    no_answer_reason: str = "the app gave no answer to this item"


@dataclass(frozen=True)
class ItemGenerationScores:
    """One item's generation scores, and why the others were not measured."""

    item_id: str
    scores: Mapping[str, float]
    not_measured: Mapping[str, str]
    # Metrics the judge failed on (after retries, or with a reply ragas could not use), as
    # opposed to ones skipped for want of an answer or a reference.
    judge_failed: tuple[str, ...] = ()
    calls_made: int = 0  # calls this item sent to the judge (not answered from the cache)


@dataclass(frozen=True)
class ItemGeneration:
    """One item's generation scores as a result keeps them (its row's `generation`): the scores,
    and why the other metrics were not measured."""

    scores: dict[str, float] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"scores": dict(self.scores), "not_measured": dict(self.not_measured)}

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "ItemGeneration":
        return cls(dict(payload.get("scores", {})), dict(payload.get("not_measured", {})))


@dataclass(frozen=True)
class GenerationSummary:
    """A result's generation metrics as it keeps them (its `generation` JSON): whether they were
    measured and why not, the means and how many items each is over, the judge's bill, and what
    the app's answers said about themselves.

    `from_json` reads every result stored so far: one from before generation metrics holds only
    `status` and `reason`, and the other parts read as empty.
    """

    status: str = "not measured"  # "measured" | "not measured"
    reason: str = ""
    judge: str = ""  # the judge's fingerprint (judge_fingerprint); empty: no judge
    means: dict[str, float] = field(default_factory=dict)
    measured_items: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why, for every item
    # The judge's counters (JudgeStats: made, cached, failed, retried) and `items_asked`, as they
    # were counted: a judge that stopped answering leaves its counters without `items_asked`, and
    # "no judge" only `items_asked` (0). A mapping, not fixed fields, so each keeps those keys.
    calls: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # "item_id/metric" -> reason
    # With the app's answers (evals.answers) only: absent from the JSON otherwise.
    answers: str | None = None
    answers_on_other_contexts: int | None = None
    items_without_answer: int | None = None
    answers_for_unknown_items: int | None = None  # JSONL answers only
    app_errors: dict[str, str] = field(default_factory=dict)  # item id -> what the app raised

    @property
    def measured(self) -> bool:
        return self.status == "measured"

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "status": self.status,
            "reason": self.reason,
            "judge": self.judge,
            "means": dict(self.means),
            "measured_items": dict(self.measured_items),
            "skipped": dict(self.skipped),
            "calls": dict(self.calls),
            "failures": dict(self.failures),
        }
        answered = {
            "answers": self.answers,
            "answers_on_other_contexts": self.answers_on_other_contexts,
            "items_without_answer": self.items_without_answer,
            "answers_for_unknown_items": self.answers_for_unknown_items,
        }
        payload.update({key: value for key, value in answered.items() if value is not None})
        if self.app_errors:
            payload["app_errors"] = dict(self.app_errors)
        return payload

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "GenerationSummary":
        return cls(
            status=payload.get("status", "not measured"),
            reason=payload.get("reason", ""),
            judge=payload.get("judge", ""),
            means=dict(payload.get("means", {})),
            measured_items=dict(payload.get("measured_items", {})),
            skipped=dict(payload.get("skipped", {})),
            calls=dict(payload.get("calls", {})),
            failures=dict(payload.get("failures", {})),
            answers=payload.get("answers"),
            answers_on_other_contexts=payload.get("answers_on_other_contexts"),
            items_without_answer=payload.get("items_without_answer"),
            answers_for_unknown_items=payload.get("answers_for_unknown_items"),
            app_errors=dict(payload.get("app_errors", {})),
        )


@dataclass(frozen=True)
class GenerationMetrics:
    """Answer-quality metrics of one result. `status` is "not measured" (with the reason) when
    nothing could be judged; means are then absent, never zero."""

    status: Literal["measured", "not measured"]
    reason: str = ""
    judge: str = ""
    means: Mapping[str, float] = field(default_factory=dict)
    measured_items: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    rows: tuple[ItemGenerationScores, ...] = ()
    calls: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def not_measured(cls, reason: str = "no LLM judge is configured", judge: str = "") -> "GenerationMetrics":
        """The result when generation could not be judged."""
        return cls(status="not measured", reason=reason, judge=judge)

    def failures(self) -> dict[str, str]:
        """`item_id/metric` -> reason, for the metrics the judge failed on."""
        return {
            f"{row.item_id}/{metric}": row.not_measured[metric]
            for row in self.rows
            for metric in row.judge_failed
        }

    @property
    def items_asked(self) -> int:
        """Items that cost at least one call to the judge (the others came from the cache)."""
        return sum(1 for row in self.rows if row.calls_made)

    def summary(self) -> GenerationSummary:
        """What a result keeps of these metrics: means rounded for storage, no per-item rows."""
        return GenerationSummary(
            status=self.status,
            reason=self.reason,
            judge=self.judge,
            means={k: round(v, 6) for k, v in self.means.items()},
            measured_items=dict(self.measured_items),
            skipped=dict(self.skipped),
            calls={**self.calls, "items_asked": self.items_asked},
            failures=self.failures(),
        )

    def as_json(self) -> dict[str, Any]:
        return self.summary().as_json()


def judge_fingerprint(model: str, base_url: str) -> str:
    """What a generation score depends on besides the answers: the model, where it is served and
    ragas' prompts, which its (pinned) version fixes. Readable first (the model), then a hash of
    the rest. Cheap: read from the package metadata, without importing ragas."""
    from importlib.metadata import version

    payload = f"{model}\x1f{base_url}\x1fragas {version('ragas')}\x1f{','.join(GENERATION_METRICS)}"
    return f"{model}@{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def evaluate_generation(
    items: Sequence[GenerationItem],
    judge: OpenAICompatibleJudge,
    cache: JudgeCache | None,
    embed: Callable[[list[str]], np.ndarray],
    *,
    answers_given: bool,
    concurrency: int = 4,
) -> GenerationMetrics:
    """Judge every item with ragas' LLM metrics, asking `judge` through `cache`.

    `answers_given` False is the reference-answer-only mode. Raises JudgeUnavailableError when
    the judge refuses every call (a bad key, an unknown model).
    """
    fingerprint = judge_fingerprint(judge.model, judge.base_url)
    if not items:
        return GenerationMetrics.not_measured("no items to judge", fingerprint)
    # With this many items in flight, a burst of failures can come from a few bad items.
    judge.give_up_after = max(judge.give_up_after, 2 * concurrency)
    metrics = _metric_objects(ragas_judge_llm(judge, cache), _RagasEmbeddings(embed))
    skipped = {} if answers_given else {name: NO_ANSWERS for name in _NEEDS_ANSWER}

    async def judge_all() -> list[ItemGenerationScores]:
        gate = asyncio.Semaphore(concurrency)

        async def judge_one(item: GenerationItem) -> ItemGenerationScores:
            async with gate:
                return await _judge_item(item, metrics, skipped, cache)

        try:
            return list(await asyncio.gather(*(judge_one(item) for item in items)))
        finally:
            await judge.close()
            if cache is not None:
                cache.flush()

    rows = run_async(judge_all)
    measured = {name: [r.scores[name] for r in rows if name in r.scores] for name in GENERATION_METRICS}
    means = {name: sum(v) / len(v) for name, v in measured.items() if v}
    return GenerationMetrics(
        status="measured" if means else "not measured",
        reason="" if means else _why_nothing(rows),
        judge=fingerprint,
        means=means,
        measured_items={name: len(v) for name, v in measured.items()},
        skipped=skipped,
        rows=tuple(rows),
        calls=judge.stats.as_json(),
    )


async def _judge_item(
    item: GenerationItem, metrics: dict[str, Any], skipped: Mapping[str, str], cache: JudgeCache | None
) -> ItemGenerationScores:
    from ragas import SingleTurnSample

    scores: dict[str, float] = {}
    missing: dict[str, str] = {}
    failed: list[str] = []
    made = 0
    for name, metric in metrics.items():
        if name in skipped:
            missing[name] = skipped[name]
        elif name in _NEEDS_ANSWER and not (item.answer or "").strip():
            missing[name] = item.no_answer_reason
        elif name in _NEEDS_REFERENCE and not item.reference_answer:
            missing[name] = "no reference answer in the eval set"
        elif not item.contexts and name != ANSWER_RELEVANCY:
            scores[name] = 0.0
        else:
            sample = SingleTurnSample(
                user_input=item.question,
                retrieved_contexts=list(item.contexts),
                response=item.answer,
                reference=item.reference_answer,
            )
            calls: list[tuple[str, bool]] = []
            token = CALLS_OF_METRIC.set(calls)
            try:
                value, reason = await _score(metric, sample)
            finally:
                CALLS_OF_METRIC.reset(token)
            made += sum(1 for _, cached in calls if not cached)
            if value is not None:
                scores[name] = value
            elif reason == NO_SCORE:
                missing[name] = reason  # the judge did its part: kept in the cache, not a failure
            else:
                missing[name] = reason
                failed.append(name)
                if cache is not None:
                    # A reply ragas could not use stays out of the cache: the next run asks again.
                    cache.forget([key for key, _ in calls])
    return ItemGenerationScores(item.item_id, scores, missing, tuple(failed), made)


async def _score(metric: Any, sample: Any) -> tuple[float | None, str]:
    try:
        value = float(await metric.single_turn_ascore(sample))
    except JudgeUnavailableError:
        raise
    except JudgeCallError as err:
        return None, str(err)
    except Exception as err:  # ragas raises its own parser errors, and ValueError on empty replies
        return None, f"the judge's reply could not be used ({type(err).__name__}: {str(err)[:200]})"
    if math.isnan(value):
        return None, NO_SCORE
    return value, ""


def _why_nothing(rows: Sequence[ItemGenerationScores]) -> str:
    reasons = sorted({reason for row in rows for reason in row.not_measured.values()})
    return "; ".join(reasons[:3]) or "nothing to judge"


def _metric_objects(llm: Any, embeddings: Any) -> dict[str, Any]:
    faithfulness, relevancy, precision, recall = ragas_metric_classes(
        "Faithfulness", "ResponseRelevancy", "LLMContextPrecisionWithReference", "LLMContextRecall"
    )
    return {
        FAITHFULNESS: faithfulness(llm=llm),
        ANSWER_RELEVANCY: relevancy(llm=llm, embeddings=embeddings),
        CONTEXT_PRECISION: precision(llm=llm),
        CONTEXT_RECALL: recall(llm=llm),
    }


def _RagasEmbeddings(embed: Callable[[list[str]], np.ndarray]) -> Any:  # noqa: N802 - a class factory
    """ragas' embeddings interface over the index's own model (answer relevancy)."""
    ragas_offline()
    from ragas.embeddings.base import BaseRagasEmbeddings

    class IndexModelEmbeddings(BaseRagasEmbeddings):
        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embed([text])[0]]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in embed(list(texts))]

        async def aembed_query(self, text: str) -> list[float]:
            return self.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    return IndexModelEmbeddings()
