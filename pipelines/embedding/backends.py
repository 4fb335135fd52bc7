"""The embedding backends, one record each, keyed by `embedding.backend` in corpusgov.yaml.

A backend is one module: torch_backend.py builds its embedder (`build(config)`); an exported
backend (onnx_backend.py, openvino_backend.py) brings the `RUNTIME` that runs the shared ONNX export
(onnx_export.py). A record names that module, which is imported only when the backend is chosen,
so the CLI's read commands and the Dagster code server never load a runtime they do not use.

A new backend is its module, its record below, its name in `EmbeddingConfig.backend`
(pipelines/settings.py) and its test (tests/pipelines/embedding/test_embedding_backend_registry.py
checks that the two lists agree).
"""

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from pipelines.embedding.model import MODEL_CACHE_ENV, Embedder, model_folder
from pipelines.errors import ConfigError
from pipelines.settings import Settings

if TYPE_CHECKING:
    from pipelines.embedding.onnx_export import ExportedModelEmbedder, ExportRuntime


@dataclass(frozen=True)
class EmbeddingBackend:
    # The value of `embedding.backend`; an exported backend's model id ends with `+<name>-<precision>`.
    name: str
    # The module that builds it, imported only when this backend is chosen.
    module: str
    # One line on what it runs, for people reading the registry.
    summary: str
    # How `embedder_from_settings` builds it. False: the module's `build(config)`. True: the shared
    # ExportedModelEmbedder on the module's `RUNTIME`, with the export cached in `export_cache_dir`.
    exported: bool


BACKENDS: dict[str, EmbeddingBackend] = {
    backend.name: backend
    for backend in (
        EmbeddingBackend(
            name="torch",
            module="pipelines.embedding.torch_backend",
            summary="sentence-transformers on torch: the reference vectors, the model id without suffix",
            exported=False,
        ),
        EmbeddingBackend(
            name="onnx",
            module="pipelines.embedding.onnx_backend",
            summary="ONNX Runtime on the cached ONNX export, in f32",
            exported=True,
        ),
        EmbeddingBackend(
            name="openvino",
            module="pipelines.embedding.openvino_backend",
            summary="OpenVINO on the cached ONNX export, in f32 or bf16, a stream per core (the default)",
            exported=True,
        ),
    )
}


def backend_named(name: str) -> EmbeddingBackend:
    if name not in BACKENDS:
        known = list(BACKENDS)
        choices = ", ".join(known[:-1]) + f" or {known[-1]}" if len(known) > 1 else known[0]
        raise ConfigError(f"Unknown embedding backend {name!r}: use {choices}.")
    return BACKENDS[name]


def _module(backend: EmbeddingBackend) -> ModuleType:
    return importlib.import_module(backend.module)


def export_cache_dir(settings: Settings) -> Path:
    """Where exported models are cached: `<data_dir>/models/`, or the folder MODEL_CACHE_ENV names."""
    cache = os.environ.get(MODEL_CACHE_ENV)
    return Path(cache) if cache else settings.data_dir / "models"


def embedder_from_settings(settings: Settings, notify: Callable[[str], None] | None = None) -> Embedder:
    """The embedder the CLI and Dagster use (tests substitute a deterministic fake). `notify`
    hears the one-time model export, which takes a few seconds."""
    config = settings.embedding
    backend = backend_named(config.backend)
    if not backend.exported:
        embedder: Embedder = _module(backend).build(config)
        return embedder
    return exported_embedder(
        model_folder(config.model_path),
        backend.name,
        precision=config.precision,
        batch_size=config.batch_size,
        cache_dir=export_cache_dir(settings),
        notify=notify,
        threads=config.threads,
    )


def exported_embedder(
    model_dir: Path,
    backend: str,
    precision: str = "auto",
    batch_size: int = 16,
    cache_dir: Path | None = None,
    notify: Callable[[str], None] | None = None,
    threads: int | None = None,
) -> "ExportedModelEmbedder":
    """The ONNX export of `model_dir` run by the exported backend named `backend` (bench/ and the
    tests build them side by side this way)."""
    from pipelines.embedding.onnx_export import ExportedModelEmbedder

    record = backend_named(backend)
    if not record.exported:
        exported = ", ".join(name for name, b in BACKENDS.items() if b.exported)
        raise ConfigError(f"The {backend} embedding backend does not run the ONNX export: use {exported}.")
    runtime: ExportRuntime = _module(record).RUNTIME
    return ExportedModelEmbedder(model_dir, runtime, precision, batch_size, cache_dir, notify, threads)
