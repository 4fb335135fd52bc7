"""The Dagster code location (workspace.yaml points here).

Definitions are built when Dagster loads the location, never at import: each folder of
pipelines/defs/ (sources, index, evals, automation) contributes its own, and the resources are
bound here, once.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.defs.resources import default_resources


def build_definitions(resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The whole code location; `resources` replaces defaults by name (tests bind a fake embedder)."""
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    return loaded.with_resources({**default_resources(), **(resources or {})})


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
