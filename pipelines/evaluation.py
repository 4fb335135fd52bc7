"""Evals bound to index versions: re-version every eval set on every index change, re-baseline,
and refuse comparisons between results measured on different things.

Called after each index commit (the Dagster `eval_baselines` asset, `corpusgov ingest`) and by the
`corpusgov evals` commands. An index that did not change re-versions nothing.

Re-baselining is incremental: an item whose gold chunks are unchanged keeps its previous top-k
unless a chunk added since then would enter that top-k or a chunk of it left the index. Question
vectors are cached in the ledger, so the check is one small matrix product.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from corpus_quality.vocabulary import ProvenanceLabel
from evals import (
    EvalResult,
    EvalSet,
    EvalSetVersion,
    IndexedChunk,
    IndexSnapshot,
    ItemResolution,
    ResultKey,
    RetrievedChunk,
    changed_share,
    changelog,
    compare_results,
    decompose,
    detect_regression,
    find_contamination,
    load_eval_set,
    resolve_eval_set,
)
from evals.comparison import Comparison, Decomposition
from evals.metrics import evaluate_retrieval, retrieval_metric_names
from evals.resolution import EXCLUDED_STATUSES, active_items
from pipelines.embedding import Embedder, require_index_model
from pipelines.errors import CorpusgovError, IndexVersionUnavailableError
from pipelines.index import ChunkIndex, read_columns
from pipelines.ledger import IndexVersion, Ledger
from pipelines.settings import EvalSetConfig, Settings

DEV = "dev"
HOLDOUT = "holdout"
_REUSABLE = frozenset({"unchanged", "resolved"})


@dataclass(frozen=True)
class StoredResult:
    """An eval result as the ledger keeps it (append-only)."""

    result_id: str
    eval_set: str
    eval_set_version: int
    version_hash: str
    index_version: int
    config_hash: str
    split: str
    k: int
    created_at: datetime
    metrics: dict[str, float]
    per_item: list[dict[str, Any]]
    generation: dict[str, Any]
    superseded_reason: str | None

    @property
    def key(self) -> ResultKey:
        return ResultKey(self.version_hash, self.index_version, self.config_hash)

    def as_eval_result(self) -> EvalResult:
        return EvalResult(key=self.key, metrics=self.metrics)

    def as_json(self) -> dict[str, Any]:
        return {
            "result_id": self.result_id,
            "eval_set": self.eval_set,
            "eval_set_version": self.eval_set_version,
            "eval_set_version_hash": self.version_hash,
            "index_version": self.index_version,
            "config_hash": self.config_hash,
            "split": self.split,
            "k": self.k,
            "created_at": self.created_at.isoformat(),
            "metrics": self.metrics,
            "generation": self.generation,
            "superseded": self.superseded_reason is not None,
            "superseded_reason": self.superseded_reason,
        }


@dataclass(frozen=True)
class StoredVersion:
    eval_set: str
    number: int
    version_hash: str
    eval_set_hash: str
    index_version: int
    created_at: datetime
    changelog: dict[str, list[str]]
    changed_share: float
    items: int
    active_items: int
    holdout_ids: frozenset[str] = frozenset()

    def routine_changelog(self) -> dict[str, list[str]]:
        """Dev item ids by status: what routine output may show (the holdout never by id)."""
        return {
            status: [i for i in ids if i not in self.holdout_ids]
            for status, ids in self.changelog.items()
            if any(i not in self.holdout_ids for i in ids)
        }

    def holdout_counts(self) -> dict[str, int]:
        """How many holdout items are in each status: counted, never named."""
        counts = {s: sum(1 for i in ids if i in self.holdout_ids) for s, ids in self.changelog.items()}
        return {status: n for status, n in counts.items() if n}

    def as_json(self) -> dict[str, Any]:
        return {
            "eval_set": self.eval_set, "version": self.number, "version_hash": self.version_hash,
            "eval_set_hash": self.eval_set_hash, "index_version": self.index_version,
            "created_at": self.created_at.isoformat(), "changelog": self.routine_changelog(),
            "holdout_by_status": self.holdout_counts(),
            "changed_share": round(self.changed_share, 4), "items": self.items,
            "active_items": self.active_items,
        }


@dataclass(frozen=True)
class Reversion:
    """What one index change did to one eval set."""

    version: StoredVersion
    superseded_previous: bool
    result: StoredResult | None
    rescored_items: int
    reused_items: int
    contaminated: dict[str, list[str]]
    event: str | None  # the human sentence recorded (and alerted) for this re-version, if any


# --- snapshots -------------------------------------------------------------------------------


def index_snapshot(settings: Settings, version: IndexVersion, previous: IndexVersion | None) -> IndexSnapshot:
    """What the index held at `version`, and which chunks entered since `previous`."""
    table = ChunkIndex(settings.lancedb_uri).table_at(version)
    if table is None:
        return IndexSnapshot(version.index_version, {}, (), frozenset())
    rows = read_columns(table, ["chunk_id", "doc_id", "ordinal", "text", "content_hash"]).to_pylist()
    rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
    current = {r["chunk_id"] for r in rows}
    added = frozenset(current)
    if previous is not None:
        try:
            added = frozenset(current - _chunk_ids_at(settings, previous))
        except IndexVersionUnavailableError:
            # The previous version was cleaned up or rebuilt away: every chunk counts as new,
            # which costs a full re-resolution, never a wrong one.
            pass
    return IndexSnapshot(
        index_version=version.index_version,
        doc_hashes={r["doc_id"]: r["content_hash"] for r in rows},
        chunks=tuple(IndexedChunk(r["chunk_id"], r["doc_id"], r["text"]) for r in rows),
        added_chunk_ids=added,
    )


def result_config_hash(index_version: IndexVersion, embedding_model: str, k: int) -> str:
    """What a score depends on besides the eval set and the index content."""
    payload = f"{index_version.config_hash}\x1f{embedding_model}\x1fk={k}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- the automatic path ----------------------------------------------------------------------


def reversion_eval_sets(settings: Settings, embedder: Embedder) -> list[Reversion]:
    """Bind every eval set to the latest index version, then score what is new: the two steps
    the Dagster assets `eval_set_versions` and `eval_baselines` take, in one call (the CLI)."""
    version_eval_sets(settings)
    return baseline_eval_sets(settings, embedder)


def version_eval_sets(settings: Settings) -> list[StoredVersion]:
    """Step 1: re-resolve each eval set against the latest index version and store the new
    version (a no-op when it is already bound to it). Needs no model. When more than
    `rebaseline_share` of the items changed status, the older baselines are superseded."""
    ledger = Ledger(settings.ledger_path)
    latest = ledger.latest_index_version()
    if latest is None:
        return []
    done: list[StoredVersion] = []
    for config in settings.evals.sets:
        eval_set = _load(config)
        last = latest_eval_version(ledger, config.name)
        if last and last.index_version == latest.index_version and last.eval_set_hash == eval_set.content_hash:
            continue
        done.append(_new_version(settings, ledger, eval_set, latest, last))
    return done


def _new_version(
    settings: Settings, ledger: Ledger, eval_set: EvalSet, latest: IndexVersion,
    last: StoredVersion | None,
) -> StoredVersion:
    versions = {v.index_version: v for v in ledger.index_versions()}
    previous_index = versions.get(last.index_version) if last else None
    snapshot = index_snapshot(settings, latest, previous_index)
    if last is None:
        version = resolve_eval_set(eval_set, snapshot, None)
        contaminated = find_contamination(eval_set, snapshot.chunks)
    else:
        # Incremental: gold documents and the chunks that entered are all a re-version can need
        # (competitors only come from added chunks), so the cost follows the change, not the corpus.
        previous = _resolutions(ledger, last.version_hash)
        version = resolve_eval_set(eval_set, _narrowed(snapshot, eval_set), previous)
        contaminated = _carried_contamination(ledger, last, snapshot, eval_set)
    stored = _store_version(ledger, eval_set, version, (last.number + 1) if last else 1, contaminated)
    if last is not None and stored.changed_share > settings.evals.rebaseline_share:
        _supersede(ledger, eval_set.name, stored, stored.changed_share)
    return stored


def baseline_eval_sets(settings: Settings, embedder: Embedder) -> list[Reversion]:
    """Step 2: score each eval set's latest version on its index, once (a no-op when that
    result exists). Unchanged items reuse the previous live baseline's top-k where they can."""
    ledger = Ledger(settings.ledger_path)
    indexes = {v.index_version: v for v in ledger.index_versions()}
    done: list[Reversion] = []
    for config in settings.evals.sets:
        stored = latest_eval_version(ledger, config.name)
        if stored is None or stored.index_version not in indexes:
            continue
        results = eval_results(ledger, config.name, DEV)
        if any(r.version_hash == stored.version_hash and r.index_version == stored.index_version for r in results):
            continue
        eval_set = _load(config)
        if eval_set.content_hash != stored.eval_set_hash:
            continue  # the file changed since: step 1 re-versions it first
        done.append(_baseline(settings, ledger, embedder, eval_set, stored, indexes, results))
    return done


def _baseline(
    settings: Settings, ledger: Ledger, embedder: Embedder, eval_set: EvalSet,
    stored: StoredVersion, indexes: dict[int, IndexVersion], results: list[StoredResult],
) -> Reversion:
    latest = indexes[stored.index_version]
    previous_result = results[0] if results else None
    superseded = previous_result is not None and previous_result.superseded_reason is not None
    previous_index = indexes.get(previous_result.index_version) if previous_result else None
    snapshot = index_snapshot(settings, latest, previous_index)
    version = EvalSetVersion(
        eval_set.name, eval_set.content_hash, stored.index_version,
        _resolutions(ledger, stored.version_hash), stored.version_hash,
    )
    result, rescored, reused = run_baseline(
        settings, embedder, eval_set, stored, version, snapshot, latest, DEV,
        reuse=None if superseded else previous_result,
        removed_chunk_ids=_removed_chunks(settings, previous_index, snapshot),
    )
    event = _record_reversion_event(
        settings, ledger, embedder, eval_set, stored, stored.changed_share, superseded,
        previous_result, result,
    )
    contaminated = {
        row["item_id"]: list(row["contaminated_by"])
        for row in item_resolutions(ledger, stored.version_hash) if row["contaminated_by"]
    }
    return Reversion(stored, superseded, result, rescored, reused, contaminated, event)


def _narrowed(snapshot: IndexSnapshot, eval_set: EvalSet) -> IndexSnapshot:
    gold_docs = {g.doc_id for item in eval_set.items for g in item.gold}
    return IndexSnapshot(
        index_version=snapshot.index_version,
        doc_hashes=snapshot.doc_hashes,
        chunks=tuple(c for c in snapshot.chunks if c.doc_id in gold_docs or c.chunk_id in snapshot.added_chunk_ids),
        added_chunk_ids=snapshot.added_chunk_ids,
    )


def _carried_contamination(
    ledger: Ledger, last: StoredVersion, snapshot: IndexSnapshot, eval_set: EvalSet
) -> dict[str, list[str]]:
    """Earlier flags whose chunks are still indexed, plus flags from the chunks that entered."""
    live = {c.chunk_id for c in snapshot.chunks}
    flagged: dict[str, set[str]] = {}
    for row in item_resolutions(ledger, last.version_hash):
        kept = {c for c in row["contaminated_by"] if c in live}
        if kept:
            flagged[row["item_id"]] = kept
    added = [c for c in snapshot.chunks if c.chunk_id in snapshot.added_chunk_ids]
    for item_id, chunk_ids in find_contamination(eval_set, added).items():
        flagged.setdefault(item_id, set()).update(chunk_ids)
    return {item_id: sorted(ids) for item_id, ids in sorted(flagged.items())}


def _supersede(ledger: Ledger, eval_set: str, version: StoredVersion, share: float) -> None:
    counts = {status: len(ids) for status, ids in version.changelog.items() if ids}
    reason = (
        f"eval set {eval_set} v{version.number} on index v{version.index_version}: "
        f"{share:.0%} of items changed status ({_counts_text(counts)})"
    )
    with ledger.connect() as con:
        con.execute(
            "UPDATE eval_results SET superseded_reason = ? WHERE eval_set = ? AND superseded_reason IS NULL "
            "AND eval_set_version < ?",
            [reason, eval_set, version.number],
        )


def _record_reversion_event(
    settings: Settings, ledger: Ledger, embedder: Embedder, eval_set: EvalSet, version: StoredVersion,
    share: float, superseded: bool, previous: StoredResult | None, result: StoredResult,
) -> str | None:
    """Say what happened in words a person reads in an alert: a re-baseline, or a delta explained."""
    if previous is None:
        return None
    metric = f"ndcg@{result.k}"
    delta = result.metrics.get(metric, 0.0) - previous.metrics.get(metric, 0.0)
    details: dict[str, Any] = {
        "eval_set_version": version.number, "index_version": version.index_version,
        "changed_share": share, "changelog": version.routine_changelog(),
        "holdout_by_status": version.holdout_counts(),
        "previous_result": previous.result_id, "result": result.result_id,
        "plain_delta": {metric: round(delta, 4)},
    }
    kind, message = None, None
    if superseded:
        kind = "rebaseline"
        message = (
            f"Eval set {eval_set.name} re-baselined on index v{version.index_version}: {share:.0%} of "
            f"items changed status ({_counts_text({s: len(i) for s, i in version.changelog.items() if i})}); "
            f"the baseline from index v{previous.index_version} is superseded and not comparable."
        )
    elif delta < -settings.evals.regression_threshold:
        # Not comparable as-is (different keys): split the delta before anyone calls it a regression.
        split = decompose_results(settings, embedder, previous, result)
        parts = split.deltas[metric]
        details["decomposition"] = {
            "eval_set_changed": round(parts.eval_set_changed, 4),
            "index_changed": round(parts.index_changed, 4),
        }
        kind = "index_change_delta"
        message = (
            f"Eval set {eval_set.name}: {metric} moved {delta:+.3f} from index v{previous.index_version} "
            f"to v{version.index_version}; {parts.eval_set_changed:+.3f} from the eval set changing, "
            f"{parts.index_changed:+.3f} from the index changing (same eval set on both indexes)."
        )
    if kind is None or message is None:
        return None
    record_eval_event(ledger, eval_set.name, kind, message, details)
    return message


def record_eval_event(ledger: Ledger, eval_set: str, kind: str, message: str, details: dict[str, Any]) -> None:
    with ledger.connect() as con:
        con.execute(
            "INSERT INTO eval_events VALUES (?, ?, ?, ?, ?, ?)",
            [uuid.uuid4().hex[:16], eval_set, kind, datetime.now(UTC), message,
             json.dumps(details, default=str)],
        )


# --- scoring ----------------------------------------------------------------------------------


def run_baseline(
    settings: Settings,
    embedder: Embedder,
    eval_set: EvalSet,
    stored: StoredVersion,
    version: EvalSetVersion,
    snapshot: IndexSnapshot,
    index_version: IndexVersion,
    split: str,
    reuse: StoredResult | None = None,
    removed_chunk_ids: frozenset[str] = frozenset(),
) -> tuple[StoredResult, int, int]:
    """Score the active items of `split` on `index_version`; returns (result, rescored, reused)."""
    ledger = Ledger(settings.ledger_path)
    k = settings.evals.k
    require_index_model(index_version.embedding_model, embedder.model_id, settings.data_dir)
    items = active_items(version, eval_set, splits=(split,))
    vectors = question_vectors(ledger, embedder, [item.question for item in items])
    reusable = _reusable_rows(reuse, version, items, vectors, snapshot, removed_chunk_ids, settings, k)
    to_score = [item for item in items if item.id not in reusable]
    search = ChunkIndex(settings.lancedb_uri).searcher(index_version)
    retrieved: dict[str, list[RetrievedChunk]] = {}

    def retrieve(question: str, top_k: int) -> list[RetrievedChunk]:
        hits = search(vectors[question], top_k)
        retrieved[question] = [RetrievedChunk(h.chunk_id, h.doc_id, h.text, h.score) for h in hits]
        return retrieved[question]

    texts = {c.chunk_id: c.text for c in snapshot.chunks}
    gold_ids = {cid for item in to_score for cid in version.resolutions[item.id].gold_chunk_ids}
    report = evaluate_retrieval(
        to_score, version.resolutions, retrieve, k,
        reference_texts={cid: texts[cid] for cid in gold_ids if cid in texts},
    )
    rows: list[dict[str, Any]] = list(reusable.values())
    for row, item in zip(report.rows, to_score, strict=True):
        rows.append({
            "item_id": row.item_id,
            "status": row.status,
            "retrieved": [[r.chunk_id, round(r.score, 6)] for r in retrieved.get(item.question, [])],
            "scores": dict(row.scores),
            "contested_retrieved": list(row.contested_retrieved),
        })
    rows.sort(key=lambda r: r["item_id"])
    names = retrieval_metric_names(k)
    metrics = {n: (sum(r["scores"][n] for r in rows) / len(rows) if rows else 0.0) for n in names}
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
        metrics={n: round(v, 6) for n, v in metrics.items()},
        per_item=rows,
        generation={"status": "not measured", "reason": "no LLM judge is configured"},
        superseded_reason=None,
    )
    _store_result(ledger, result)
    if split == HOLDOUT:
        _count_exposures(ledger, eval_set.name, [item.id for item in items])
    return result, len(to_score), len(reusable)


def _reusable_rows(
    reuse: StoredResult | None, version: EvalSetVersion, items: Sequence[Any],
    vectors: dict[str, np.ndarray], snapshot: IndexSnapshot, removed: frozenset[str],
    settings: Settings, k: int,
) -> dict[str, dict[str, Any]]:
    """Previous rows still valid: same gold chunks, no retrieved chunk gone, no newcomer above
    the k-th score."""
    if reuse is None or reuse.k != k:
        return {}
    previous = {row["item_id"]: row for row in reuse.per_item}
    added = sorted(snapshot.added_chunk_ids)
    added_vectors = ChunkIndex(settings.lancedb_uri).vectors_for(added) if added else {}
    matrix = np.stack([added_vectors[c] for c in added if c in added_vectors]) if added_vectors else None
    kept: dict[str, dict[str, Any]] = {}
    for item in items:
        row = previous.get(item.id)
        status = version.resolutions[item.id].status
        if row is None or status not in _REUSABLE or len(row["retrieved"]) < k:
            continue
        if any(chunk_id in removed for chunk_id, _ in row["retrieved"]):
            continue
        if matrix is not None:
            kth_score = min(score for _, score in row["retrieved"])
            if float(np.max(matrix @ vectors[item.question])) > kth_score:
                continue
        kept[item.id] = {**row, "status": status}
    return kept


def _chunk_ids_at(settings: Settings, version: IndexVersion) -> frozenset[str]:
    return _chunk_ids_of(settings.lancedb_uri, version.index_version, version.lance_version, version.tag)


@lru_cache(maxsize=16)
def _chunk_ids_of(uri: str, number: int, lance_version: int, tag: str) -> frozenset[str]:
    """An index version never changes once written: its chunk ids can be cached. Keyed by index
    version number too: a rebuilt table reuses LanceDB version numbers for other rows."""
    table = ChunkIndex(uri).table_ref(number, lance_version, tag)
    if table is None:
        return frozenset()
    return frozenset(read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist())


def _removed_chunks(settings: Settings, previous: IndexVersion | None, snapshot: IndexSnapshot) -> frozenset[str]:
    if previous is None:
        return frozenset()
    return _chunk_ids_at(settings, previous) - {c.chunk_id for c in snapshot.chunks}


def question_vectors(ledger: Ledger, embedder: Embedder, questions: Sequence[str]) -> dict[str, np.ndarray]:
    """Embeddings of eval questions, cached in the ledger per model: re-versions embed nothing."""
    keys = {q: hashlib.sha256(q.encode()).hexdigest() for q in questions}
    with ledger.connect() as con:
        rows = con.execute(
            "SELECT question_hash, vector FROM eval_question_vectors WHERE model = ? "
            "AND list_contains(?, question_hash)",
            [embedder.model_id, list(keys.values())],
        ).fetchall()
        cached = {h: np.asarray(v, dtype=np.float32) for h, v in rows}
        missing = [q for q in dict.fromkeys(questions) if keys[q] not in cached]
        if missing:
            fresh = embedder.embed(missing)
            con.executemany(
                "INSERT OR REPLACE INTO eval_question_vectors VALUES (?, ?, ?)",
                [[embedder.model_id, keys[q], v.tolist()] for q, v in zip(missing, fresh, strict=True)],
            )
            cached.update({keys[q]: v for q, v in zip(missing, fresh, strict=True)})
    return {q: cached[keys[q]] for q in questions}


# --- comparison ------------------------------------------------------------------------------


def compare_index_versions(
    settings: Settings, embedder: Embedder | None, eval_set: str, old: int, new: int, split_delta: bool
) -> Comparison | Decomposition:
    """Compare the dev baselines measured on index versions `old` and `new`.

    Plain comparison refuses results with different keys (IncomparableResultsError says which);
    `split_delta` runs the newer eval set version on the older index and splits the delta.
    """
    ledger = Ledger(settings.ledger_path)
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
    ledger = Ledger(settings.ledger_path)
    config = _set_config(settings, before.eval_set)
    eval_set = _load(config)
    versions = {v.index_version: v for v in ledger.index_versions()}
    old_index = versions[before.index_version]
    stored_new = _stored_version(ledger, after.version_hash)
    new_resolutions = _resolutions(ledger, after.version_hash)
    if stored_new.eval_set_hash != eval_set.content_hash:
        raise CorpusgovError(
            f"The eval set file {config.path} changed since eval set version {stored_new.number}; "
            "decompose works on the file as it was. Restore it or compare newer results."
        )
    # Same items as the new version (stale and orphaned stay out), gold chunks as on the old index.
    old_snapshot = index_snapshot(settings, old_index, None)
    on_old = resolve_eval_set(eval_set, old_snapshot, None)
    kept = {
        item_id: on_old.resolutions[item_id] if new_resolutions[item_id].status not in EXCLUDED_STATUSES
        else new_resolutions[item_id]
        for item_id in new_resolutions
    }
    mixed = EvalSetVersion(eval_set.name, eval_set.content_hash, old_index.index_version, kept, after.version_hash)
    k = before.k
    items = [i for i in eval_set.items if i.split == DEV and not kept[i.id].excluded]
    vectors = question_vectors(ledger, embedder, [i.question for i in items])
    search = ChunkIndex(settings.lancedb_uri).searcher(old_index)
    texts = {c.chunk_id: c.text for c in old_snapshot.chunks}
    report = evaluate_retrieval(
        items, mixed.resolutions,
        lambda q, top_k: [RetrievedChunk(h.chunk_id, h.doc_id, h.text, h.score) for h in search(vectors[q], top_k)],
        k, reference_texts=texts,
    )
    new_on_old = EvalResult(
        key=ResultKey(after.version_hash, before.index_version, before.config_hash),
        metrics=dict(report.means),
    )
    return decompose(before.as_eval_result(), new_on_old, after.as_eval_result())


# --- ledger reads and writes -------------------------------------------------------------------


def _load(config: EvalSetConfig) -> EvalSet:
    path = Path(config.path)
    if not path.is_file():
        raise CorpusgovError(
            f"Eval set '{config.name}' points at {path}, which does not exist. Fix evals.sets in corpusgov.yaml."
        )
    eval_set = load_eval_set(path)
    # The configured name is the one users type; the file name is only where it lives.
    return EvalSet(name=config.name, path=eval_set.path, items=eval_set.items, content_hash=eval_set.content_hash)


def _set_config(settings: Settings, name: str) -> EvalSetConfig:
    for config in settings.evals.sets:
        if config.name == name:
            return config
    known = ", ".join(c.name for c in settings.evals.sets) or "none"
    raise CorpusgovError(f"Unknown eval set '{name}'. Eval sets in {settings.config_path}: {known}.")


def _store_version(
    ledger: Ledger, eval_set: EvalSet, version: EvalSetVersion, number: int,
    contaminated: dict[str, list[str]],
) -> StoredVersion:
    now = datetime.now(UTC)
    log = changelog(version)
    splits = {item.id: item.split for item in eval_set.items}
    active = sum(1 for r in version.resolutions.values() if not r.excluded)
    with ledger.connect() as con:
        exists = con.execute(
            "SELECT 1 FROM eval_set_versions WHERE version_hash = ?", [version.version_hash]
        ).fetchone()
        if exists is None:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO eval_set_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [version.version_hash, eval_set.name, number, eval_set.content_hash,
                 version.index_version, now, json.dumps(log), changed_share(version),
                 len(version.resolutions), active],
            )
            resolutions = list(version.resolutions.values())
            # One set-based insert: row-by-row inserts cost more than the resolution itself.
            con.register("new_resolutions", pa.table({
                "version_hash": [version.version_hash] * len(resolutions),
                "item_id": [r.item_id for r in resolutions],
                "split": [splits[r.item_id] for r in resolutions],
                "status": [r.status for r in resolutions],
                "gold_chunk_ids": pa.array([list(r.gold_chunk_ids) for r in resolutions], pa.list_(pa.string())),
                "contested_by": pa.array([list(r.contested_by) for r in resolutions], pa.list_(pa.string())),
                "detail": pa.array([r.detail for r in resolutions], pa.string()),
                "contaminated_by": pa.array(
                    [contaminated.get(r.item_id, []) for r in resolutions], pa.list_(pa.string())
                ),
            }))
            con.execute("INSERT INTO eval_item_resolutions SELECT * FROM new_resolutions")
            con.execute("COMMIT")
    return StoredVersion(eval_set.name, number, version.version_hash, eval_set.content_hash,
                         version.index_version, now, log, changed_share(version),
                         len(version.resolutions), active,
                         frozenset(i for i, split in splits.items() if split == HOLDOUT))


def latest_eval_version(ledger: Ledger, eval_set: str) -> StoredVersion | None:
    versions = eval_versions(ledger, eval_set)
    return versions[0] if versions else None


def eval_versions(ledger: Ledger, eval_set: str) -> list[StoredVersion]:
    with ledger.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT eval_set, number, version_hash, eval_set_hash, index_version, created_at, changelog, "
            "changed_share, items, active_items, (SELECT list(item_id) FROM eval_item_resolutions r "
            "WHERE r.version_hash = v.version_hash AND r.split = ?) FROM eval_set_versions v "
            "WHERE eval_set = ? ORDER BY number DESC",
            [HOLDOUT, eval_set],
        ).fetchall()
    return [
        StoredVersion(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9],
                      frozenset(r[10] or ()))
        for r in rows
    ]


def _stored_version(ledger: Ledger, version_hash: str) -> StoredVersion:
    with ledger.connect(read_only=True) as con:
        name = con.execute(
            "SELECT eval_set FROM eval_set_versions WHERE version_hash = ?", [version_hash]
        ).fetchone()
    if name is None:
        raise CorpusgovError(f"No eval set version {version_hash[:12]} in the ledger.")
    return next(v for v in eval_versions(ledger, name[0]) if v.version_hash == version_hash)


def _resolutions(ledger: Ledger, version_hash: str) -> dict[str, ItemResolution]:
    with ledger.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT item_id, status, gold_chunk_ids, detail, contested_by FROM eval_item_resolutions "
            "WHERE version_hash = ?",
            [version_hash],
        ).fetchall()
    return {
        r[0]: ItemResolution(item_id=r[0], status=r[1], gold_chunk_ids=tuple(r[2]), detail=r[3] or "",
                             contested_by=tuple(r[4]))
        for r in rows
    }


def item_resolutions(ledger: Ledger, version_hash: str) -> list[dict[str, Any]]:
    return ledger.records(
        "SELECT item_id, split, status, gold_chunk_ids, contested_by, detail, contaminated_by "
        "FROM eval_item_resolutions WHERE version_hash = ? ORDER BY item_id",
        [version_hash],
    )


def _store_result(ledger: Ledger, result: StoredResult) -> None:
    with ledger.connect() as con:
        con.execute(
            "INSERT INTO eval_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.result_id, result.eval_set, result.eval_set_version, result.version_hash,
             result.index_version, result.config_hash, result.split, result.k, result.created_at,
             json.dumps(result.metrics), json.dumps(result.per_item), json.dumps(result.generation),
             result.superseded_reason],
        )


def eval_results(ledger: Ledger, eval_set: str, split: str = DEV) -> list[StoredResult]:
    """Results of one split, newest first."""
    with ledger.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT result_id, eval_set, eval_set_version, eval_set_version_hash, index_version, "
            "config_hash, split, k, created_at, metrics, per_item, generation, superseded_reason "
            "FROM eval_results WHERE eval_set = ? AND split = ? ORDER BY created_at DESC",
            [eval_set, split],
        ).fetchall()
    return [
        StoredResult(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]),
                     json.loads(r[10]), json.loads(r[11]), r[12])
        for r in rows
    ]


def latest_result(ledger: Ledger, eval_set: str, split: str) -> StoredResult | None:
    results = eval_results(ledger, eval_set, split)
    return results[0] if results else None


def result_on_index(ledger: Ledger, eval_set: str, index_version: int) -> StoredResult:
    for result in eval_results(ledger, eval_set, DEV):
        if result.index_version == index_version:
            return result
    measured = sorted({r.index_version for r in eval_results(ledger, eval_set, DEV)})
    raise CorpusgovError(
        f"No {eval_set} baseline on index version {index_version}. Baselines exist on: "
        f"{', '.join(map(str, measured)) or 'none'}."
    )


def _count_exposures(ledger: Ledger, eval_set: str, item_ids: list[str]) -> None:
    now = datetime.now(UTC)
    with ledger.connect() as con:
        con.executemany(
            "INSERT INTO holdout_exposures VALUES (?, ?, 1, ?) ON CONFLICT (eval_set, item_id) "
            "DO UPDATE SET exposures = exposures + 1, last_exposed_at = excluded.last_exposed_at",
            [[eval_set, item_id, now] for item_id in item_ids],
        )


def holdout_exposures(ledger: Ledger, eval_set: str) -> dict[str, int]:
    with ledger.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT item_id, exposures FROM holdout_exposures WHERE eval_set = ?", [eval_set]
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def eval_events(ledger: Ledger) -> list[dict[str, Any]]:
    return ledger.records(
        "SELECT event_id, eval_set, kind, created_at, message, details FROM eval_events ORDER BY created_at"
    )


def rebaseline(settings: Settings, embedder: Embedder, eval_set_name: str, split: str = DEV) -> StoredResult:
    """Score the latest eval set version again on its index (holdout only when asked: counted)."""
    ledger = Ledger(settings.ledger_path)
    config = _set_config(settings, eval_set_name)
    eval_set = _load(config)
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
    resolutions = _resolutions(ledger, stored.version_hash)
    version = EvalSetVersion(eval_set.name, eval_set.content_hash, stored.index_version, resolutions, stored.version_hash)
    previous = next((r for r in eval_results(ledger, config.name, split) if r.version_hash == stored.version_hash), None)
    result, _, _ = run_baseline(settings, embedder, eval_set, stored, version, snapshot, index_version, split)
    if split == DEV and previous is not None and previous.key == result.key:
        drops = detect_regression(previous.as_eval_result(), result.as_eval_result(), settings.evals.regression_threshold)
        if drops:
            record_eval_event(
                ledger, config.name, "regression",
                f"Eval set {config.name}: regression between comparable results on index "
                f"v{result.index_version}: {'; '.join(drops)}",
                {"before": previous.result_id, "after": result.result_id, "drops": drops},
            )
    return result


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n) or "no changes"



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
    version = {v.index_version: v for v in Ledger(settings.ledger_path).index_versions()}[result.index_version]
    table = ChunkIndex(settings.lancedb_uri).table_at(version)
    if table is None:
        return Amplification(result.index_version, 0.0, 0.0)
    data = read_columns(table, ["chunk_id", "provenance"])
    labels = dict(zip(
        data.column("chunk_id").to_pylist(), data.column("provenance").to_pylist(), strict=True
    ))
    retrieved = [chunk_id for row in result.per_item for chunk_id, _ in row["retrieved"]]
    ai = ProvenanceLabel.AI_GENERATED
    in_results = sum(1 for c in retrieved if labels.get(c) == ai)
    in_corpus = sum(1 for label in labels.values() if label == ai)
    return Amplification(
        index_version=result.index_version,
        retrieved_share=in_results / len(retrieved) if retrieved else 0.0,
        corpus_share=in_corpus / len(labels) if labels else 0.0,
    )
