"""The Dagster code location (workspace.yaml points here)."""

import dagster as dg

from pipelines.defs.alerts import definitions as alerts_definitions
from pipelines.defs.evals import definitions as evals_definitions
from pipelines.defs.index import definitions as index_definitions
from pipelines.defs.ingestion import definitions as ingestion_definitions

defs = dg.Definitions.merge(
    ingestion_definitions.defs, index_definitions.defs, evals_definitions.defs, alerts_definitions.defs
)
