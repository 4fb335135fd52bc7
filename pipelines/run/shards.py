"""A source prepared in shards: a plan, the shards, a merge.

- `plan_source` walks the source once and hashes its files: which are unchanged since the ledger's
  last run, which must be assessed. It splits the latter between shards (`shards:` in
  corpusgov.yaml says how many; balanced by bytes, so the shards finish together) and reads
  nothing else.
- A shard (`prepare_shard` in pipelines/run/ingestion.py) parses, assesses and chunks its files, and
  hands the chunks to its own sink: the Dagster shard step embeds them into its own spool. A shard
  writes nothing but staging files: never the index, never the ledger.
- `merge_shards` puts the shards' outcomes back in discovery order, settles what only the whole
  source can tell (a document near-duplicating one assessed by another shard, exact copies), and
  lets the contract decide over the whole source, error budget included. The result is one
  source's part of the run, exactly as one process would have prepared it; `chunk_index` commits
  it as before: one LanceDB version and one ledger transaction for the run.

The CLI prepares a source as a plan with one shard and the same merge. The Dagster path runs
each step in its own process (pipelines/defs/sources/assets.py), so the records here are plain
data with JSON round trips (pipelines/run/staging.py writes them).
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus_quality import grade_signals, near_duplicate_signal
from corpus_quality.near_duplicates import NearDuplicateIndex
from pipelines.contract.checks import ContractCheck
from pipelines.document.assessment import document_config_hash
from pipelines.document.discovery import discover_source
from pipelines.document.outcome import DocumentOutcome
from pipelines.embedding.model import require_index_model
from pipelines.errors import IngestionConflictError
from pipelines.ledger import Ledger
from pipelines.run.records import PreparedIngestion
from pipelines.run.source import (
    AssessedFiles,
    SourceInRun,
    decide_under_contract,
    is_unchanged,
    load_source_contract,
    sources_sharing_a_folder,
)
from pipelines.settings import Settings
from pipelines.storage import require_reachable


@dataclass(frozen=True)
class SourcePlan:
    """What a run does with one source: the files to assess, split into shards."""

    run_id: str
    source: str
    started_at: datetime
    base_index_version: int | None
    embedding_model: str
    config_hash: str | None
    discovered: int
    unchanged: int
    seen: tuple[str, ...]  # the doc id of every file found: the others were removed
    changed: tuple[str, ...]  # the files to assess (absolute paths), in discovery order
    shards: int
    assignment: tuple[int, ...] = ()  # the shard of each changed file
    skipped: ContractCheck | None = None  # the failed check of a source that cannot be prepared

    def shard_files(self, shard: int) -> list[tuple[int, Path]]:
        """(position in discovery order, path) of the files shard `shard` assesses."""
        if not 0 <= shard < self.shards:
            raise ValueError(f"shard {shard} of a plan with {self.shards} shards")
        return [
            (i, Path(p))
            for i, (p, s) in enumerate(zip(self.changed, self.assignment, strict=True))
            if s == shard
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "base_index_version": self.base_index_version,
            "embedding_model": self.embedding_model,
            "config_hash": self.config_hash,
            "discovered": self.discovered,
            "unchanged": self.unchanged,
            "seen": list(self.seen),
            "changed": list(self.changed),
            "shards": self.shards,
            "assignment": list(self.assignment),
            "skipped": self.skipped.as_json() if self.skipped else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SourcePlan":
        return cls(
            **{
                **data,
                "started_at": datetime.fromisoformat(data["started_at"]),
                "seen": tuple(data["seen"]),
                "changed": tuple(data["changed"]),
                "assignment": tuple(data["assignment"]),
                "skipped": ContractCheck.from_json(data["skipped"]) if data["skipped"] else None,
            }
        )


@dataclass(frozen=True)
class ShardPart:
    """What one shard assessed: outcomes (before the contract decides) in discovery order."""

    source: str
    shard: int
    positions: tuple[int, ...]  # each outcome's position in the plan's discovery order
    outcomes: tuple[DocumentOutcome, ...]
    spool: str  # the chunks' texts and the vectors the shard embedded (pipelines/run/spool.py)
    vanished: tuple[str, ...] = ()  # doc ids of files deleted after the plan listed them


def source_in_run(
    settings: Settings, source_name: str, embedding_model: str, started_at: datetime
) -> SourceInRun | ContractCheck:
    """The source bound to its contract and compared with the ledger, or the failed check that
    skips it (a shared folder, a broken contract, a missing folder, another pinned model)."""
    shared = sources_sharing_a_folder(settings, list(settings.sources))
    loaded = load_source_contract(settings, settings.source(source_name), embedding_model, shared)
    if isinstance(loaded, ContractCheck):
        return loaded
    contract, source = loaded
    ledger = Ledger.of(settings)
    return SourceInRun(
        ledger=ledger,
        source=source,
        contract=contract,
        config_hash=document_config_hash(contract, embedding_model),
        known=ledger.documents(source=source.name),
        started_at=started_at,
    )


def plan_source(
    settings: Settings, source_name: str, embedding_model: str, run_id: str, max_shards: int | None = None
) -> SourcePlan:
    """Walk the source once: what is unchanged, what to assess, in how many shards (at most
    `max_shards`, else as corpusgov.yaml's `shards:` says)."""
    return plan_and_open_source(settings, source_name, embedding_model, run_id, max_shards)[0]


def plan_and_open_source(
    settings: Settings, source_name: str, embedding_model: str, run_id: str, max_shards: int | None = None
) -> tuple[SourcePlan, SourceInRun | None]:
    """`plan_source`, with the source it opened (its contract, its documents in the ledger) for a
    caller that prepares and merges in the same process: they need not open it again."""
    started_at = datetime.now(UTC)
    # Before the walk, so before any file is parsed: a bucket that is missing or does not answer
    # (one request), then the ledger (its first read) are found now, not at the commit.
    require_reachable(settings.lancedb_uri)
    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    if latest is not None:
        require_index_model(latest.embedding_model, embedding_model, settings.data_dir)
    plan = SourcePlan(
        run_id=run_id,
        source=source_name,
        started_at=started_at,
        base_index_version=latest.index_version if latest else None,
        embedding_model=embedding_model,
        config_hash=None,
        discovered=0,
        unchanged=0,
        seen=(),
        changed=(),
        shards=1,
    )
    run = source_in_run(settings, source_name, embedding_model, started_at)
    if isinstance(run, ContractCheck):
        return replace(plan, skipped=run), None
    seen: list[str] = []
    changed: list[tuple[str, int]] = []
    unchanged = 0
    for file, _data in discover_source(run.source, run.contract.limits.max_file_bytes):
        seen.append(file.doc_id)
        if is_unchanged(run.known.get(file.doc_id), file.content_hash, run.config_hash, file.rejection):
            unchanged += 1
        else:
            changed.append((str(file.absolute_path), file.size))
    shards = settings.shards.count(len(changed))
    shards = min(shards, max_shards) if max_shards else shards
    planned = replace(
        plan,
        config_hash=run.config_hash,
        discovered=len(seen),
        unchanged=unchanged,
        seen=tuple(seen),
        changed=tuple(path for path, _ in changed),
        shards=shards,
        assignment=balanced([size for _, size in changed], shards),
    )
    return planned, run


def balanced(sizes: list[int], shards: int) -> tuple[int, ...]:
    """A shard for each file: the largest files first, each to the shard with the fewest bytes
    so far (the lowest number on a tie). Parsing and embedding time grow with a file's size, so
    the shards end together; the merge puts the files back in discovery order."""
    load = [0] * shards
    assignment = [0] * len(sizes)
    for row in sorted(range(len(sizes)), key=lambda r: (-sizes[r], r)):
        shard = min(range(shards), key=lambda s: (load[s], s))
        load[shard] += max(sizes[row], 1)
        assignment[row] = shard
    return tuple(assignment)


def shard_run(settings: Settings, plan: SourcePlan) -> SourceInRun:
    """The source as the plan saw it; a contract or model changed since is a conflict (the
    plan's unchanged files would be judged by another config)."""
    run = source_in_run(settings, plan.source, plan.embedding_model, plan.started_at)
    if isinstance(run, ContractCheck) or run.config_hash != plan.config_hash:
        raise IngestionConflictError(
            f"The contract of source '{plan.source}' changed while the run was preparing it. Start a "
            "new run (re-executing this one would reuse its plan, made under the old contract)."
        )
    return run


def merge_shards(
    settings: Settings, plan: SourcePlan, shards: list[ShardPart], run: SourceInRun | None = None
) -> PreparedIngestion:
    """The source's part of the run from its shards: what one process would have prepared.
    `run` is the source as the plan opened it, when the merge runs in the plan's process."""
    part = PreparedIngestion(
        run_id=plan.run_id,
        started_at=plan.started_at,
        sources=(plan.source,),
        base_index_version=plan.base_index_version,
        embedding_model=plan.embedding_model,
        outcomes=(),
        discovered=plan.discovered,
        unchanged=plan.unchanged,
        contract_checks=(plan.skipped,) if plan.skipped else (),
        spools=tuple(s.spool for s in sorted(shards, key=lambda s: s.shard)),
    )
    if plan.skipped:
        return part
    _require_every_shard(plan, shards)
    run = run or shard_run(settings, plan)
    by_position = sorted(
        (position, outcome)
        for shard in shards
        for position, outcome in zip(shard.positions, shard.outcomes, strict=True)
    )
    processed = [outcome for _, outcome in by_position]
    if len(shards) > 1:
        processed = near_duplicates_across_shards(run.ledger, processed)
    # A file deleted since the plan counts as not found, as if the walk had come after: removed.
    vanished = {doc_id for shard in shards for doc_id in shard.vanished}
    assessed = AssessedFiles(
        processed=processed,
        seen=set(plan.seen) - vanished,
        discovered=plan.discovered - len(vanished),
        unchanged=plan.unchanged,
    )
    outcomes, check = decide_under_contract(settings, run, assessed, plan.run_id)
    return replace(
        part,
        outcomes=outcomes,
        discovered=assessed.discovered,
        contract_checks=(check,),
        config_hashes={plan.source: run.config_hash},
    )


def _require_every_shard(plan: SourcePlan, shards: list[ShardPart]) -> None:
    got = sorted(s.shard for s in shards)
    if got != list(range(plan.shards)):
        raise IngestionConflictError(
            f"Source '{plan.source}' was planned in {plan.shards} shards but {len(got)} came back "
            f"({got}). Run the ingestion again."
        )


def near_duplicates_across_shards(ledger: Ledger, processed: list[DocumentOutcome]) -> list[DocumentOutcome]:
    """Each document compared with the corpus and with every document before it in discovery
    order, as one process compares them: a shard saw only its own. A document whose closest
    copy changes is graded again from its signals (the near-duplicate signal is one of them)."""
    index = NearDuplicateIndex.from_rows(ledger.near_duplicate_rows())
    settled = []
    for outcome in processed:
        if outcome.near_duplicate_signature is None:
            if outcome.grade is not None:
                # Assessed without words (a scan, an emptied page): as in one process, its
                # earlier text is no longer in the corpus for the documents after it.
                index.remove(outcome.doc_id)
            settled.append(outcome)
            continue
        near = index.query_and_add_signature(outcome.doc_id, outcome.near_duplicate_signature)
        signal = near_duplicate_signal(near)
        if outcome.quality_signals.get("near_duplicate") == signal:
            settled.append(replace(outcome, near_duplicate_of=near[0].doc_id if near else None))
            continue
        quality = grade_signals({**outcome.quality_signals, "near_duplicate": signal})
        settled.append(
            replace(
                outcome,
                grade=quality.grade,
                quality_score=quality.score,
                quality_signals=quality.signals,
                quality_reasons=quality.reasons,
                route=quality.route,
                near_duplicate_of=near[0].doc_id if near else None,
            )
        )
    return settled
