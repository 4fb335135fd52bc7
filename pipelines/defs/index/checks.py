"""Checks on the index: the ledger and LanceDB agree, the corpus-level budgets hold, and the
publication gate decides whether the new index version is served."""

from typing import Any

import dagster as dg

from pipelines.defs.evals.assets import EVAL_BASELINES
from pipelines.defs.index.assets import CHUNK_INDEX, WRITER_WAIT_SECONDS
from pipelines.defs.markdown import markdown_table
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.defs.sources.assets import WRITER_POOL
from pipelines.governance.budgets import ai_generated_shares, quality_floor
from pipelines.governance.doctor import examine_data_dir
from pipelines.governance.ingest import retain_after_commit
from pipelines.governance.publication import PublicationOutcome, publish_candidates
from pipelines.ledger import Ledger
from pipelines.settings import Settings

LEDGER_INDEX_RECONCILIATION = "ledger_index_reconciliation"
AI_GENERATED_SHARE = "ai_generated_share_budget"
QUALITY_FLOOR = "quality_floor"
PUBLICATION_GATE = "publication_gate"


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=LEDGER_INDEX_RECONCILIATION,
    description="The invariants of `corpusgov doctor`: the ledger and LanceDB hold the same chunk "
    "ids, the table is at the ledger's version, tags match, every document is accounted for.",
)
def ledger_index_reconciliation(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(**reconciliation(corpusgov.settings()))


def reconciliation_after_failed_run(settings: Settings, run_id: str) -> dg.AssetCheckEvaluation:
    """The check, evaluated by the run failure sensor after a run that failed before it could
    run it: Dagster would otherwise show it "Execution failed", with no text, though the index
    may well be intact."""
    found = reconciliation(settings)
    found["metadata"]["evaluated"] = f"after run {run_id} failed, by run_failure_alert_sensor"
    return dg.AssetCheckEvaluation(asset_key=CHUNK_INDEX, check_name=LEDGER_INDEX_RECONCILIATION, **found)


def reconciliation(settings: Settings) -> dict[str, Any]:
    """What `corpusgov doctor` finds, as the check's passed, metadata and description."""
    report = examine_data_dir(settings)
    failing = [f for f in report.findings if not f.ok]
    return dict(
        passed=report.healthy,
        metadata={
            "findings": dg.MetadataValue.md(
                markdown_table(
                    ["check", "ok", "detail"],
                    [[f.check, "yes" if f.ok else "**no**", f.detail] for f in report.findings],
                )
            ),
            "next_step": "Run `corpusgov doctor --repair`." if failing else "Nothing to do.",
        },
        description="; ".join(f"{f.check}: {f.detail}" for f in failing) or "Ledger and index agree.",
    )


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=AI_GENERATED_SHARE,
    description="Per source, the share of indexed documents labelled ai_generated stays within the "
    "contract's maxAiGeneratedShare.",
)
def ai_generated_share_budget(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    shares = ai_generated_shares(corpusgov.settings())
    table = markdown_table(
        ["source", "indexed", "ai_generated", "share", "budget"],
        [[s.source, s.indexed, s.ai_generated, f"{s.share:.1%}", f"{s.budget:.0%}"] for s in shares],
    )
    over = [s.source for s in shares if not s.within_budget]
    return dg.AssetCheckResult(
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "by_source": dg.MetadataValue.md(table),
            "max_share": max((s.share for s in shares), default=0.0),
        },
        description=f"Over budget: {', '.join(over)}"
        if over
        else "Every source within its AI-generated budget.",
    )


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=QUALITY_FLOOR,
    description="No indexed document is graded F or below its source contract's minimum grade.",
)
def quality_floor_check(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    floor = quality_floor(corpusgov.settings())
    table = markdown_table(["doc_id", "grade", "minimum"], [list(row) for row in floor.below_floor[:20]])
    return dg.AssetCheckResult(
        passed=floor.holds,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "indexed": floor.indexed,
            "below_floor": len(floor.below_floor),
            "documents": dg.MetadataValue.md(table if floor.below_floor else "none"),
        },
    )


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=PUBLICATION_GATE,
    # After the eval sets are bound to the new version and scored: the gate reads their baselines.
    additional_deps=[EVAL_BASELINES],
    pool=WRITER_POOL,
    description="Publishes the new index version (the `serving` tag RAG apps read) when it passes "
    "the publication gate against the served one: drift per source within `serving.limits`, no "
    "eval regression caused by the index. Held back, it stays a candidate, warns and alerts "
    "`promotion_blocked`; under `serving.publish: gated` it waits for the `promote_index_version` "
    "job (or `corpusgov index promote N`).",
)
def publication_gate(corpusgov: CorpusgovResource, embedder: EmbedderResource) -> dg.AssetCheckResult:
    settings = corpusgov.settings()
    # The gate and the publication write the ledger and the tag: it waits its turn like the assets.
    outcome = publish_candidates(settings, embedder.embedder(settings), wait_seconds=WRITER_WAIT_SECONDS)
    result = publication_gate_result(settings, outcome)
    if outcome.candidate is None:
        return result
    # A version was committed: the retention policy lets old ones go, as after a CLI ingest.
    cleanup = retain_after_commit(settings, outcome.candidate)
    if cleanup is None:
        return result
    retention = (
        f"removed index versions {', '.join(map(str, cleanup.cleaned)) or 'none'}, "
        f"freed {cleanup.bytes_freed:,} bytes (`retention:` in corpusgov.yaml)"
    )
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata={**result.metadata, "retention": retention},
    )


def publication_gate_result(settings: Settings, outcome: PublicationOutcome) -> dg.AssetCheckResult:
    """The check's verdict on what `publish_candidates` did. The `promotion_blocked` alert of a
    held-back version comes from the gate's row in the ledger (contract_alert_sensor sends it, once
    per version), as on the CLI path: nothing here raises it."""
    ledger = Ledger.of(settings)
    served = ledger.serving_version()
    verdict = outcome.verdict
    failures = verdict.failures() if verdict is not None else []
    metadata: dict[str, Any] = {
        "served_version": served.index_version if served is not None else "none yet",
        "candidate": outcome.candidate if outcome.candidate is not None else "none (nothing new)",
        "published": outcome.published is not None,
        "failures": dg.MetadataValue.md("\n".join(f"- {line}" for line in failures) or "none"),
    }
    if verdict is not None:
        metadata["drift"] = dg.MetadataValue.md(
            markdown_table(
                ["source", "stat", "served", "candidate", "limit", "ok"],
                [
                    [c.source, c.stat, _number(c.served), _number(c.candidate), c.limit or "-", _ok(c.passed)]
                    for c in verdict.drift
                ],
            )
            if verdict.drift
            else "nothing compared"
        )
        if verdict.notes:
            metadata["notes"] = dg.MetadataValue.md("\n".join(f"- {note}" for note in verdict.notes))
    # The stats of the newest version, numeric: the check's history plots them across runs.
    latest = ledger.latest_index_version()
    if latest is not None:
        metadata["stats_of_version"] = dg.MetadataValue.int(latest.index_version)
        for stats in ledger.version_stats(latest.index_version):
            name = stats.source
            metadata[f"{name} chunks/doc"] = dg.MetadataValue.float(round(stats.chunks_per_document, 4))
            if stats.median_chars is not None:
                metadata[f"{name} median chars"] = dg.MetadataValue.float(float(stats.median_chars))
            if stats.p95_chars is not None:
                metadata[f"{name} p95 chars"] = dg.MetadataValue.float(float(stats.p95_chars))
            metadata[f"{name} short chunk rate"] = dg.MetadataValue.float(round(stats.short_chunk_rate, 4))
            metadata[f"{name} AI share"] = dg.MetadataValue.float(round(stats.ai_share, 4))

    candidate = outcome.candidate
    if outcome.published is not None:
        passed = True
        description = (
            f"Published index version {outcome.published.index_version}: RAG apps reading `serving` "
            "read it now."
        )
        metadata["next_step"] = "Nothing to do."
    elif candidate is None:
        passed = True
        description = (
            f"Nothing new to publish: RAG apps read index version {served.index_version}."
            if served is not None
            else "Nothing to publish: no index version is committed yet."
        )
        metadata["next_step"] = "Nothing to do."
    elif verdict is not None and not verdict.passed:
        passed = False
        description = f"Index version {candidate} held back, still a candidate: " + "; ".join(failures)
        metadata["next_step"] = (
            f"Fix what moved and run again, or publish it anyway: launch `promote_index_version` with "
            f"`index_version: {candidate}` (or `corpusgov index promote {candidate}`)."
        )
    else:
        passed = True
        description = f"Index version {candidate} passed the gate and waits for a promote."
        metadata["waiting"] = outcome.waiting or "waits for a promote"
        metadata["next_step"] = (
            f"Launch `promote_index_version` with `index_version: {candidate}` "
            f"(or `corpusgov index promote {candidate}`)."
        )
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata, description=description
    )


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _ok(passed: bool) -> str:
    return "yes" if passed else "**no**"
