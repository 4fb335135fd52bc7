"""`embedding.backend: torch`: the bundled model through sentence-transformers on CPU, the
reference the other backends are measured against. torch and sentence-transformers are imported on
first use, so choosing this backend costs nothing until a text is embedded."""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.embedding.model import model_folder, reference_model_id
from pipelines.settings import EmbeddingConfig


@lru_cache(maxsize=4)
def _load_sentence_transformer(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU from a local folder (default: the bundled MiniLM)."""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 16) -> None:
        self.model_dir = model_folder(model_path)
        self.batch_size = batch_size

    @property
    def model_id(self) -> str:
        # The reference: no backend suffix (indexes built before the other backends keep their id).
        return reference_model_id(self.model_dir)

    @property
    def dimensions(self) -> int:
        model = self.model
        # sentence-transformers 6 renamed the method; 5.x only has the old name.
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def model(self) -> Any:
        return _load_sentence_transformer(self.model_dir)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def build(config: EmbeddingConfig) -> SentenceTransformerEmbedder:
    """The embedder `embedding.backend: torch` runs (pipelines/embedding/backends.py)."""
    return SentenceTransformerEmbedder(model_path=config.model_path, batch_size=config.batch_size)
