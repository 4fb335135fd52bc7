"""The ledger and the index account for exactly the same chunks."""

import dagster as dg

from pipelines.defs.index.assets import CHUNK_INDEX
from pipelines.defs.resources import CorpusgovResource
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
