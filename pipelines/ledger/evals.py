"""Eval set versions, results, holdout exposures and eval events: the ledger's eval tables.

Every statement about them is here; pipelines/evaluation/ decides what to store and when.
Results are append-only: a result is superseded (with the reason), never rewritten.
"""

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from evals import EvalResult, EvalSet, EvalSetVersion, ItemResolution, ResultKey, changed_share, changelog
from evals.generation import GenerationSummary, ItemGeneration
from evals.resolution import ResolutionStatus
from evals.sets import DEV, HOLDOUT
from pipelines.errors import CorpusgovError
from pipelines.ledger import Ledger
from pipelines.ledger.rows import (
    DERIVED,
    column,
    insert_statement,
    named_rows,
    parameters,
    records,
    select_list,
)
from pipelines.ledger.schema import has_column, has_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemScore:
    """One item of a stored result (a row of its `per_item` JSON): its top k as retrieved, its
    retrieval metrics, and its generation scores (None where the result judged none)."""

    item_id: str
    status: str  # its resolution status in the eval set version
    retrieved: tuple[tuple[str, float], ...]  # (chunk id, score), best first
    scores: dict[str, float]  # retrieval metric -> value
    contested_retrieved: tuple[str, ...] = ()
    generation: ItemGeneration | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "status": self.status,
            "retrieved": [[chunk_id, score] for chunk_id, score in self.retrieved],
            "scores": dict(self.scores),
            "contested_retrieved": list(self.contested_retrieved),
            "generation": self.generation.as_json() if self.generation is not None else None,
        }

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> "ItemScore":
        # Rows from before generation metrics have no `generation`.
        generation = payload.get("generation")
        return cls(
            item_id=payload["item_id"],
            status=payload["status"],
            retrieved=tuple((chunk_id, score) for chunk_id, score in payload["retrieved"]),
            scores=dict(payload["scores"]),
            contested_retrieved=tuple(payload.get("contested_retrieved", ())),
            generation=ItemGeneration.from_json(generation) if generation is not None else None,
        )


@dataclass(frozen=True)
class StoredResult:
    """An eval result as the ledger keeps it (append-only)."""

    result_id: str
    eval_set: str
    eval_set_version: int
    version_hash: str = field(metadata=column("eval_set_version_hash"))
    index_version: int
    config_hash: str
    split: str
    k: int
    created_at: datetime
    metrics: dict[str, float]
    per_item: tuple[ItemScore, ...]
    generation: GenerationSummary
    superseded_reason: str | None
    judge: str = ""  # empty: no LLM judge (evals/generation.py's judge_fingerprint otherwise)
    answers_fingerprint: str = ""  # empty: no app answers (evals/answers.py)

    @property
    def key(self) -> ResultKey:
        return ResultKey(
            self.version_hash, self.index_version, self.config_hash, self.judge, self.answers_fingerprint
        )

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
            "judge": self.judge or None,
            "answers_fingerprint": self.answers_fingerprint or None,
            "split": self.split,
            "k": self.k,
            "created_at": self.created_at.isoformat(),
            "metrics": self.metrics,
            "generation": self.generation.as_json(),
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
    # The holdout's item ids, from eval_item_resolutions (`eval_versions`).
    holdout_ids: frozenset[str] = field(default=frozenset(), metadata=DERIVED)

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
            "eval_set": self.eval_set,
            "version": self.number,
            "version_hash": self.version_hash,
            "eval_set_hash": self.eval_set_hash,
            "index_version": self.index_version,
            "created_at": self.created_at.isoformat(),
            "changelog": self.routine_changelog(),
            "holdout_by_status": self.holdout_counts(),
            "changed_share": round(self.changed_share, 4),
            "items": self.items,
            "active_items": self.active_items,
        }


def store_version(
    ledger: Ledger,
    eval_set: EvalSet,
    version: EvalSetVersion,
    number: int,
    contaminated: dict[str, list[str]],
) -> StoredVersion:
    now = datetime.now(UTC)
    log = changelog(version)
    splits = {item.id: item.split for item in eval_set.items}
    active = sum(1 for r in version.resolutions.values() if not r.excluded)
    stored = StoredVersion(
        eval_set=eval_set.name,
        number=number,
        version_hash=version.version_hash,
        eval_set_hash=eval_set.content_hash,
        index_version=version.index_version,
        created_at=now,
        changelog=log,
        changed_share=changed_share(version),
        items=len(version.resolutions),
        active_items=active,
        holdout_ids=frozenset(i for i, split in splits.items() if split == HOLDOUT),
    )
    with ledger.connect() as con:
        exists = named_rows(
            con, "SELECT version_hash FROM eval_set_versions WHERE version_hash = ?", [version.version_hash]
        )
        if not exists:
            con.execute("BEGIN TRANSACTION")
            con.execute(insert_statement("eval_set_versions", StoredVersion), parameters(stored))
            # One set-based insert: row-by-row inserts cost more than the resolution itself.
            resolutions = _resolutions_table(version, splits, contaminated)
            names = ", ".join(resolutions.column_names)
            con.register("new_resolutions", resolutions)
            con.execute(f"INSERT INTO eval_item_resolutions ({names}) SELECT {names} FROM new_resolutions")
            con.execute("COMMIT")
    return stored


def _resolutions_table(
    version: EvalSetVersion, splits: Mapping[str, str], contaminated: Mapping[str, list[str]]
) -> pa.Table:
    resolutions = list(version.resolutions.values())
    return pa.table(
        {
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
        }
    )


def latest_eval_version(ledger: Ledger, eval_set: str) -> StoredVersion | None:
    versions = eval_versions(ledger, eval_set)
    return versions[0] if versions else None


def eval_versions(ledger: Ledger, eval_set: str) -> list[StoredVersion]:
    holdout_ids = (
        "(SELECT array_agg(item_id) FROM eval_item_resolutions r "
        "WHERE r.version_hash = v.version_hash AND r.split = ?)"
    )
    with ledger.connect(read_only=True) as con:
        return records(
            con,
            StoredVersion,
            f"SELECT {select_list(StoredVersion, 'v.', holdout_ids=holdout_ids)} FROM eval_set_versions v "
            "WHERE eval_set = ? ORDER BY number DESC",
            [HOLDOUT, eval_set],
        )


def stored_version(ledger: Ledger, version_hash: str) -> StoredVersion:
    with ledger.connect(read_only=True) as con:
        found = named_rows(
            con, "SELECT eval_set FROM eval_set_versions WHERE version_hash = ?", [version_hash]
        )
    if not found:
        raise CorpusgovError(f"No eval set version {version_hash[:12]} in the ledger.")
    return next(v for v in eval_versions(ledger, found[0]["eval_set"]) if v.version_hash == version_hash)


def resolutions_of(ledger: Ledger, version_hash: str) -> dict[str, ItemResolution]:
    """The stored version's resolutions as the evals library compares them."""
    return {
        r.item_id: ItemResolution(
            item_id=r.item_id,
            status=r.status,
            gold_chunk_ids=r.gold_chunk_ids,
            detail=r.detail or "",
            contested_by=r.contested_by,
        )
        for r in item_resolutions(ledger, version_hash)
    }


@dataclass(frozen=True)
class ItemResolutionRow:
    """One item's resolution in one stored eval set version (`evals diff`, contamination)."""

    item_id: str
    split: str
    status: ResolutionStatus
    gold_chunk_ids: tuple[str, ...]
    contested_by: tuple[str, ...]
    detail: str | None
    contaminated_by: tuple[str, ...]


def item_resolutions(ledger: Ledger, version_hash: str) -> list[ItemResolutionRow]:
    with ledger.connect(read_only=True) as con:
        return records(
            con,
            ItemResolutionRow,
            f"SELECT {select_list(ItemResolutionRow)} FROM eval_item_resolutions WHERE version_hash = ? "
            "ORDER BY item_id",
            [version_hash],
        )


def store_result(ledger: Ledger, result: StoredResult) -> None:
    with ledger.connect() as con:
        con.execute(insert_statement("eval_results", StoredResult), parameters(result))


def eval_results(ledger: Ledger, eval_set: str, split: str = DEV) -> list[StoredResult]:
    """Results of one split, newest first."""
    with ledger.connect(read_only=True) as con:
        # A reader that could not upgrade an older ledger (another process holds it) sees results
        # from before generation metrics: no judge, no answers.
        keyed = (
            {}
            if has_column(con, "eval_results", "judge")
            else {"judge": "NULL", "answers_fingerprint": "NULL"}
        )
        return records(
            con,
            StoredResult,
            f"SELECT {select_list(StoredResult, **keyed)} FROM eval_results WHERE eval_set = ? AND split = ? "
            "ORDER BY created_at DESC",
            [eval_set, split],
        )


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


def count_exposures(ledger: Ledger, eval_set: str, item_ids: list[str]) -> None:
    now = datetime.now(UTC)
    with ledger.connect() as con:
        con.executemany(
            "INSERT INTO holdout_exposures (eval_set, item_id, exposures, last_exposed_at) "
            "VALUES (?, ?, 1, ?) ON CONFLICT (eval_set, item_id) "
            "DO UPDATE SET exposures = holdout_exposures.exposures + 1, last_exposed_at = excluded.last_exposed_at",
            [[eval_set, item_id, now] for item_id in item_ids],
        )


def holdout_exposures(ledger: Ledger, eval_set: str) -> dict[str, int]:
    with ledger.connect(read_only=True) as con:
        rows = named_rows(
            con, "SELECT item_id, exposures FROM holdout_exposures WHERE eval_set = ?", [eval_set]
        )
    return {row["item_id"]: row["exposures"] for row in rows}


def record_eval_event(
    ledger: Ledger, eval_set: str, kind: str, message: str, details: dict[str, Any]
) -> None:
    with ledger.connect() as con:
        con.execute(
            "INSERT INTO eval_events (event_id, eval_set, kind, created_at, message, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                uuid.uuid4().hex[:16],
                eval_set,
                kind,
                datetime.now(UTC),
                message,
                json.dumps(details, default=str),
            ],
        )


def supersede_results(ledger: Ledger, eval_set: str, before_version: int, reason: str) -> None:
    """Mark the live results of `eval_set` versions before `before_version` superseded: too many
    items changed status for them to be compared with what comes next."""
    with ledger.connect() as con:
        con.execute(
            "UPDATE eval_results SET superseded_reason = ? WHERE eval_set = ? AND superseded_reason IS NULL "
            "AND eval_set_version < ?",
            [reason, eval_set, before_version],
        )


def cached_question_vectors(
    ledger: Ledger, model_id: str, question_hashes: Sequence[str]
) -> dict[str, np.ndarray]:
    """The question vectors the ledger holds for `model_id`, by question hash."""
    with ledger.connect(read_only=True) as con:
        rows = named_rows(
            con,
            "SELECT question_hash, vector FROM eval_question_vectors WHERE model = ? "
            "AND list_contains(?, question_hash)",
            [model_id, list(question_hashes)],
        )
    return {row["question_hash"]: np.asarray(row["vector"], dtype=np.float32) for row in rows}


def store_question_vectors(ledger: Ledger, model_id: str, vectors: dict[str, np.ndarray]) -> None:
    with ledger.connect() as con:
        con.executemany(
            "INSERT INTO eval_question_vectors (model, question_hash, vector) VALUES (?, ?, ?) "
            "ON CONFLICT (model, question_hash) "
            "DO UPDATE SET vector = excluded.vector",
            [[model_id, question_hash, v.tolist()] for question_hash, v in vectors.items()],
        )


class LedgerJudgeCache:
    """Judge completions kept in the ledger by call key (evals/judge.py's JudgeCache): a
    re-baseline asks the judge only what it was never asked.

    The model's rows are read once, when the first key is looked up: one query instead of one per
    call. New completions are written 32 at a time and at the end of judging, so a stopped run
    keeps nearly all it paid for. The cache never fails judging: a ledger it cannot read or write
    only means asking the judge again.
    """

    BATCH = 32

    def __init__(self, ledger: Ledger, model: str) -> None:
        self._ledger = ledger
        self._model = model
        self._known: dict[str, list[str]] | None = None
        self._pending: dict[str, list[str]] = {}
        self._forgotten: set[str] = set()

    def get(self, key: str) -> list[str] | None:
        if self._known is None:
            self._known = self._load()
        found = self._pending.get(key)
        if found is None:
            found = self._known.get(key)
        return list(found) if found is not None else None

    def put(self, key: str, model: str, completions: list[str]) -> None:
        # A key forgotten earlier stays in _forgotten: flush deletes the stored reply first.
        self._pending[key] = completions
        if len(self._pending) >= self.BATCH:
            self.flush()

    def forget(self, keys: list[str]) -> None:
        for key in keys:
            self._pending.pop(key, None)
            if self._known is not None:
                self._known.pop(key, None)
        self._forgotten.update(keys)

    def flush(self) -> None:
        pending, forgotten = self._pending, self._forgotten
        self._pending, self._forgotten = {}, set()
        if not pending and not forgotten:
            return
        try:
            with self._ledger.connect() as con:
                if forgotten:
                    con.execute(
                        "DELETE FROM judge_calls WHERE list_contains(?, call_key)", [sorted(forgotten)]
                    )
                if pending:
                    now = datetime.now(UTC)
                    con.executemany(
                        "INSERT INTO judge_calls (call_key, model, completions, created_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (call_key) DO NOTHING",
                        [[key, self._model, json.dumps(texts), now] for key, texts in pending.items()],
                    )
        except Exception as err:  # never fails judging: a reply not kept is only asked again
            logger.warning("judge replies not kept in the ledger (asked again next time): %s", err)
            return
        if self._known is not None:
            self._known.update(pending)

    def _load(self) -> dict[str, list[str]]:
        try:
            with self._ledger.connect(read_only=True) as con:
                if not has_table(con, "judge_calls"):
                    return {}
                rows = named_rows(
                    con, "SELECT call_key, completions FROM judge_calls WHERE model = ?", [self._model]
                )
        except Exception as err:  # never fails judging: an unreadable cache is an empty one
            logger.warning("judge replies cannot be read from the ledger (asking the judge): %s", err)
            return {}
        return {row["call_key"]: list(json.loads(row["completions"])) for row in rows}
