"""The ledger and the index account for exactly the same chunks."""

import dagster as dg

from pipelines.defs.index.assets import CHUNK_INDEX
from pipelines.defs.resources import CorpusgovResource
from pipelines.budgets import ai_generated_shares, quality_floor
from pipelines.reconciliation import reconcile

LEDGER_INDEX_RECONCILIATION = "ledger_index_reconciliation"


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=LEDGER_INDEX_RECONCILIATION,
    description="Every chunk id in the ledger is in the LanceDB table and vice versa.",
)
def ledger_index_reconciliation(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    result = reconcile(corpusgov.settings())
    return dg.AssetCheckResult(
        passed=result.consistent,
        metadata={
            "ledger_chunks": result.ledger_chunks,
            "index_chunks": result.index_chunks,
            "only_in_ledger": result.only_in_ledger,
            "only_in_index": result.only_in_index,
            "sample_mismatches": ", ".join(result.sample) or "none",
        },
    )


AI_GENERATED_SHARE = "ai_generated_share_budget"
QUALITY_FLOOR = "quality_floor"


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=AI_GENERATED_SHARE,
    description="Per source, the share of indexed documents labelled ai_generated stays within the "
    "contract's maxAiGeneratedShare.",
)
def ai_generated_share_budget(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    shares = ai_generated_shares(corpusgov.settings())
    table = ["| source | indexed | ai_generated | share | budget |", "|---|---:|---:|---:|---:|"]
    table += [f"| {s.source} | {s.indexed} | {s.ai_generated} | {s.share:.1%} | {s.budget:.0%} |" for s in shares]
    over = [s.source for s in shares if not s.within_budget]
    return dg.AssetCheckResult(
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "by_source": dg.MetadataValue.md("\n".join(table)),
            "max_share": max((s.share for s in shares), default=0.0),
        },
        description=f"Over budget: {', '.join(over)}" if over else "Every source within its AI-generated budget.",
    )


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=QUALITY_FLOOR,
    description="No indexed document is graded F or below its source contract's minimum grade.",
)
def quality_floor_check(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    floor = quality_floor(corpusgov.settings())
    lines = ["| doc_id | grade | minimum |", "|---|---|---|"]
    lines += [f"| {d} | {g} | {m} |" for d, g, m in floor.below_floor[:20]]
    return dg.AssetCheckResult(
        passed=floor.holds,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "indexed": floor.indexed,
            "below_floor": len(floor.below_floor),
            "documents": dg.MetadataValue.md("\n".join(lines) if floor.below_floor else "none"),
        },
    )
