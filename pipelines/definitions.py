"""The Dagster code location (workspace.yaml points here).

Definitions are built when Dagster loads the location, never at import: each folder of
pipelines/defs/ (sources, index, evals, automation) contributes its own, and the resources are
bound here, once.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.defs.automation.jobs import INGESTION_JOB_NAME
from pipelines.defs.deployment import deployment_executor, require_valid_executor_config
from pipelines.defs.resources import default_resources


def build_definitions(resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The whole code location; `resources` replaces defaults by name (tests bind a fake embedder),
    the executor is the deployment's (pipelines/defs/deployment.py)."""
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    bound = loaded.with_resources({**default_resources(), **(resources or {})})
    executor = deployment_executor()
    if executor is None:
        return bound
    deployed = dg.Definitions.merge(bound, dg.Definitions(executor=executor))
    # A config the executor rejects fails the code location's load, not every run it launches.
    require_valid_executor_config(deployed.resolve_job_def(INGESTION_JOB_NAME))
    return deployed


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
