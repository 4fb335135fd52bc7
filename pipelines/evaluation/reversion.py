"""Re-versioning: every index change binds each eval set to the new index version, and scores it.

Called after each index commit (the Dagster `eval_set_versions` and `eval_baselines` assets,
`corpusgov ingest`). An index that did not change re-versions nothing. When more than
`evals.rebaseline_share` of the items changed status, the older baselines are superseded; a
metric that moved is split into what the eval set change and the index change each did before
anyone calls it a regression.
"""

from dataclasses import dataclass
from typing import Any

from evals import EvalSet, EvalSetVersion, IndexSnapshot, find_contamination, resolve_eval_set
from evals.comparison import Decomposition
from evals.generation import GENERATION_METRICS
from evals.sets import DEV
from pipelines.embedding.model import Embedder
from pipelines.errors import IndexVersionUnavailableError
from pipelines.evaluation.baseline import BaselineTask, run_baseline
from pipelines.evaluation.compare import decompose_results
from pipelines.evaluation.configured import counts_text, load_configured_set
from pipelines.evaluation.generation import generation_key
from pipelines.evaluation.snapshots import index_snapshot, narrowed, removed_chunks
from pipelines.ledger import IndexVersion, Ledger
from pipelines.ledger.evals import (
    StoredResult,
    StoredVersion,
    eval_results,
    item_resolutions,
    latest_eval_version,
    record_eval_event,
    resolutions_of,
    store_version,
    supersede_results,
)
from pipelines.settings import Settings


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

    def line(self) -> str:
        """One line for a person: the eval set version, its index version, its active items."""
        v = self.version
        return (
            f"Eval set {v.eval_set} v{v.number} bound to index v{v.index_version}: "
            f"{v.active_items}/{v.items} items active" + (f"; {self.event}" if self.event else "")
        )


def reversion_eval_sets(settings: Settings, embedder: Embedder) -> list[Reversion]:
    """Bind every eval set to the latest index version, then score what is new: the two steps
    the Dagster assets `eval_set_versions` and `eval_baselines` take, in one call (the CLI)."""
    version_eval_sets(settings)
    return baseline_eval_sets(settings, embedder)


def version_eval_sets(settings: Settings) -> list[StoredVersion]:
    """Step 1: re-resolve each eval set against the latest index version and store the new
    version (a no-op when it is already bound to it). Needs no model. When more than
    `rebaseline_share` of the items changed status, the older baselines are superseded."""
    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    if latest is None:
        return []
    done: list[StoredVersion] = []
    for config in settings.evals.sets:
        eval_set = load_configured_set(config)
        last = latest_eval_version(ledger, config.name)
        if (
            last
            and last.index_version == latest.index_version
            and last.eval_set_hash == eval_set.content_hash
        ):
            continue
        done.append(_new_version(settings, ledger, eval_set, latest, last))
    return done


def _new_version(
    settings: Settings,
    ledger: Ledger,
    eval_set: EvalSet,
    latest: IndexVersion,
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
        previous = resolutions_of(ledger, last.version_hash)
        version = resolve_eval_set(eval_set, narrowed(snapshot, eval_set), previous)
        contaminated = _carried_contamination(ledger, last, snapshot, eval_set)
    stored = store_version(ledger, eval_set, version, (last.number + 1) if last else 1, contaminated)
    if last is not None and stored.changed_share > settings.evals.rebaseline_share:
        _supersede(ledger, eval_set.name, stored, stored.changed_share)
    return stored


def baseline_eval_sets(settings: Settings, embedder: Embedder) -> list[Reversion]:
    """Step 2: score each eval set's latest version on its index, once (a no-op when that
    result exists with the configured judge and answers). Unchanged items reuse the previous live
    baseline's top-k where they can."""
    ledger = Ledger.of(settings)
    indexes = {v.index_version: v for v in ledger.index_versions()}
    # A judge configured (or changed, or new answers) since the last baseline scores it again.
    expected = generation_key(settings) if settings.evals.sets else ("", "")
    done: list[Reversion] = []
    for config in settings.evals.sets:
        stored = latest_eval_version(ledger, config.name)
        if stored is None or stored.index_version not in indexes:
            continue
        results = eval_results(ledger, config.name, DEV)
        if any(
            (r.version_hash, r.index_version, r.judge, r.answers_fingerprint)
            == (stored.version_hash, stored.index_version, *expected)
            for r in results
        ):
            continue
        eval_set = load_configured_set(config)
        if eval_set.content_hash != stored.eval_set_hash:
            continue  # the file changed since: step 1 re-versions it first
        done.append(_baseline(settings, ledger, embedder, eval_set, stored, indexes, results))
    return done


def _baseline(
    settings: Settings,
    ledger: Ledger,
    embedder: Embedder,
    eval_set: EvalSet,
    stored: StoredVersion,
    indexes: dict[int, IndexVersion],
    results: list[StoredResult],
) -> Reversion:
    latest = indexes[stored.index_version]
    previous_result = results[0] if results else None
    superseded = previous_result is not None and previous_result.superseded_reason is not None
    previous_index = indexes.get(previous_result.index_version) if previous_result else None
    snapshot = index_snapshot(settings, latest, previous_index)
    version = EvalSetVersion(
        eval_set.name,
        eval_set.content_hash,
        stored.index_version,
        resolutions_of(ledger, stored.version_hash),
        stored.version_hash,
    )
    reuse = None if superseded else previous_result
    try:
        removed = removed_chunks(settings, previous_index, snapshot)
    except IndexVersionUnavailableError:
        # The previous result's index was cleaned up or rebuilt away: which of its chunks left is
        # unknown, so none of its top-k is reused. Every item is scored afresh.
        removed, reuse = frozenset(), None
    task = BaselineTask(
        eval_set, stored, version, snapshot, latest, DEV, reuse=reuse, removed_chunk_ids=removed
    )
    result, rescored, reused = run_baseline(settings, embedder, task)
    event = _record_reversion_event(
        settings,
        ledger,
        embedder,
        eval_set,
        stored,
        stored.changed_share,
        superseded,
        previous_result,
        result,
    )
    contaminated = {
        row.item_id: list(row.contaminated_by)
        for row in item_resolutions(ledger, stored.version_hash)
        if row.contaminated_by
    }
    return Reversion(stored, superseded, result, rescored, reused, contaminated, event)


def _carried_contamination(
    ledger: Ledger, last: StoredVersion, snapshot: IndexSnapshot, eval_set: EvalSet
) -> dict[str, list[str]]:
    """Earlier flags whose chunks are still indexed, plus flags from the chunks that entered."""
    live = {c.chunk_id for c in snapshot.chunks}
    flagged: dict[str, set[str]] = {}
    for row in item_resolutions(ledger, last.version_hash):
        kept = {c for c in row.contaminated_by if c in live}
        if kept:
            flagged[row.item_id] = kept
    added = [c for c in snapshot.chunks if c.chunk_id in snapshot.added_chunk_ids]
    for item_id, chunk_ids in find_contamination(eval_set, added).items():
        flagged.setdefault(item_id, set()).update(chunk_ids)
    return {item_id: sorted(ids) for item_id, ids in sorted(flagged.items())}


def _supersede(ledger: Ledger, eval_set: str, version: StoredVersion, share: float) -> None:
    counts = {status: len(ids) for status, ids in version.changelog.items() if ids}
    reason = (
        f"eval set {eval_set} v{version.number} on index v{version.index_version}: "
        f"{share:.0%} of items changed status ({counts_text(counts)})"
    )
    supersede_results(ledger, eval_set, version.number, reason)


def _record_reversion_event(
    settings: Settings,
    ledger: Ledger,
    embedder: Embedder,
    eval_set: EvalSet,
    version: StoredVersion,
    share: float,
    superseded: bool,
    previous: StoredResult | None,
    result: StoredResult,
) -> str | None:
    """Say what happened in words a person reads in an alert: a re-baseline, a regression the
    index caused, or a drop the eval set change explains (a phantom regression)."""
    if previous is None:
        return None
    deltas = watched_deltas(previous, result)
    details: dict[str, Any] = {
        "eval_set_version": version.number,
        "index_version": version.index_version,
        "changed_share": share,
        "changelog": version.routine_changelog(),
        "holdout_by_status": version.holdout_counts(),
        "previous_result": previous.result_id,
        "result": result.result_id,
        "plain_delta": {m: round(d, 4) for m, d in deltas.items()},
    }
    threshold = settings.evals.regression_threshold
    if superseded:
        kind = "rebaseline"
        message = (
            f"Eval set {eval_set.name} re-baselined on index v{version.index_version}: {share:.0%} of "
            f"items changed status ({counts_text({s: len(i) for s, i in version.changelog.items() if i})}); "
            f"the baseline from index v{previous.index_version} is superseded and not comparable."
        )
    elif any(d < -threshold for d in deltas.values()):
        # Not comparable as-is (different keys): split the delta before anyone calls it a regression.
        split = decompose_results(settings, embedder, previous, result)
        kind, message = _explained_drop(eval_set.name, previous, result, split, deltas, threshold)
        details["decomposition"] = {
            m: {"eval_set_changed": round(d.eval_set_changed, 4), "index_changed": round(d.index_changed, 4)}
            for m, d in split.deltas.items()
            if m in deltas
        }
        details["not_decomposed"] = dict(split.refused)
    else:
        return None
    record_eval_event(ledger, eval_set.name, kind, message, details)
    return message


def watched_deltas(previous: StoredResult, result: StoredResult) -> dict[str, float]:
    """How each watched metric moved from `previous` to `result`: nDCG@k, and the generation
    metrics when one judge scored both on the same answers (another judge's numbers are not a
    drop, whatever they say)."""
    judged_alike = (previous.judge, previous.answers_fingerprint) == (
        result.judge,
        result.answers_fingerprint,
    )
    watched = [
        f"ndcg@{result.k}",
        *(m for m in GENERATION_METRICS if judged_alike and m in result.metrics and m in previous.metrics),
    ]
    return {m: result.metrics.get(m, 0.0) - previous.metrics.get(m, 0.0) for m in watched}


def drops_caused_by_the_index(
    settings: Settings, embedder: Embedder, previous: StoredResult, result: StoredResult
) -> list[str]:
    """The watched metrics that fell by more than `evals.regression_threshold` from `previous` to
    `result` because the index changed (the eval set change taken out by a decomposition), or
    that fell and cannot be split: one line each. Empty when nothing fell that far."""
    threshold = settings.evals.regression_threshold
    deltas = watched_deltas(previous, result)
    dropped = [m for m, d in deltas.items() if d < -threshold]
    if not dropped:
        return []
    split = decompose_results(settings, embedder, previous, result)
    lines = []
    for metric in dropped:
        part = split.deltas.get(metric)
        if part is None:
            lines.append(
                f"{metric} {signed(deltas[metric])} cannot be split: {split.refused.get(metric, 'not measured')}"
            )
        elif part.index_changed < -threshold:
            lines.append(
                f"{metric} {signed(part.index_changed)} from the index changing (of {signed(deltas[metric])})"
            )
    return lines


def signed(value: float) -> str:
    """A delta as people read it: +0.000, never -0.000 for a rounding crumb."""
    return f"{round(value, 3) or 0.0:+.3f}"


def _explained_drop(
    name: str,
    previous: StoredResult,
    result: StoredResult,
    split: Decomposition,
    deltas: dict[str, float],
    threshold: float,
) -> tuple[str, str]:
    """The event for a drop beyond the threshold: "regression" when the index itself made a
    watched metric fall that much, "unexplained_drop" when a metric that fell cannot be split,
    else "index_change_delta" (the eval set change explains it: a phantom regression)."""
    dropped = [m for m, d in deltas.items() if d < -threshold]
    parts = "; ".join(
        f"{m} {signed(deltas[m])} = {signed(split.deltas[m].eval_set_changed)} from the eval set changing "
        f"{signed(split.deltas[m].index_changed)} from the index changing"
        for m in dropped
        if m in split.deltas
    )
    unsplit = {
        m: split.refused.get(m, "not measured when the new eval set ran on the old index")
        for m in dropped
        if m not in split.deltas
    }
    moved = f"from index v{previous.index_version} to v{result.index_version}"
    caused = [m for m in dropped if m in split.deltas and split.deltas[m].index_changed < -threshold]
    unsplit_text = "; ".join(f"{m} {signed(deltas[m])} cannot be split: {why}" for m, why in unsplit.items())
    if caused:
        extra = f"; {unsplit_text}" if unsplit else ""
        return "regression", (
            f"Eval set {name}: regression caused by the index {moved}: {parts}{extra} (same eval set "
            "on both indexes)."
        )
    if unsplit:
        return "unexplained_drop", (
            f"Eval set {name}: metrics fell {moved} and cannot be attributed: {unsplit_text}"
            + (f"; {parts}" if parts else "")
            + ". Neither a regression nor a phantom until measured again."
        )
    # "Explained" only when the eval set change carries most of each drop.
    explained = all(split.deltas[m].eval_set_changed <= deltas[m] / 2 for m in dropped)
    how = (
        "explained by the eval set changing, not a regression"
        if explained
        else f"split between the eval set and the index changing, neither beyond {threshold:g}"
    )
    return (
        "index_change_delta",
        f"Eval set {name}: metrics moved {moved}, {how}: {parts} (same eval set on both indexes).",
    )
