"""Generation metrics of a baseline: the configured judge, the app's answers, the judge cache.

`evals.judge` in corpusgov.yaml turns them on; `evals.answers` names the app's answers. The
contexts judged are the chunks retrieved from the index version under test, so a result's
generation metrics are bound to the same key as its retrieval metrics, plus the judge and the
answers' fingerprints. Nothing here fails a baseline: a judge that cannot be reached or refuses
the key leaves generation "not measured" with the reason, and retrieval metrics stand.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evals import EvalItem, GenerationItem, GenerationMetrics, evaluate_generation
from evals.answers import CallableAnswers, JsonlAnswers, load_answers
from evals.errors import EvalError
from evals.generation import GenerationSummary, ItemGeneration, judge_fingerprint
from evals.judge import JudgeUnavailableError, OpenAICompatibleJudge
from pipelines.embedding.model import Embedder
from pipelines.errors import CorpusgovError
from pipelines.ledger import Ledger
from pipelines.ledger.evals import LedgerJudgeCache
from pipelines.settings import ENV_REFERENCE, Settings


@dataclass(frozen=True)
class GenerationRun:
    """Generation metrics of one baseline, and the key parts they add to its result."""

    metrics: GenerationMetrics
    judge: str
    answers_fingerprint: str
    # GenerationSummary fields the metrics do not know: what the answers said about themselves,
    # and the judge's calls when it stopped answering.
    details: Mapping[str, Any]

    def summary(self) -> GenerationSummary:
        """What the result keeps: the metrics' summary with the details."""
        return replace(self.metrics.summary(), **self.details)

    def item_rows(self) -> dict[str, ItemGeneration]:
        """Per item: its generation scores and what was not measured, for the result's rows."""
        return {
            row.item_id: ItemGeneration(dict(row.scores), dict(row.not_measured)) for row in self.metrics.rows
        }


NOT_CONFIGURED = GenerationRun(GenerationMetrics.not_measured(), "", "", {})


def judge_generation(
    settings: Settings, embedder: Embedder, items: Sequence[EvalItem], contexts: Mapping[str, list[str]]
) -> GenerationRun:
    """Judge the app's answers to `items` given `contexts` (item id -> retrieved texts in rank
    order); NOT_CONFIGURED without `evals.judge`."""
    config = settings.evals.judge
    if config is None:
        return NOT_CONFIGURED
    fingerprint = judge_fingerprint(config.model, config.base_url)
    try:
        answers = load_answers(settings.evals.answers) if settings.evals.answers else None
    except EvalError as err:
        # The retrieval metrics stand; the answers are fixed and judged on the next baseline.
        return GenerationRun(GenerationMetrics.not_measured(str(err), fingerprint), fingerprint, "", {})
    answers_key = answers.fingerprint if answers else ""
    try:
        judge = OpenAICompatibleJudge(
            base_url=config.base_url,
            model=config.model,
            api_key=_api_key(config.api_key),
            timeout_seconds=config.timeout_seconds,
            max_retries=config.max_retries,
            retry_base_seconds=config.retry_base_seconds,
        )
    except CorpusgovError as err:
        return GenerationRun(
            GenerationMetrics.not_measured(str(err), fingerprint), fingerprint, answers_key, {}
        )
    judged, details = _judged_items(items, contexts, answers)
    try:
        metrics = evaluate_generation(
            judged,
            judge,
            LedgerJudgeCache(Ledger.of(settings), config.model),
            lambda texts: embedder.embed(texts),
            answers_given=answers is not None,
            concurrency=config.concurrency,
        )
    except JudgeUnavailableError as err:
        metrics = GenerationMetrics.not_measured(str(err), fingerprint)
        details = {**details, "calls": judge.stats.as_json()}
    return GenerationRun(metrics, fingerprint, answers_key, details)


def generation_key(settings: Settings) -> tuple[str, str]:
    """The (judge, answers fingerprint) a baseline measured now would carry: ("", "") without a
    judge. A result under another key was judged by another judge or on other answers."""
    config = settings.evals.judge
    if config is None:
        return "", ""
    try:
        answers = load_answers(settings.evals.answers) if settings.evals.answers else None
    except EvalError:
        answers = None  # judged without answers: "not measured" until the source is fixed
    return judge_fingerprint(config.model, config.base_url), answers.fingerprint if answers else ""


def _judged_items(
    items: Sequence[EvalItem],
    contexts: Mapping[str, list[str]],
    answers: JsonlAnswers | CallableAnswers | None,
) -> tuple[list[GenerationItem], dict[str, Any]]:
    """What the judge sees per item, and what the answers said about themselves."""
    judged: list[GenerationItem] = []
    app_errors: dict[str, str] = {}
    other_contexts = 0
    for item in items:
        texts = contexts.get(item.id, [])
        answer = None
        if answers is not None:
            try:
                answer = answers.answer(item.id, item.question, texts)
            except Exception as err:  # the app's own code: whatever it raises, the item is unjudged
                app_errors[item.id] = f"{type(err).__name__}: {str(err)[:200]}"
            other_contexts += answers.answered_on_other_contexts(item.id, texts)
        reason = (
            f"the app raised {app_errors[item.id]}"
            if item.id in app_errors
            else "the app gave no answer to this item"
        )
        judged.append(
            GenerationItem(item.id, item.question, tuple(texts), answer, item.reference_answer, reason)
        )
    details: dict[str, Any] = {}
    if answers is not None:
        details["answers"] = answers.description
        details["answers_on_other_contexts"] = other_contexts
        details["items_without_answer"] = sum(1 for item in judged if item.answer is None)
        if isinstance(answers, JsonlAnswers):
            asked = {item.id for item in items}
            # Lines for ids the eval set does not have: an answers file for another eval set?
            details["answers_for_unknown_items"] = sum(
                1 for item_id in answers.answers if item_id not in asked
            )
    if app_errors:
        details["app_errors"] = app_errors
    return judged, details


def _api_key(reference: str | None) -> str:
    if reference is None:
        return ""
    match = ENV_REFERENCE.match(reference)
    variable = match.group(1) if match else reference
    value = os.environ.get(variable, "")
    if not value:
        raise CorpusgovError(
            f"evals.judge.api_key names the environment variable {variable}, which is not set: set "
            "it where corpusgov (or Dagster) runs"
        )
    return value
