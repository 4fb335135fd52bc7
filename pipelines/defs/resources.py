"""The resources: corpusgov's settings, loaded once per run, and the embedder.

Both are typed `dg.ConfigurableResource`s bound in pipelines/definitions.py. Tests bind a
subclass of `EmbedderResource` there: it is the one place an embedder enters the Dagster path.
"""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from pipelines.embedding.backends import embedder_from_settings
from pipelines.embedding.model import Embedder
from pipelines.settings import Settings, load_settings


class CorpusgovResource(dg.ConfigurableResource[Any]):
    """corpusgov's settings, from the config the code location built its assets from:
    $CORPUSGOV_CONFIG, else ./corpusgov.yaml (`corpusgov serve --config` sets the variable). One
    way to name it, so a run never reads another file than the one its assets came from."""

    _settings: Settings | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        """Read once per run (per sensor evaluation), then shared by every caller in it."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings


class EmbedderResource(dg.ConfigurableResource[Any]):
    """The embedding model of corpusgov.yaml's `embedding:` section, loaded once per process."""

    def embedder(self, settings: Settings) -> Embedder:
        return embedder_from_settings(settings)


def default_resources() -> dict[str, dg.ConfigurableResource[Any]]:
    return {"corpusgov": CorpusgovResource(), "embedder": EmbedderResource()}
