import dagster as dg

from pipelines.defs.index.assets import chunk_index
from pipelines.defs.index.checks import ledger_index_reconciliation

defs = dg.Definitions(assets=[chunk_index], asset_checks=[ledger_index_reconciliation])
