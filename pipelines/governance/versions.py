"""Index versions: list them, diff two at document level, roll back to one, let old ones go.

A rollback never rewrites history: LanceDB restores the old version as a NEW table version, the
ledger records it as a new index version with its manifest, and documents that left the index are
held (state `quarantined`, reason `index.rolled_back`) until the next ingestion looks at them again.

A rollback brings back old content, never a document the corpus has since let go of: a document of
the old version is re-admitted only while it still exists at its source and its current contract
admits it, as the last run found them (`held_out_by`). The others stay as they are and are listed.
The rollback's version is published in the same ledger transaction that commits it (a person
decided it: no gate), and the eval sets follow it like any other index version
(pipelines/governance/ingest.py, `roll_back`).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.document.outcome import DocumentState
from pipelines.errors import CorpusgovError, WriterLockLostError
from pipelines.governance.actor import acting_person
from pipelines.index.commit_protocol import (
    SERVING_TAG,
    move_serving_tag,
    point_serving,
    recover_index,
    require_writer_lock,
    tag_index_version,
    undo_interrupted_write,
    writer_lock,
)
from pipelines.index.history import remove_versions_except
from pipelines.index.table import TABLE_NAME, ChunkIndex, in_filter, index_tag, read_columns
from pipelines.ledger import IndexVersion, Ledger, LedgerDocument, Publication, VersionCounts
from pipelines.settings import Settings
from pipelines.stop_points import stop_point
from pipelines.storage import folder_size, join

ROLLED_BACK = "index.rolled_back"


@dataclass(frozen=True)
class IndexDiff:
    """Documents that differ between index versions `old` and `new`."""

    old: int
    new: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    modified: tuple[str, ...]
    unchanged: int

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "added": list(self.added),
            "removed": list(self.removed),
            "modified": list(self.modified),
            "unchanged": self.unchanged,
        }


def list_index_versions(settings: Settings) -> list[dict[str, Any]]:
    """The shape of `corpusgov index versions --json`, newest first: each version with its status,
    `serving` (what RAG apps read), `candidate` (committed after it, not published) or `earlier`,
    and whether it was ever published."""
    ledger = Ledger.of(settings)
    served = ledger.serving_version()
    published = {p.index_version for p in ledger.publications()}
    shown = []
    for version in ledger.index_versions():
        if served is not None and version.index_version == served.index_version:
            status = "serving"
        elif served is None or version.index_version > served.index_version:
            status = "candidate"
        else:
            status = "earlier"
        shown.append({**version.as_json(), "status": status, "published": version.index_version in published})
    return shown


def _require_version(ledger: Ledger, number: int) -> IndexVersion:
    versions = ledger.index_versions()
    for version in versions:
        if version.index_version == number:
            return version
    known = ", ".join(str(v.index_version) for v in reversed(versions)) or "none yet"
    raise CorpusgovError(f"There is no index version {number}. Index versions: {known}.")


def _documents_at(index: ChunkIndex, version: IndexVersion) -> dict[str, tuple[str, frozenset[str]]]:
    """doc_id -> (content_hash, chunk ids) as the index held them at `version`."""
    table = index.table_at(version)
    if table is None:
        return {}
    return _documents_of(read_columns(table, ["doc_id", "chunk_id", "content_hash"]))


def diff_index_versions(settings: Settings, old: int, new: int) -> IndexDiff:
    ledger = Ledger.of(settings)
    index = ChunkIndex(settings.lancedb_uri)
    before = _documents_at(index, _require_version(ledger, old))
    after = _documents_at(index, _require_version(ledger, new))
    common = before.keys() & after.keys()
    modified = sorted(d for d in common if before[d] != after[d])
    return IndexDiff(
        old=old,
        new=new,
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        modified=tuple(modified),
        unchanged=len(common) - len(modified),
    )


# Reasons that do not speak against a document's old content: a parse failure of its current
# bytes (the rollback may be undoing the parser that failed) and an earlier rollback's hold.
# Every other reason is its current contract's (contract.*, and the safety, quality and
# provenance findings the contract quarantines on).
_REASONS_A_ROLLBACK_PASSES = ("parse.", ROLLED_BACK)


def held_out_by(document: LedgerDocument | None) -> str | None:
    """Why a rollback must not re-admit `document` (its ledger row as the last run left it), or
    None when it may come back: it still exists at its source and its current contract admits it."""
    if document is None:
        return "no longer known to the ledger"
    if document.state is DocumentState.REMOVED:
        return "removed: no longer at its source"
    if document.state is DocumentState.INDEXED:
        return None
    blocking = [r for r in document.reasons if not r.startswith(_REASONS_A_ROLLBACK_PASSES)]
    if blocking:
        return f"{document.state.value}: " + ", ".join(blocking)
    return None


@dataclass(frozen=True)
class HeldOut:
    """A document of the restored version that the rollback did not re-admit, and why."""

    doc_id: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "reason": self.reason}


@dataclass(frozen=True)
class Rollback:
    """`corpusgov index rollback N`: the new index version, published, and what it left out."""

    version: IndexVersion
    restored_from: int
    held_out: tuple[HeldOut, ...]
    publication: Publication

    def as_json(self) -> dict[str, Any]:
        return {
            **self.version.as_json(),
            "restored_from": self.restored_from,
            "held_out": [h.as_json() for h in self.held_out],
            "published": self.publication.as_json(),
        }


def rollback_index(settings: Settings, number: int) -> Rollback:
    """Serve what version `number` held again, as a new index version, for the documents that may
    still be served (`held_out_by`); publish it.

    Follows the commit protocol (pipelines/index/commit_protocol.py): the ledger's write connection
    is held before LanceDB restores, the ledger commits the version and its publication at once,
    then the version's tag and the serving tag are set (recovery sets them after a stop).
    """
    with writer_lock(settings):
        recover_index(settings)
        ledger = Ledger.of(settings)
        target = _require_version(ledger, number)
        latest = ledger.latest_index_version()
        assert latest is not None
        if target.index_version == latest.index_version:
            raise CorpusgovError(f"Index version {number} is already the current version.")
        index = ChunkIndex(settings.lancedb_uri)
        current = _documents_at(index, latest)
        known = ledger.documents()
        held_out = tuple(
            HeldOut(doc_id, reason)
            for doc_id in sorted(_documents_at(index, target))
            if (reason := held_out_by(known.get(doc_id))) is not None
        )
        run_id = f"rollback-{uuid.uuid4().hex[:8]}"
        new_number = latest.index_version + 1
        try:
            with ledger.writer() as writer:
                require_writer_lock(f"rolling back to index version {number}")
                writer.record_intent(run_id, "rollback", latest.lance_version)
                table = index.require_table()
                table.checkout_latest()
                table.restore(target.lance_version)
                if held_out:
                    table.delete(in_filter("doc_id", [h.doc_id for h in held_out]))
                stop_point("rollback.after_restore")
                rows = read_columns(
                    table,
                    ["chunk_id", "doc_id", "ordinal", "text", "content_hash", "grade", "provenance"],
                )
                restored = _documents_of(rows)
                version = IndexVersion(
                    index_version=new_number,
                    lance_version=int(table.version),
                    tag=index_tag(new_number),
                    created_at=datetime.now(UTC),
                    config_hash=target.config_hash,
                    embedding_model=target.embedding_model,
                    added=tuple(sorted(restored.keys() - current.keys())),
                    modified=tuple(
                        sorted(d for d in restored.keys() & current.keys() if restored[d] != current[d])
                    ),
                    removed=tuple(sorted(current.keys() - restored.keys())),
                    chunks_added=len(_ids(restored) - _ids(current)),
                    chunks_removed=len(_ids(current) - _ids(restored)),
                    total_chunks=rows.num_rows,
                    # The ledger adds the restored documents' counts when it commits the rollback.
                    counts=VersionCounts(rolled_back_from=latest.index_version, rolled_back_to=number),
                    contract_versions=target.contract_versions,
                )
                publication = Publication(
                    new_number,
                    datetime.now(UTC),
                    acting_person(),
                    "rollback",
                    {"restored_from": number, "held_out": [h.as_json() for h in held_out]},
                )
                require_writer_lock(f"committing the rollback to index version {number}")
                writer.apply_rollback(version, rows, run_id, ROLLED_BACK, publication)
        except WriterLockLostError:
            raise  # the lock's next holder recovers LanceDB: touching it here could undo its work
        except BaseException:
            undo_interrupted_write(settings)
            raise
        stop_point("rollback.after_ledger_commit")
        tag_index_version(settings, version)
        move_serving_tag(settings, version)
        return Rollback(version, number, held_out, publication)


def _documents_of(rows: Any) -> dict[str, tuple[str, frozenset[str]]]:
    chunks: dict[str, set[str]] = {}
    hashes: dict[str, str] = {}
    for doc_id, chunk_id, content_hash in zip(
        rows.column("doc_id").to_pylist(),
        rows.column("chunk_id").to_pylist(),
        rows.column("content_hash").to_pylist(),
        strict=True,
    ):
        chunks.setdefault(doc_id, set()).add(chunk_id)
        hashes[doc_id] = content_hash
    return {d: (hashes[d], frozenset(ids)) for d, ids in chunks.items()}


def _ids(documents: dict[str, tuple[str, frozenset[str]]]) -> set[str]:
    return {chunk_id for _, ids in documents.values() for chunk_id in ids}


@dataclass(frozen=True)
class RetentionPolicy:
    """Which index versions a cleanup keeps readable, besides the ones it never removes (the
    latest, the served one and every candidate after it, and tagged releases: a LanceDB tag of a
    person's own on a version): the newest `keep_last`, every version younger than `keep_days`,
    and per eval set the versions of its newest `live_baselines` live (not superseded) baselines. corpusgov.yaml's `retention:` (`of`), or `--older-than-days`."""

    keep_last: int
    keep_days: timedelta
    live_baselines: int

    @classmethod
    def of(cls, settings: Settings) -> "RetentionPolicy":
        retention = settings.retention
        return cls(
            retention.keep_last, timedelta(days=retention.keep_days), retention.live_baselines_per_eval_set
        )


@dataclass(frozen=True)
class Cleanup:
    kept: tuple[int, ...]  # index versions still readable
    cleaned: tuple[int, ...]  # index versions whose data files this cleanup removed
    # The table folder's size before minus after (compaction writes some files back).
    bytes_freed: int

    def as_json(self) -> dict[str, Any]:
        return {"kept": list(self.kept), "cleaned": list(self.cleaned), "bytes_freed": self.bytes_freed}


def cleanup_index(settings: Settings, older_than: timedelta | None = None) -> Cleanup:
    """Compact the table and delete the versions the retention policy lets go (corpusgov.yaml's
    `retention:`; with `older_than`, every version older than that, the versions of the live
    baselines the policy keeps excepted). Never the served one, a candidate waiting to be
    published, nor the latest. Cleaned versions can no longer be searched `--as-of`, diffed, or
    their baselines re-run; the baselines keep their metrics."""
    policy = RetentionPolicy.of(settings)
    if older_than is not None:
        policy = RetentionPolicy(keep_last=1, keep_days=older_than, live_baselines=policy.live_baselines)
    cleanup = _clean(settings, policy, only_when_due=False)
    assert cleanup is not None
    return cleanup


def apply_retention(settings: Settings) -> Cleanup | None:
    """The retention policy after a commit and on the nightly schedule: what `index cleanup` does,
    or nothing (None, no compaction, no new LanceDB version) while no version is due."""
    return _clean(settings, RetentionPolicy.of(settings), only_when_due=True)


def _retained(
    settings: Settings, ledger: Ledger, versions: list[IndexVersion], policy: RetentionPolicy
) -> set[int]:
    """The index versions `policy` keeps by number (the age limit and tagged releases are added
    by `_clean`, which reads the table)."""
    # Imported here: evaluation imports this module's neighbours, not the other way round.
    from pipelines.evaluation import DEV, HOLDOUT, eval_results

    kept = {v.index_version for v in versions[: policy.keep_last]}
    served = ledger.serving_version()
    if served is not None:
        # What RAG apps read, and every candidate that may still be published after it.
        kept.update(v.index_version for v in versions if v.index_version >= served.index_version)
    for config in settings.evals.sets:
        baselined = {
            r.index_version
            for split in (DEV, HOLDOUT)
            for r in eval_results(ledger, config.name, split)
            if r.superseded_reason is None
        }
        kept.update(sorted(baselined, reverse=True)[: policy.live_baselines])
    return kept


def _released(table: Any, versions: list[IndexVersion]) -> set[int]:
    """Index versions a person tagged in LanceDB with a tag of their own (a release, an audit
    snapshot: `table.tags.create("release-2026-q4", lance_version)`): kept whatever their age."""
    ours = {v.tag for v in versions} | {SERVING_TAG}
    pinned = {int(info["version"]) for name, info in table.tags.list().items() if name not in ours}
    return {v.index_version for v in versions if v.lance_version in pinned}


def _clean(settings: Settings, policy: RetentionPolicy, only_when_due: bool) -> Cleanup | None:
    with writer_lock(settings):
        recover_index(settings)
        ledger = Ledger.of(settings)
        versions = ledger.index_versions()
        if not versions:
            return None if only_when_due else Cleanup((), (), 0)
        latest = versions[0]
        table = ChunkIndex(settings.lancedb_uri).require_table()
        stamps = {int(v["version"]): v["timestamp"] for v in table.list_versions()}
        cutoff = datetime.now(stamps[int(table.version)].tzinfo) - policy.keep_days
        young = {v.index_version for v in versions if stamps.get(v.lance_version, cutoff) >= cutoff}
        live = _retained(settings, ledger, versions, policy) | _released(table, versions) | young
        tags = table.tags.list()
        # Due: still on disk and readable through its own tag, and let go by the policy.
        due = [
            v for v in versions if v.index_version not in live and v.lance_version in stamps and v.tag in tags
        ]
        if only_when_due and not due:
            return None
        folder = join(settings.lancedb_uri, f"{TABLE_NAME}.lance")
        size_before = folder_size(folder)
        require_writer_lock("cleaning up old index versions")
        for version in due:
            table.tags.delete(version.tag)
        # Compaction only (a cutoff no version meets): the versions go below, by number.
        table.optimize(cleanup_older_than=timedelta(days=36_500))
        # A stop from here on leaves the table ahead of the ledger with the same rows: recovery
        # restores the ledger's version.
        stop_point("cleanup.after_optimize")
        # Compaction commits a new table version with the same rows: the latest index version now
        # lives there (same content, fewer files).
        compacted = int(table.version)
        if compacted != latest.lance_version:
            require_writer_lock("recording the compacted index version")
            ledger.move_index_version(latest.index_version, compacted)
            table.tags.update(latest.tag, compacted)
            served = ledger.serving_version()
            if served is not None and served.index_version == latest.index_version:
                point_serving(table, compacted)
        # Every table version no readable index version names goes, with the files only it used:
        # the ones let go now, and what restores, deletes and compactions left in between.
        kept_versions = ledger.index_versions()
        named = {v.lance_version for v in kept_versions if v.index_version in _readable(table, kept_versions)}
        remove_versions_except(settings, named)
        table = ChunkIndex(settings.lancedb_uri).require_table()
        remaining = {int(v["version"]) for v in table.list_versions()}
        cleaned = [v.index_version for v in due if v.lance_version not in remaining]
        readable = _readable(table, kept_versions)
        return Cleanup(tuple(sorted(readable)), tuple(sorted(cleaned)), size_before - folder_size(folder))


def _readable(table: Any, versions: list[IndexVersion]) -> set[int]:
    """The index versions whose tag still points at their LanceDB version (the latest counts
    before its tag is set: step 7 of the commit protocol), as `ChunkIndex.table_ref` reads them."""
    tags = {name: int(info["version"]) for name, info in table.tags.list().items()}
    readable = {v.index_version for v in versions if tags.get(v.tag) == v.lance_version}
    if versions:
        readable.add(versions[0].index_version)
    return readable


def readable_index_versions(settings: Settings, versions: list[IndexVersion]) -> set[int]:
    """The index versions that can still be read (`search --as-of`, a rollback, an erasure's
    rewrite): their tag is on their LanceDB version."""
    table = ChunkIndex(settings.lancedb_uri).table()
    if table is None or not versions:
        return set()
    return _readable(table, versions)


def removed_index_versions(settings: Settings) -> set[int]:
    """The index versions that can no longer be read: removed by retention (`index cleanup`, after
    a commit, the nightly schedule) or replaced by a `doctor --repair` rebuild. Baselines measured
    on them keep their metrics and can no longer be re-run."""
    versions = Ledger.of(settings).index_versions()
    table = ChunkIndex(settings.lancedb_uri).table()
    if table is None or not versions:
        return {v.index_version for v in versions}
    return {v.index_version for v in versions} - _readable(table, versions)
