"""Scoring an eval set version on an index version, incrementally.

Retrieval metrics always; generation metrics too when an LLM judge is configured
(pipelines/evaluation/generation.py), judged on the same retrieved chunks.

An item whose gold chunks are unchanged keeps its previous top-k unless a chunk added since then
would enter that top-k or a chunk of it left the index. Question vectors are cached in the
ledger, so the check is one small matrix product.
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evals import (
    EvalItem,
    EvalResult,
    EvalSet,
    EvalSetVersion,
    IndexSnapshot,
    RetrievedChunk,
    detect_regression,
)
from evals.generation import GENERATION_METRICS
from evals.metrics import evaluate_retrieval, retrieval_metric_names
from evals.resolution import active_items
from evals.sets import DEV, HOLDOUT
from pipelines.embedding.model import Embedder, require_index_model
from pipelines.errors import CorpusgovError
from pipelines.evaluation.configured import configured_set, load_configured_set
from pipelines.evaluation.generation import judge_generation
from pipelines.evaluation.snapshots import index_snapshot, result_config_hash
from pipelines.index.table import ChunkIndex
from pipelines.ledger import IndexVersion, Ledger
from pipelines.ledger.evals import (
    ItemScore,
    StoredResult,
    StoredVersion,
    cached_question_vectors,
    count_exposures,
    eval_results,
    latest_eval_version,
    record_eval_event,
    resolutions_of,
    store_question_vectors,
    store_result,
)
from pipelines.settings import Settings

_REUSABLE = frozenset({"unchanged", "resolved"})


@dataclass(frozen=True)
class BaselineTask:
    """One scoring: an eval set version, on the index version it is bound to, for one split."""

    eval_set: EvalSet
    stored: StoredVersion
    version: EvalSetVersion
    snapshot: IndexSnapshot
    index_version: IndexVersion
    split: str
    # The previous live baseline: an unchanged item keeps its top-k from it where it can.
    reuse: StoredResult | None = None
    removed_chunk_ids: frozenset[str] = frozenset()  # chunks that left the index since `reuse`


def run_baseline(settings: Settings, embedder: Embedder, task: BaselineTask) -> tuple[StoredResult, int, int]:
    """Score the active items of the task's split on its index version; returns (result,
    rescored, reused)."""
    eval_set, stored, version, snapshot = task.eval_set, task.stored, task.version, task.snapshot
    index_version, split = task.index_version, task.split
    ledger = Ledger.of(settings)
    k = settings.evals.k
    require_index_model(index_version.embedding_model, embedder.model_id, settings.data_dir)
    items = active_items(version, eval_set, splits=(split,))
    vectors = question_vectors(ledger, embedder, [item.question for item in items])
    reusable = _reusable_rows(
        task.reuse, version, items, vectors, snapshot, task.removed_chunk_ids, settings, k
    )
    to_score = [item for item in items if item.id not in reusable]
    scored = _scored_rows(settings, index_version, version, snapshot, to_score, vectors, k)
    rows = sorted([*reusable.values(), *scored], key=lambda r: r.item_id)
    metrics = _mean_metrics(rows, k)
    generation = judge_generation(settings, embedder, items, retrieved_texts(rows, snapshot))
    judged = generation.item_rows()
    # A reused row's generation scores are replaced too: these are judged on this run's answers.
    rows = [replace(row, generation=judged.get(row.item_id)) for row in rows]
    metrics.update({name: round(value, 6) for name, value in generation.metrics.means.items()})
    result = StoredResult(
        result_id=uuid.uuid4().hex[:12],
        eval_set=eval_set.name,
        eval_set_version=stored.number,
        version_hash=version.version_hash,
        index_version=index_version.index_version,
        config_hash=result_config_hash(index_version, embedder.model_id, k),
        split=split,
        k=k,
        created_at=datetime.now(UTC),
        metrics=metrics,
        per_item=tuple(rows),
        generation=generation.summary(),
        superseded_reason=None,
        judge=generation.judge,
        answers_fingerprint=generation.answers_fingerprint,
    )
    store_result(ledger, result)
    if split == HOLDOUT:
        count_exposures(ledger, eval_set.name, [item.id for item in items])
    return result, len(to_score), len(reusable)


def _scored_rows(
    settings: Settings,
    index_version: IndexVersion,
    version: EvalSetVersion,
    snapshot: IndexSnapshot,
    to_score: Sequence[EvalItem],
    vectors: dict[str, np.ndarray],
    k: int,
) -> list[ItemScore]:
    """Retrieve the top k of each item's question on `index_version` and score it."""
    search = ChunkIndex(settings.lancedb_uri).searcher(index_version)
    retrieved: dict[str, list[RetrievedChunk]] = {}

    def retrieve(question: str, top_k: int) -> list[RetrievedChunk]:
        hits = search(vectors[question], top_k)
        retrieved[question] = [RetrievedChunk(h.chunk_id, h.doc_id, h.text, h.score) for h in hits]
        return retrieved[question]

    texts = {c.chunk_id: c.text for c in snapshot.chunks}
    gold_ids = {cid for item in to_score for cid in version.resolutions[item.id].gold_chunk_ids}
    report = evaluate_retrieval(
        to_score,
        version.resolutions,
        retrieve,
        k,
        reference_texts={cid: texts[cid] for cid in gold_ids if cid in texts},
    )
    return [
        ItemScore(
            item_id=row.item_id,
            status=row.status,
            retrieved=tuple((r.chunk_id, round(r.score, 6)) for r in retrieved.get(item.question, [])),
            scores=dict(row.scores),
            contested_retrieved=tuple(row.contested_retrieved),
        )
        for row, item in zip(report.rows, to_score, strict=True)
    ]


def retrieved_texts(rows: Sequence[ItemScore], snapshot: IndexSnapshot) -> dict[str, list[str]]:
    """Item id -> the texts of its retrieved chunks in rank order: the contexts judged."""
    texts = {c.chunk_id: c.text for c in snapshot.chunks}
    return {
        row.item_id: [texts[chunk_id] for chunk_id, _ in row.retrieved if chunk_id in texts] for row in rows
    }


def _mean_metrics(rows: Sequence[ItemScore], k: int) -> dict[str, float]:
    """Each retrieval metric averaged over the rows (0 without rows), rounded for storage."""
    names = retrieval_metric_names(k)
    metrics = {n: (sum(r.scores[n] for r in rows) / len(rows) if rows else 0.0) for n in names}
    return {n: round(v, 6) for n, v in metrics.items()}


def _reusable_rows(
    reuse: StoredResult | None,
    version: EvalSetVersion,
    items: Sequence[Any],
    vectors: dict[str, np.ndarray],
    snapshot: IndexSnapshot,
    removed: frozenset[str],
    settings: Settings,
    k: int,
) -> dict[str, ItemScore]:
    """Previous rows still valid: same gold chunks, no retrieved chunk gone, no newcomer above
    the k-th score."""
    if reuse is None or reuse.k != k:
        return {}
    previous = {row.item_id: row for row in reuse.per_item}
    added = sorted(snapshot.added_chunk_ids)
    added_vectors = ChunkIndex(settings.lancedb_uri).vectors_for(added) if added else {}
    matrix = np.stack([added_vectors[c] for c in added if c in added_vectors]) if added_vectors else None
    kept: dict[str, ItemScore] = {}
    for item in items:
        row = previous.get(item.id)
        status = version.resolutions[item.id].status
        if row is None or status not in _REUSABLE or len(row.retrieved) < k:
            continue
        if any(chunk_id in removed for chunk_id, _ in row.retrieved):
            continue
        if matrix is not None:
            kth_score = min(score for _, score in row.retrieved)
            if float(np.max(matrix @ vectors[item.question])) > kth_score:
                continue
        kept[item.id] = replace(row, status=status)
    return kept


def on_common_items(a: StoredResult, b: StoredResult) -> tuple[EvalResult, EvalResult]:
    """Both results, with each generation mean taken over the items both measured: a judge that
    failed on some items in one of them must not read as a drop (or hide one)."""
    per_item = [
        {row.item_id: row.generation.scores if row.generation is not None else {} for row in r.per_item}
        for r in (a, b)
    ]
    metrics = [dict(a.metrics), dict(b.metrics)]
    for name in GENERATION_METRICS:
        common = [i for i, scores in per_item[0].items() if name in scores and name in per_item[1].get(i, {})]
        for side in (0, 1):
            if common:
                metrics[side][name] = sum(per_item[side][i][name] for i in common) / len(common)
            else:
                metrics[side].pop(name, None)
    return EvalResult(a.key, metrics[0]), EvalResult(b.key, metrics[1])


def question_vectors(ledger: Ledger, embedder: Embedder, questions: Sequence[str]) -> dict[str, np.ndarray]:
    """Embeddings of eval questions, cached in the ledger per model: re-versions embed nothing."""
    keys = {q: hashlib.sha256(q.encode()).hexdigest() for q in questions}
    cached = cached_question_vectors(ledger, embedder.model_id, list(keys.values()))
    missing = [q for q in dict.fromkeys(questions) if keys[q] not in cached]
    if missing:
        fresh = {keys[q]: v for q, v in zip(missing, embedder.embed(missing), strict=True)}
        store_question_vectors(ledger, embedder.model_id, fresh)
        cached.update(fresh)
    return {q: cached[keys[q]] for q in questions}


def rebaseline(settings: Settings, embedder: Embedder, eval_set_name: str, split: str = DEV) -> StoredResult:
    """Score the latest eval set version again on its index (holdout only when asked: counted)."""
    ledger = Ledger.of(settings)
    config = configured_set(settings, eval_set_name)
    eval_set = load_configured_set(config)
    stored = latest_eval_version(ledger, config.name)
    if stored is None:
        raise CorpusgovError(f"Eval set '{config.name}' has no version yet: ingest first.")
    if stored.eval_set_hash != eval_set.content_hash:
        raise CorpusgovError(
            f"{config.path} changed since eval set version {stored.number}: run `corpusgov ingest` "
            "(or the Dagster eval asset) to re-version it first."
        )
    index_version = {v.index_version: v for v in ledger.index_versions()}[stored.index_version]
    snapshot = index_snapshot(settings, index_version, None)
    resolutions = resolutions_of(ledger, stored.version_hash)
    version = EvalSetVersion(
        eval_set.name, eval_set.content_hash, stored.index_version, resolutions, stored.version_hash
    )
    previous = next(
        (r for r in eval_results(ledger, config.name, split) if r.version_hash == stored.version_hash), None
    )
    task = BaselineTask(eval_set, stored, version, snapshot, index_version, split)
    result, _, _ = run_baseline(settings, embedder, task)
    if split == DEV and previous is not None and previous.key == result.key:
        drops = detect_regression(*on_common_items(previous, result), settings.evals.regression_threshold)
        if drops:
            record_eval_event(
                ledger,
                config.name,
                "regression",
                f"Eval set {config.name}: regression between comparable results on index "
                f"v{result.index_version}: {'; '.join(drops)}",
                {"before": previous.result_id, "after": result.result_id, "drops": drops},
            )
    return result
