import dagster as dg

from pipelines.defs.index.assets import chunk_index
from pipelines.defs.index.checks import (
    ai_generated_share_budget,
    ledger_index_reconciliation,
    quality_floor_check,
)

defs = dg.Definitions(assets=[chunk_index], asset_checks=[ledger_index_reconciliation, ai_generated_share_budget, quality_floor_check])
