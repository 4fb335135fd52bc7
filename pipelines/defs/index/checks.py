"""Checks on the index: the ledger and LanceDB agree, and the corpus-level budgets hold."""

import dagster as dg

from pipelines.defs.index.assets import CHUNK_INDEX
from pipelines.defs.markdown import markdown_table
from pipelines.defs.resources import CorpusgovResource
from pipelines.governance.budgets import ai_generated_shares, quality_floor
from pipelines.governance.doctor import examine_data_dir

LEDGER_INDEX_RECONCILIATION = "ledger_index_reconciliation"
AI_GENERATED_SHARE = "ai_generated_share_budget"
QUALITY_FLOOR = "quality_floor"


@dg.asset_check(
    asset=CHUNK_INDEX,
    name=LEDGER_INDEX_RECONCILIATION,
    description="The invariants of `corpusgov doctor`: the ledger and LanceDB hold the same chunk "
    "ids, the table is at the ledger's version, tags match, every document is accounted for.",
)
def ledger_index_reconciliation(corpusgov: CorpusgovResource) -> dg.AssetCheckResult:
    report = examine_data_dir(corpusgov.settings())
    failing = [f for f in report.findings if not f.ok]
    return dg.AssetCheckResult(
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
