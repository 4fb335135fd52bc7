"""Re-resolving an eval set's gold evidence against one index version.

Each item's gold passages are looked up in the chunks of their gold documents and compared with
the item's resolution at the previous index version:

- `orphaned`  a gold document is not indexed any more;
- `stale`     a gold passage is in no chunk of its document (the document changed and the passage
              is gone, or the quote never matched): excluded from metrics until someone reviews it;
- `contested` a chunk from another document contains a gold passage near-verbatim, and that chunk
              entered in this version (or, for an item seen for the first time, is anywhere in the
              index): retrieval may now return it instead of the gold chunk;
- `remapped`  the passages were found, in other chunk ids than before;
- `unchanged` found in the same chunk ids as before;
- `resolved`  found, and the item has no previous resolution.
Statuses are checked in that order; an item with several gold passages takes the first that
applies to any of them. `contested_by` keeps competing chunks from earlier versions while they
are still indexed, so an item stays marked after the version that made it `contested`.

Matching uses `evals.near_verbatim`: normalised substring inside one chunk, or else across
consecutive chunks of the gold document. The snapshot lists each document's chunks in reading
order; they are joined with one space, or, when a chunk starts with the last 16+ characters of the
previous one (chunker overlap), with that overlap counted once. A passage found across a boundary
resolves to the smallest run of consecutive chunks that covers it.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

from evals.errors import EvalResolutionError
from evals.near_verbatim import NearVerbatimMatcher, normalise_text
from evals.sets import EvalItem, EvalSet

ResolutionStatus = Literal["resolved", "unchanged", "remapped", "stale", "orphaned", "contested"]
STATUSES: tuple[str, ...] = get_args(ResolutionStatus)
EXCLUDED_STATUSES: frozenset[str] = frozenset({"stale", "orphaned"})
UNCHANGED_STATUSES: frozenset[str] = frozenset({"unchanged", "resolved"})
_MIN_OVERLAP = 16
_MAX_OVERLAP = 4000


@dataclass(frozen=True)
class IndexedChunk:
    """One chunk as stored in the index."""

    chunk_id: str
    doc_id: str
    text: str


@dataclass(frozen=True)
class IndexSnapshot:
    """What the index holds at one version; built by the pipeline from the ledger and LanceDB.

    `chunks` lists each document's chunks in reading order.
    """

    index_version: int
    doc_hashes: dict[str, str]
    chunks: tuple[IndexedChunk, ...]
    added_chunk_ids: frozenset[str]


@dataclass(frozen=True)
class ItemResolution:
    """Where one item's gold evidence is in one index version, and what changed since the last."""

    item_id: str
    status: ResolutionStatus
    gold_chunk_ids: tuple[str, ...]
    detail: str
    contested_by: tuple[str, ...] = ()

    @property
    def excluded(self) -> bool:
        """Whether the item is left out of metrics (stale or orphaned) until reviewed."""
        return self.status in EXCLUDED_STATUSES

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json` reads it back."""
        return {
            "item_id": self.item_id,
            "status": self.status,
            "gold_chunk_ids": list(self.gold_chunk_ids),
            "detail": self.detail,
            "contested_by": list(self.contested_by),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ItemResolution":
        """Rebuild a resolution stored with `as_json` (e.g. the previous version's, from the ledger)."""
        return cls(
            item_id=data["item_id"],
            status=data["status"],
            gold_chunk_ids=tuple(data["gold_chunk_ids"]),
            detail=data["detail"],
            contested_by=tuple(data.get("contested_by", ())),
        )


@dataclass(frozen=True)
class EvalSetVersion:
    """An eval set resolved against one index version. Immutable; `version_hash` is a sha256 over
    the eval set hash, the index version and every resolution."""

    eval_set_name: str
    eval_set_hash: str
    index_version: int
    resolutions: Mapping[str, ItemResolution]
    version_hash: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict with resolutions in item id order."""
        return {
            "eval_set_name": self.eval_set_name,
            "eval_set_hash": self.eval_set_hash,
            "index_version": self.index_version,
            "version_hash": self.version_hash,
            "resolutions": [self.resolutions[i].as_json() for i in sorted(self.resolutions)],
        }


def resolve_eval_set(
    eval_set: EvalSet,
    snapshot: IndexSnapshot,
    previous: Mapping[str, ItemResolution] | None,
) -> EvalSetVersion:
    """Resolve every item of `eval_set` against `snapshot`, relative to `previous` (None the first time)."""
    previous = previous or {}
    doc_chunks: dict[str, list[IndexedChunk]] = defaultdict(list)
    for chunk in snapshot.chunks:
        doc_chunks[chunk.doc_id].append(chunk)
    normalised = {chunk.chunk_id: normalise_text(chunk.text) for chunk in snapshot.chunks}
    competitors = _competitors(eval_set.items, snapshot, previous)
    live_chunk_ids = frozenset(normalised)

    resolutions: dict[str, ItemResolution] = {}
    for item in eval_set.items:
        resolutions[item.id] = _resolve_item(
            item,
            snapshot,
            doc_chunks,
            normalised,
            previous.get(item.id),
            competitors.get(item.id, set()),
            live_chunk_ids,
        )
    return _version(eval_set.name, eval_set.content_hash, snapshot.index_version, resolutions)


def changelog(version: EvalSetVersion) -> dict[str, list[str]]:
    """Item ids by status, every status present as a key, ids sorted."""
    by_status: dict[str, list[str]] = {status: [] for status in STATUSES}
    for item_id in sorted(version.resolutions):
        by_status[version.resolutions[item_id].status].append(item_id)
    return by_status


def changed_share(version: EvalSetVersion) -> float:
    """Share of items whose status is not `unchanged` (a first-time `resolved` is not a change)."""
    if not version.resolutions:
        return 0.0
    changed = sum(1 for r in version.resolutions.values() if r.status not in UNCHANGED_STATUSES)
    return changed / len(version.resolutions)


def active_items(
    version: EvalSetVersion, eval_set: EvalSet, splits: Iterable[str] = ("dev",)
) -> tuple[EvalItem, ...]:
    """Items that count in metrics: in `splits` (holdout only when asked), not stale or orphaned."""
    if version.eval_set_hash != eval_set.content_hash:
        raise EvalResolutionError(
            f"eval set version {version.version_hash[:12]} was resolved from different content than "
            f"{eval_set.path} (hash {version.eval_set_hash[:12]} vs {eval_set.content_hash[:12]}); "
            "re-resolve the eval set against the index before scoring it"
        )
    wanted = set(splits)
    return tuple(
        item
        for item in eval_set.items
        if item.split in wanted
        and item.id in version.resolutions
        and not version.resolutions[item.id].excluded
    )


def _competitors(
    items: tuple[EvalItem, ...], snapshot: IndexSnapshot, previous: Mapping[str, ItemResolution]
) -> dict[str, set[str]]:
    """Chunk ids from non-gold documents that newly contain an item's gold passage near-verbatim."""
    passages = {(item.id, n): g.passage for item in items for n, g in enumerate(item.gold)}
    gold_docs = {item.id: {g.doc_id for g in item.gold} for item in items}
    first_time = {item.id for item in items if item.id not in previous}
    chunks = (
        snapshot.chunks
        if first_time
        else tuple(c for c in snapshot.chunks if c.chunk_id in snapshot.added_chunk_ids)
    )
    doc_of = {c.chunk_id: c.doc_id for c in chunks}
    matcher: NearVerbatimMatcher[tuple[str, int]] = NearVerbatimMatcher(passages)
    found: dict[str, set[str]] = defaultdict(set)
    for (item_id, _), chunk_ids in matcher.scan((c.chunk_id, c.text) for c in chunks).items():
        for chunk_id in chunk_ids:
            in_scope = item_id in first_time or chunk_id in snapshot.added_chunk_ids
            if in_scope and doc_of[chunk_id] not in gold_docs[item_id]:
                found[item_id].add(chunk_id)
    return found


def _resolve_item(
    item: EvalItem,
    snapshot: IndexSnapshot,
    doc_chunks: Mapping[str, list[IndexedChunk]],
    normalised: Mapping[str, str],
    previous: ItemResolution | None,
    new_competitors: set[str],
    live_chunk_ids: frozenset[str],
) -> ItemResolution:
    orphaned: list[str] = []
    stale: list[str] = []
    found: list[str] = []
    for evidence in item.gold:
        if evidence.doc_id not in snapshot.doc_hashes:
            orphaned.append(evidence.doc_id)
            continue
        chunks = doc_chunks.get(evidence.doc_id, [])
        located = _locate(normalise_text(evidence.passage), chunks, normalised)
        if not located:
            stale.append(evidence.doc_id)
        found.extend(c for c in located if c not in found)

    carried = {c for c in (previous.contested_by if previous else ()) if c in live_chunk_ids}
    contested_by = tuple(sorted(new_competitors | carried))
    gold_chunk_ids = tuple(found)
    status, detail = _status(snapshot, previous, orphaned, stale, new_competitors, gold_chunk_ids)
    return ItemResolution(item.id, status, gold_chunk_ids, detail, contested_by)


def _status(
    snapshot: IndexSnapshot,
    previous: ItemResolution | None,
    orphaned: list[str],
    stale: list[str],
    new_competitors: set[str],
    gold_chunk_ids: tuple[str, ...],
) -> tuple[ResolutionStatus, str]:
    """The item's status at this index version and the sentence that says why, worst first."""
    version = f"index v{snapshot.index_version}"
    if orphaned:
        return (
            "orphaned",
            f"gold document(s) {', '.join(orphaned)} not indexed at {version}: "
            "point the gold evidence at an indexed document or drop the item",
        )
    if stale:
        hashes = ", ".join(f"{d} (content {snapshot.doc_hashes[d][:12]})" for d in stale)
        cause = (
            "the gold passage is no longer in"
            if previous and previous.gold_chunk_ids
            else "the gold passage is not in"
        )
        return (
            "stale",
            f"{cause} {hashes} at {version}: excluded from metrics until the passage is re-quoted",
        )
    if new_competitors:
        return (
            "contested",
            f"{len(new_competitors)} chunk(s) from other documents contain the gold passage near-verbatim "
            f"at {version}: retrieval may rank them above the gold chunk",
        )
    if previous is None:
        return "resolved", f"gold passage found in {len(gold_chunk_ids)} chunk(s) at {version}"
    if set(gold_chunk_ids) == set(previous.gold_chunk_ids):
        return "unchanged", f"gold chunks unchanged at {version}"
    return (
        "remapped",
        f"gold passage moved from {len(previous.gold_chunk_ids)} to {len(gold_chunk_ids)} chunk(s) "
        f"with other ids at {version}",
    )


def _locate(passage: str, chunks: list[IndexedChunk], normalised: Mapping[str, str]) -> list[str]:
    """Chunk ids of the document that hold `passage`: every single chunk containing it, or else the
    smallest consecutive runs that cover it across boundaries."""
    if not passage or not chunks:
        return []
    texts = [normalised[c.chunk_id] for c in chunks]
    inside = [c.chunk_id for c, text in zip(chunks, texts, strict=True) if passage in text]
    if inside:
        return inside

    merged, spans = _merge(texts)
    located: list[str] = []
    start = merged.find(passage)
    while start != -1:
        end = start + len(passage)
        run = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
        while len(run) > 1 and spans[run[1]][0] <= start:
            run = run[1:]
        while len(run) > 1 and spans[run[-2]][1] >= end:
            run = run[:-1]
        located.extend(chunks[i].chunk_id for i in run if chunks[i].chunk_id not in located)
        start = merged.find(passage, start + 1)
    return located


def _merge(texts: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join chunk texts in order, counting a chunker overlap once; each chunk's (start, end) span."""
    merged = ""
    spans: list[tuple[int, int]] = []
    for text in texts:
        overlap = _overlap(merged, text)
        if overlap:
            start = len(merged) - overlap
            merged += text[overlap:]
        else:
            merged += " " if merged else ""
            start = len(merged)
            merged += text
        spans.append((start, start + len(text)))
    return merged, spans


def _overlap(left: str, right: str) -> int:
    """Length of the longest suffix of `left` (>= 16 chars) that `right` starts with, else 0."""
    if len(left) < _MIN_OVERLAP or len(right) < _MIN_OVERLAP:
        return 0
    tail = left[-_MAX_OVERLAP:]
    probe = right[:_MIN_OVERLAP]
    position = tail.find(probe)
    while position != -1:
        length = len(tail) - position
        if length <= len(right) and right.startswith(tail[position:]):
            return length
        position = tail.find(probe, position + 1)
    return 0


def _version(
    name: str, eval_set_hash: str, index_version: int, resolutions: dict[str, ItemResolution]
) -> EvalSetVersion:
    payload = json.dumps(
        {
            "eval_set_hash": eval_set_hash,
            "index_version": index_version,
            "resolutions": [resolutions[i].as_json() for i in sorted(resolutions)],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return EvalSetVersion(
        eval_set_name=name,
        eval_set_hash=eval_set_hash,
        index_version=index_version,
        resolutions=MappingProxyType(dict(resolutions)),
        version_hash=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
    )
