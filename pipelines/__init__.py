"""corpusgov pipelines: ingestion stages, storage (ledger, index), the Dagster definitions and the CLI."""

from pipelines.offline import keep_offline

keep_offline()
