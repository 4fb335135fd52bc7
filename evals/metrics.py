"""Retrieval metrics against resolved gold chunks, and generation metrics kept apart.

Retrieval, for one item with gold chunk ids G and the top-k retrieved chunk ids R (binary relevance):
- `hit@k`     1 if any of R is in G;
- `recall@k`  |R ∩ G| / |G|;
- `mrr@k`     1 / rank of the first relevant chunk in R, 0 if none;
- `ndcg@k`    DCG / ideal DCG with gain 1 / log2(rank + 1);
- ragas 0.4.3, run without an LLM through `single_turn_ascore` on a `SingleTurnSample`:
  `id_based_context_precision`, `id_based_context_recall` (on chunk ids), and
  `non_llm_context_precision_with_reference`, `non_llm_context_recall` (Levenshtein similarity
  between retrieved texts and reference contexts, threshold 0.5). The reference contexts are the
  gold chunks' texts when `reference_texts` is given, otherwise the gold passages; ragas' string
  similarity scores a short passage low against a long chunk, so pass the texts when you have them.
An item that retrieves nothing scores 0 on every metric (ragas would return NaN).

Items whose resolution is stale or orphaned are excluded and listed, never scored as misses.
Generation metrics (an LLM judge) are in evals/generation.py.
"""

import asyncio
import math
import os
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from evals.errors import EvalResolutionError
from evals.resolution import ItemResolution
from evals.sets import EvalItem

_T = TypeVar("_T")
RAGAS_METRICS: tuple[str, ...] = (
    "id_based_context_precision",
    "id_based_context_recall",
    "non_llm_context_precision_with_reference",
    "non_llm_context_recall",
)


@dataclass(frozen=True)
class RetrievedChunk:
    """One search result, in rank order."""

    chunk_id: str
    doc_id: str
    text: str
    score: float


@dataclass(frozen=True)
class ItemRetrievalScores:
    """One item's retrieval and its metric values."""

    item_id: str
    status: str
    gold_chunk_ids: tuple[str, ...]
    retrieved_chunk_ids: tuple[str, ...]
    scores: Mapping[str, float]
    contested_retrieved: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrievalReport:
    """Mean of each metric over the scored items, with one row per item."""

    k: int
    means: Mapping[str, float]
    rows: tuple[ItemRetrievalScores, ...]
    excluded_item_ids: tuple[str, ...]

    @property
    def scored_count(self) -> int:
        """How many items the means are over."""
        return len(self.rows)


def retrieval_metric_names(k: int) -> tuple[str, ...]:
    """The metric keys a report at this k carries, in display order."""
    return (f"hit@{k}", f"recall@{k}", f"mrr@{k}", f"ndcg@{k}", *RAGAS_METRICS)


def hit_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1.0 if a gold chunk is in the top k, else 0.0."""
    relevant = set(gold)
    return 1.0 if any(c in relevant for c in retrieved[:k]) else 0.0


def recall_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold chunks found in the top k."""
    relevant = set(gold)
    return len(relevant & set(retrieved[:k])) / len(relevant) if relevant else 0.0


def mrr_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Reciprocal rank of the first gold chunk in the top k, 0.0 when there is none."""
    relevant = set(gold)
    for rank, chunk_id in enumerate(retrieved[:k], start=1):
        if chunk_id in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """nDCG over the top k with binary relevance; a chunk id counts once."""
    relevant = set(gold)
    seen: set[str] = set()
    dcg = 0.0
    for rank, chunk_id in enumerate(retrieved[:k], start=1):
        if chunk_id in relevant and chunk_id not in seen:
            dcg += 1.0 / math.log2(rank + 1)
            seen.add(chunk_id)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def evaluate_retrieval(
    items: Sequence[EvalItem],
    resolutions: Mapping[str, ItemResolution],
    retrieve: Callable[[str, int], list[RetrievedChunk]],
    k: int,
    *,
    reference_texts: Mapping[str, str] | None = None,
) -> RetrievalReport:
    """Retrieve the top k for each item's question and score it against its resolved gold chunks.

    `reference_texts` maps chunk id to text for the gold chunks (see the module docstring).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    missing = [item.id for item in items if item.id not in resolutions]
    if missing:
        raise EvalResolutionError(
            f"no resolution for item(s) {', '.join(missing)}: resolve the eval set against this index first"
        )
    scored = [item for item in items if not resolutions[item.id].excluded]
    excluded = tuple(item.id for item in items if resolutions[item.id].excluded)

    runs: list[tuple[EvalItem, ItemResolution, list[RetrievedChunk]]] = []
    for item in scored:
        runs.append((item, resolutions[item.id], list(retrieve(item.question, k))[:k]))
    ragas_scores = _ragas_scores(runs, reference_texts or {})

    rows: list[ItemRetrievalScores] = []
    for (item, resolution, results), extra in zip(runs, ragas_scores, strict=True):
        ids = [r.chunk_id for r in results]
        gold = resolution.gold_chunk_ids
        scores = {
            f"hit@{k}": hit_at_k(ids, gold, k),
            f"recall@{k}": recall_at_k(ids, gold, k),
            f"mrr@{k}": mrr_at_k(ids, gold, k),
            f"ndcg@{k}": ndcg_at_k(ids, gold, k),
            **extra,
        }
        rows.append(
            ItemRetrievalScores(
                item_id=item.id,
                status=resolution.status,
                gold_chunk_ids=gold,
                retrieved_chunk_ids=tuple(ids),
                scores=scores,
                contested_retrieved=tuple(c for c in ids if c in set(resolution.contested_by)),
            )
        )
    names = retrieval_metric_names(k)
    means = {name: (sum(r.scores[name] for r in rows) / len(rows) if rows else 0.0) for name in names}
    return RetrievalReport(k=k, means=means, rows=tuple(rows), excluded_item_ids=excluded)


def _ragas_scores(
    runs: list[tuple[EvalItem, ItemResolution, list[RetrievedChunk]]], reference_texts: Mapping[str, str]
) -> list[dict[str, float]]:
    if not runs:
        return []
    metrics = _ragas_metrics()
    sample_type = _ragas_sample_type()

    async def score_one(
        item: EvalItem, resolution: ItemResolution, results: list[RetrievedChunk]
    ) -> dict[str, float]:
        if not results or not resolution.gold_chunk_ids:
            return dict.fromkeys(RAGAS_METRICS, 0.0)
        references = [reference_texts[c] for c in resolution.gold_chunk_ids if c in reference_texts]
        if len(references) != len(resolution.gold_chunk_ids):
            references = [g.passage for g in item.gold]
        sample = sample_type(
            user_input=item.question,
            retrieved_contexts=[r.text for r in results],
            reference_contexts=references,
            retrieved_context_ids=[r.chunk_id for r in results],
            reference_context_ids=list(resolution.gold_chunk_ids),
        )
        return {name: float(await metric.single_turn_ascore(sample)) for name, metric in metrics.items()}

    async def score_all() -> list[dict[str, float]]:
        return [await score_one(*run) for run in runs]

    return run_async(score_all)


def run_async(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run `main()` to completion from synchronous code, also when the caller already runs an
    event loop (a notebook cell): asyncio.run refuses that, so a worker thread runs it instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, main()).result()


def _ragas_metrics() -> dict[str, Any]:
    classes = ragas_metric_classes(
        "IDBasedContextPrecision",
        "IDBasedContextRecall",
        "NonLLMContextPrecisionWithReference",
        "NonLLMContextRecall",
    )
    return {name: cls() for name, cls in zip(RAGAS_METRICS, classes, strict=True)}


def ragas_metric_classes(*names: str) -> list[Any]:
    """ragas' metric classes by name, imported with its telemetry off. They come from the legacy
    `ragas.metrics` module: 0.4.3 announces a move to `ragas.metrics.collections`, which lacks the
    non-LLM metrics and whose LLM metrics need instructor's structured-output clients instead of a
    plain chat endpoint."""
    ragas_offline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ragas.metrics

        return [getattr(ragas.metrics, name) for name in names]


def _ragas_sample_type() -> Any:
    ragas_offline()
    from ragas import SingleTurnSample

    return SingleTurnSample


def ragas_offline() -> None:
    # ragas posts telemetry on every score unless this is exactly "true" ("1" does not work).
    if os.environ.get("RAGAS_DO_NOT_TRACK", "").lower() != "true":
        os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    try:
        import ragas  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"ragas cannot be imported ({err}); reinstall the project with "
            "`.venv/bin/python -m pip install -e .` (it pins ragas and langchain-community)"
        ) from err
