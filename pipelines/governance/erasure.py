"""`corpusgov erase`: take one document out of the index, its history and the ledger, for good.

One governed writer run, under the writer lock and the commit protocol
(pipelines/index/commit_protocol.py):

1. **The head.** The document's rows leave the latest index version as a new index version. One
   ledger transaction commits it with the document's own rows made anonymous (its id becomes a
   pseudonym, its title, declared metadata and evidence become hashes), every mention of its id
   in other tables replaced by the pseudonym, its content hashes tombstoned (no run indexes those
   bytes again, at any path, until a person releases them), the judge cache cleared, the
   self-output rows naming it removed, and the audit row (`erasures`). When the latest version
   was the one served, the new one is published in the same transaction (a person decided it).
2. **History.** Every readable index version whose data files hold the document is rewritten
   without it, and every file that held it is deleted (pipelines/index/history.py). Eval results
   measured on a rewritten version are marked, so they are never compared as if unchanged.
3. **The data dir.** Staged files of runs in flight are removed, reports and failed-run records
   that name it are rewritten with the pseudonym, and the DuckDB ledger file is written afresh
   (a deleted value can survive in a database file's free pages).
4. **The certificate**: what was removed where, and what this command cannot reach.

A stop anywhere leaves the stores consistent (recovery), and `corpusgov erase` run again on the
same document finishes what is left; `corpusgov doctor` names an erasure that did not finish.
"""

import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.errors import CommittedRunError, CorpusgovError, WriterLockLostError
from pipelines.governance.actor import acting_person
from pipelines.governance.versions import readable_index_versions
from pipelines.index.commit_protocol import (
    SERVING_TAG,
    move_serving_tag,
    note_table_files,
    point_serving,
    recover_index,
    require_writer_lock,
    tag_index_version,
    undo_interrupted_write,
    writer_lock,
)
from pipelines.index.history import files_holding, rewrite_without
from pipelines.index.table import ChunkIndex, in_filter, index_tag, read_columns
from pipelines.ledger import IndexVersion, Ledger, Publication, VersionCounts
from pipelines.ledger.erasures import ERASED, ErasureRow, pseudonym
from pipelines.settings import Settings
from pipelines.stop_points import stop_point
from pipelines.storage import remove_folder

# The stop points of an erasure, in the order it reaches them (pipelines/stop_points.py).
ERASE_STOP_POINTS: tuple[str, ...] = (
    "erase.after_index_delete",
    "erase.after_ledger_commit",
    "erase.after_version_rewrite",
    "erase.after_history",
)


@dataclass(frozen=True)
class Erasure:
    """What `corpusgov erase` did: the audit row's certificate, and the document as the person
    named it (printed, never stored)."""

    named: str
    certificate: dict[str, Any]
    already_done: bool

    def as_json(self) -> dict[str, Any]:
        return {"document": self.named, **self.certificate, "already_done": self.already_done}


def _find(ledger: Ledger, target: str) -> tuple[str, str]:
    """(doc_id, its pseudonym) of `target`: a doc id, a `source/path`, or a path in one source."""
    documents = ledger.documents()
    if target in documents:
        return target, pseudonym(target)
    if pseudonym(target) in documents:
        return target, pseudonym(target)  # erased before: finish or report it
    matches = [d.doc_id for d in documents.values() if d.path == target or d.path == target.lstrip("./")]
    if len(matches) == 1:
        return matches[0], pseudonym(matches[0])
    if len(matches) > 1:
        raise CorpusgovError(
            f"{target} is a path in several sources ({', '.join(sorted(matches))}): name the document "
            "by its id (source/path)."
        )
    raise CorpusgovError(
        f"No document {target} in the ledger. Name it by its id as `corpusgov documents` shows it "
        "(source/path), or by its path in its source."
    )


def erase_document(settings: Settings, target: str, reason: str) -> Erasure:
    """Erase `target` (see the module docstring); run again, finish an erasure that stopped."""
    if not reason.strip():
        raise CorpusgovError(
            "Say why with --reason (for the audit row), e.g. --reason 'GDPR art. 17 request 2026-114'."
        )
    with writer_lock(settings):
        recover_index(settings)
        ledger = Ledger.of(settings)
        doc_id, doc_pseudonym = _find(ledger, target)
        existing = next((e for e in ledger.erasures() if e.doc_id == doc_pseudonym), None)
        if existing is not None and existing.completed_at is not None:
            return Erasure(target, existing.certificate, already_done=True)
        if existing is None:
            existing = _erase_head(settings, ledger, doc_id, doc_pseudonym, reason)
        certificate = dict(existing.certificate)
        _erase_history(settings, ledger, doc_id, existing.erasure_id, certificate)
        stop_point("erase.after_history")
        certificate["data_dir"] = _clean_data_dir(settings, doc_id, doc_pseudonym)
        certificate["not_reached"] = _not_reached(settings)
        ledger.finish_erasure(existing.erasure_id, certificate, datetime.now(UTC))
        ledger.rewrite_file()
        note_table_files(settings)
        return Erasure(target, certificate, already_done=False)


def _erase_head(
    settings: Settings, ledger: Ledger, doc_id: str, doc_pseudonym: str, reason: str
) -> ErasureRow:
    """Step 1: one ledger transaction (and, when the document is in the latest version, one
    LanceDB delete before it)."""
    latest = ledger.latest_index_version()
    served = ledger.serving_version()
    index = ChunkIndex(settings.lancedb_uri)
    chunk_ids = sorted(ledger.chunk_ids([doc_id]))
    content_hashes = ledger.content_hashes_of(doc_id)
    now = datetime.now(UTC)
    erasure_id = f"erasure-{uuid.uuid4().hex[:8]}"
    certificate: dict[str, Any] = {
        "erasure_id": erasure_id,
        "document": doc_pseudonym,
        "reason": reason,
        "erased_by": acting_person(),
        "erased_at": now.isoformat(),
        "tombstoned_content_hashes": content_hashes,
        "eval": {"items_citing": ledger.eval_items_citing(chunk_ids)},
    }
    erasure = ErasureRow(erasure_id, doc_pseudonym, acting_person(), now, reason, None, certificate)
    run_id = f"erase-{uuid.uuid4().hex[:8]}"
    version: IndexVersion | None = None
    publication: Publication | None = None
    try:
        with ledger.writer() as writer:
            require_writer_lock(f"erasing {doc_id}")
            if latest is not None and chunk_ids:
                writer.record_intent(run_id, "erase", latest.lance_version)
                table = index.require_table()
                table.checkout_latest()
                table.delete(in_filter("doc_id", [doc_id]))
                stop_point("erase.after_index_delete")
                total = read_columns(table, ["chunk_id"]).num_rows
                version = IndexVersion(
                    index_version=latest.index_version + 1,
                    lance_version=int(table.version),
                    tag=index_tag(latest.index_version + 1),
                    created_at=now,
                    config_hash=latest.config_hash,
                    embedding_model=latest.embedding_model,
                    added=(),
                    modified=(),
                    removed=(doc_pseudonym,),
                    chunks_added=0,
                    chunks_removed=len(chunk_ids),
                    total_chunks=total,
                    counts=VersionCounts(),
                    contract_versions=latest.contract_versions,
                )
                if served is not None and served.index_version == latest.index_version:
                    publication = Publication(
                        version.index_version, now, acting_person(), "erasure", {"erasure_id": erasure_id}
                    )
                certificate["index"] = {
                    "head_version": version.index_version,
                    "chunks_removed": len(chunk_ids),
                    "published": publication is not None,
                }
            erasure = replace(erasure, certificate=certificate)
            require_writer_lock(f"committing the erasure of {doc_id}")
            certificate["ledger"] = writer.apply_erasure(
                erasure, doc_id, content_hashes, version, publication, run_id
            )
    except WriterLockLostError:
        raise
    except BaseException:
        undo_interrupted_write(settings)
        raise
    stop_point("erase.after_ledger_commit")
    if version is not None:
        tag_index_version(settings, version)
        if publication is not None:
            move_serving_tag(settings, version)
    ledger.update_erasure_certificate(erasure_id, certificate)
    return replace(erasure, certificate=certificate)


def _erase_history(
    settings: Settings, ledger: Ledger, doc_id: str, erasure_id: str, certificate: dict[str, Any]
) -> None:
    """Step 2 (pipelines/index/history.py). Its progress goes into the stored certificate as it
    happens (the files to delete first, then each rewritten version), so an erasure finished by
    a second run certifies what the first one did too."""
    index_part = certificate.setdefault("index", {})
    rewritten = index_part.setdefault("versions_rewritten", {})
    deleted = index_part.setdefault("files_deleted", [])
    evals = certificate.setdefault("eval", {})
    evals.setdefault("results_marked", 0)
    versions = ledger.index_versions()
    tainted = files_holding(settings, [doc_id]) if versions else set()
    if not tainted:
        return
    index_part["files_deleted"] = deleted = sorted(set(deleted) | tainted)
    ledger.update_erasure_certificate(erasure_id, certificate)
    readable = readable_index_versions(settings, versions)
    served = ledger.serving_version()

    def move(version: IndexVersion, lance_version: int) -> None:
        require_writer_lock(f"rewriting index version {version.index_version} without the erased document")
        ledger.move_index_version(version.index_version, lance_version)
        table = ChunkIndex(settings.lancedb_uri).require_table()
        if version.tag in table.tags.list():
            table.tags.update(version.tag, lance_version)
        else:
            table.tags.create(version.tag, lance_version)
        if served is not None and served.index_version == version.index_version:
            point_serving(table, lance_version)
        for name, info in table.tags.list().items():
            # A person's own tag (a release) on the old version follows it, and so stays readable.
            if (
                int(info["version"]) == version.lance_version
                and name != SERVING_TAG
                and not name.startswith("index-v")
            ):
                table.tags.update(name, lance_version)
        rewritten[str(version.index_version)] = {
            "from_lance_version": rewritten.get(str(version.index_version), {}).get(
                "from_lance_version", version.lance_version
            ),
            "to_lance_version": lance_version,
        }
        evals["results_marked"] += ledger.mark_results_on_rewritten(
            [version.index_version], f"index version rewritten by erasure {erasure_id}"
        )
        ledger.update_erasure_certificate(erasure_id, certificate)

    require_writer_lock("rewriting the index history")
    rewrite_without(settings, [doc_id], pseudonym(doc_id), versions, readable, move)
    left = files_holding(settings, [doc_id])
    if left:
        raise CorpusgovError(
            f"{len(left)} data files of the index still hold the erased document after the rewrite "
            f"({', '.join(sorted(left))}). Run the same `corpusgov erase` again; if they stay, run "
            "`corpusgov doctor`."
        )


def _clean_data_dir(settings: Settings, doc_id: str, doc_pseudonym: str) -> dict[str, Any]:
    """Step 3: staged runs removed; text files that name the document rewritten with its pseudonym."""
    staged = []
    staging = settings.staging_root
    if "://" in staging:
        remove_folder(staging)
        staged.append(staging)
    elif Path(staging).is_dir():
        for run in sorted(Path(staging).iterdir()):
            shutil.rmtree(run, ignore_errors=True) if run.is_dir() else run.unlink(missing_ok=True)
            staged.append(run.name)
    rewritten = []
    skip = {settings.data_dir / "lancedb", settings.data_dir / "damaged", settings.data_dir / "staging"}
    needle, replacement = doc_id.encode("utf-8"), doc_pseudonym.encode("utf-8")
    for path in sorted(settings.data_dir.rglob("*")):
        if not path.is_file() or any(parent in skip for parent in path.parents) or "ledger" in path.name:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if needle in data:
            path.write_bytes(data.replace(needle, replacement))
            rewritten.append(str(path.relative_to(settings.data_dir)))
    return {"staged_runs_removed": staged, "files_rewritten": rewritten}


def _not_reached(settings: Settings) -> list[str]:
    """What the erasure cannot reach, each with what to do."""
    notes = [
        "Alerts already delivered to your sinks (webhooks, Slack, e-mail) may name the document: "
        "delete them there.",
        "Dagster's event log keeps the runs that processed the document (their logs and metadata): "
        "delete those runs in the UI (Runs, select, Delete) or with `dagster run delete RUN_ID`.",
        "Copies outside the data dir (backups, the source folder itself) are yours to delete; a file "
        f"with the same bytes is refused ({ERASED}) by every later run.",
    ]
    damaged = settings.data_dir / "damaged"
    if damaged.is_dir() and any(damaged.iterdir()):
        notes.append(
            f"{damaged} holds copies set aside by `doctor --repair`, which may hold the document: "
            f"delete them (rm -r {damaged}) once you no longer need them."
        )
    if settings.ledger_url:
        notes.append(
            "The shared PostgreSQL ledger keeps old row versions until it is vacuumed, and its WAL "
            "archive and backups keep them longer: run `VACUUM FULL` on the ledger database and "
            "expire the backups that predate this erasure."
        )
    return notes


@dataclass(frozen=True)
class ErasureOutcome:
    erasure: Erasure
    reversions: list[Any]


def erase(settings: Settings, embedder: Any, target: str, reason: str) -> ErasureOutcome:
    """`corpusgov erase` and the Dagster `erase_document` job: the erasure, then the eval sets
    follow the new index version like any other (pipelines/governance/ingest.py)."""
    from pipelines.governance.ingest import follow_index

    erasure = erase_document(settings, target, reason)
    head = erasure.certificate.get("index", {}).get("head_version")
    if erasure.already_done or head is None:
        return ErasureOutcome(erasure, [])
    try:
        return ErasureOutcome(erasure, follow_index(settings, embedder))
    except (CorpusgovError, OSError, RuntimeError) as err:
        raise CommittedRunError(head, "re-versioning the eval sets on it", err) from err


def release_erased_content(settings: Settings, content_hash: str, reason: str) -> None:
    """Let bytes erased once be indexed again: a person decided it, and the tombstone keeps who."""
    if not reason.strip():
        raise CorpusgovError("Say why with --reason (for the audit row).")
    if not Ledger.of(settings).release_tombstone(content_hash, f"{acting_person()}: {reason}"):
        raise CorpusgovError(
            f"No tombstone in force holds the content hash {content_hash}. `corpusgov erase --list` "
            "shows each erasure's tombstoned hashes."
        )
