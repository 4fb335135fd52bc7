"""Comparing results: refused across different keys, or split into what the eval set change and
the index change each did; and whether retrieval amplifies AI-generated text."""

from dataclasses import dataclass, replace

from corpus_quality.vocabulary import ProvenanceLabel
from evals import (
    EvalItem,
    EvalResult,
    EvalSetVersion,
    IndexSnapshot,
    ResultKey,
    RetrievedChunk,
    compare_results,
    decompose,
    resolve_eval_set,
)
from evals.comparison import Comparison, Decomposition
from evals.generation import GENERATION_METRICS
from evals.metrics import evaluate_retrieval
from evals.resolution import EXCLUDED_STATUSES
from evals.sets import DEV
from pipelines.embedding.model import Embedder
from pipelines.errors import CorpusgovError
from pipelines.evaluation.baseline import question_vectors
from pipelines.evaluation.configured import configured_set, load_configured_set
from pipelines.evaluation.generation import NOT_CONFIGURED, GenerationRun, generation_key, judge_generation
from pipelines.evaluation.snapshots import index_snapshot
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import IndexVersion, Ledger
from pipelines.ledger.evals import StoredResult, resolutions_of, result_on_index, stored_version
from pipelines.settings import Settings


def compare_index_versions(
    settings: Settings, embedder: Embedder | None, eval_set: str, old: int, new: int, split_delta: bool
) -> Comparison | Decomposition:
    """Compare the dev baselines measured on index versions `old` and `new`.

    Plain comparison refuses results with different keys (IncomparableResultsError says which);
    `split_delta` runs the newer eval set version on the older index and splits the delta.
    """
    ledger = Ledger.of(settings)
    before = result_on_index(ledger, eval_set, old)
    after = result_on_index(ledger, eval_set, new)
    if not split_delta:
        return compare_results(before.as_eval_result(), after.as_eval_result())
    if embedder is None:
        raise CorpusgovError("Decomposing needs the embedding model to run the eval on the old index.")
    return decompose_results(settings, embedder, before, after)


def decompose_results(
    settings: Settings, embedder: Embedder, before: StoredResult, after: StoredResult
) -> Decomposition:
    """Run `after`'s eval set version on `before`'s index (read-only checkout) and split the delta."""
    ledger = Ledger.of(settings)
    config = configured_set(settings, before.eval_set)
    eval_set = load_configured_set(config)
    versions = {v.index_version: v for v in ledger.index_versions()}
    old_index = versions[before.index_version]
    stored_new = stored_version(ledger, after.version_hash)
    new_resolutions = resolutions_of(ledger, after.version_hash)
    if stored_new.eval_set_hash != eval_set.content_hash:
        raise CorpusgovError(
            f"The eval set file {config.path} changed since eval set version {stored_new.number}; "
            "decompose works on the file as it was. Restore it or compare newer results."
        )
    # Same items as the new version (stale and orphaned stay out), gold chunks as on the old index.
    old_snapshot = index_snapshot(settings, old_index, None)
    on_old = resolve_eval_set(eval_set, old_snapshot, None)
    kept = {
        item_id: on_old.resolutions[item_id]
        if new_resolutions[item_id].status not in EXCLUDED_STATUSES
        else new_resolutions[item_id]
        for item_id in new_resolutions
    }
    mixed = EvalSetVersion(
        eval_set.name, eval_set.content_hash, old_index.index_version, kept, after.version_hash
    )
    items = [i for i in eval_set.items if i.split == DEV and not kept[i.id].excluded]
    metrics, retrieved = _retrieval_on(settings, embedder, old_index, old_snapshot, items, mixed, before.k)
    generation, refused = _generation_on_old_index(settings, embedder, before, after, items, retrieved)
    metrics.update(generation.metrics.means)
    new_on_old = EvalResult(
        key=ResultKey(
            after.version_hash,
            before.index_version,
            before.config_hash,
            generation.judge,
            generation.answers_fingerprint,
        ),
        metrics=metrics,
    )
    split = decompose(before.as_eval_result(), new_on_old, after.as_eval_result())
    refused = {m: why for m, why in refused.items() if m in split.deltas or m in split.refused}
    return replace(
        split,
        deltas={m: d for m, d in split.deltas.items() if m not in refused},
        refused={**split.refused, **refused},
    )


def _retrieval_on(
    settings: Settings,
    embedder: Embedder,
    index: IndexVersion,
    snapshot: IndexSnapshot,
    items: list[EvalItem],
    version: EvalSetVersion,
    k: int,
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Retrieval metrics of `items` on `index`, and each item's retrieved texts (its contexts)."""
    vectors = question_vectors(Ledger.of(settings), embedder, [i.question for i in items])
    search = ChunkIndex(settings.lancedb_uri).searcher(index)
    texts = {c.chunk_id: c.text for c in snapshot.chunks}
    retrieved: dict[str, list[str]] = {}

    def retrieve(question: str, top_k: int) -> list[RetrievedChunk]:
        hits = [
            RetrievedChunk(h.chunk_id, h.doc_id, h.text, h.score) for h in search(vectors[question], top_k)
        ]
        retrieved[question] = [h.text for h in hits]
        return hits

    report = evaluate_retrieval(items, version.resolutions, retrieve, k, reference_texts=texts)
    return dict(report.means), {item.id: retrieved.get(item.question, []) for item in items}


def _generation_on_old_index(
    settings: Settings,
    embedder: Embedder,
    before: StoredResult,
    after: StoredResult,
    items: list[EvalItem],
    contexts: dict[str, list[str]],
) -> tuple[GenerationRun, dict[str, str]]:
    """The new eval set's answers judged on the old index's contexts (the judge cache makes a
    repeat free), and the generation metrics that cannot be split, with the reason."""
    if not after.judge:
        return NOT_CONFIGURED, {}
    if generation_key(settings) != (after.judge, after.answers_fingerprint):
        why = (
            "the configured evals.judge or evals.answers is not the one that judged the newer result; "
            "re-baseline it (`corpusgov evals rebaseline`) and decompose again"
        )
        return NOT_CONFIGURED, dict.fromkeys(GENERATION_METRICS, why)
    generation = judge_generation(settings, embedder, items, contexts)
    # A mean over the items the judge failed on in one result and not in another compares
    # different items: the very mistake a decomposition is there to expose.
    failed = {
        key.split("/", 1)[1]
        for summary in (before.generation, after.generation, generation.summary())
        for key in summary.failures
    }
    why = "the judge failed on some items in one of the results; re-baseline when it is healthy"
    return generation, dict.fromkeys(failed, why)


@dataclass(frozen=True)
class Amplification:
    """Do retrievers favour AI text? ai_generated share in the top-k over the eval questions
    against its share of the corpus, on one index version."""

    index_version: int
    retrieved_share: float
    corpus_share: float

    @property
    def ratio(self) -> float | None:
        return self.retrieved_share / self.corpus_share if self.corpus_share else None


def amplification(settings: Settings, result: StoredResult) -> Amplification:
    version = {v.index_version: v for v in Ledger.of(settings).index_versions()}[result.index_version]
    table = ChunkIndex(settings.lancedb_uri).table_at(version)
    if table is None:
        return Amplification(result.index_version, 0.0, 0.0)
    data = read_columns(table, ["chunk_id", "provenance"])
    labels = dict(
        zip(data.column("chunk_id").to_pylist(), data.column("provenance").to_pylist(), strict=True)
    )
    retrieved = [chunk_id for row in result.per_item for chunk_id, _ in row.retrieved]
    ai = ProvenanceLabel.AI_GENERATED
    in_results = sum(1 for c in retrieved if labels.get(c) == ai)
    in_corpus = sum(1 for label in labels.values() if label == ai)
    return Amplification(
        index_version=result.index_version,
        retrieved_share=in_results / len(retrieved) if retrieved else 0.0,
        corpus_share=in_corpus / len(labels) if labels else 0.0,
    )
