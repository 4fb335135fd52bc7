"""The one resource: corpusgov's settings and the embedder, created lazily inside a run."""

from pathlib import Path

import dagster as dg

from pipelines.embedding import Embedder, embedder_from_settings
from pipelines.errors import CorpusgovError
from pipelines.settings import Settings, load_settings


class CorpusgovResource(dg.ConfigurableResource):
    """Where corpusgov.yaml is. Empty means $CORPUSGOV_CONFIG or ./corpusgov.yaml."""

    config_path: str = ""

    def settings(self) -> Settings:
        return load_settings(Path(self.config_path) if self.config_path else None)

    def embedder(self) -> Embedder:
        settings = self.settings()
        return embedder_from_settings(settings.embedding.model_path, settings.embedding.batch_size)


def configured_source_names() -> list[str]:
    """Source names at code-location load time; none if the config cannot be read yet."""
    try:
        return [s.name for s in load_settings().sources]
    except CorpusgovError:
        # A broken config must not take the whole code location down: the run reports it.
        return []
