"""The registry of embedding backends (pipelines/embedding/backends.py): one record per value of
`embedding.backend`, each naming the module that builds it, and `embedder_from_settings` building
whatever record the name picks. No real model here: fake backend modules, a fake runner and a
word-level tokenizer stand in for them."""

import importlib
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

import pipelines.embedding.onnx_export as onnx_export
from pipelines.embedding import backends
from pipelines.embedding.backends import BACKENDS, EmbeddingBackend, embedder_from_settings, exported_embedder
from pipelines.embedding.model import MODEL_CACHE_ENV, weights_hash
from pipelines.embedding.onnx_export import EXPORT_RECIPE, PAD_BUCKET, ExportedModelEmbedder, ExportRuntime
from pipelines.errors import ConfigError
from pipelines.settings import EmbeddingConfig, Settings
from tests.conftest import FakeEmbedder


def _settings(tmp_path: Path, backend: str, **embedding: object) -> Settings:
    settings = Settings(config_path=tmp_path / "corpusgov.yaml", data_dir=tmp_path / "data")
    settings.embedding = EmbeddingConfig.model_construct(
        **{**EmbeddingConfig().model_dump(), **embedding, "backend": backend}
    )
    return settings


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: object) -> str:
    module = types.ModuleType(name)
    for attribute, value in attributes.items():
        setattr(module, attribute, value)
    monkeypatch.setitem(sys.modules, name, module)
    return name


def test_the_settings_literal_names_exactly_the_registered_backends() -> None:
    """A backend is its module, its record and its name in EmbeddingConfig.backend: the two lists
    (pipelines/settings.py may not import the registry) must agree."""
    literal = EmbeddingConfig.model_fields["backend"].annotation
    assert set(typing.get_args(literal)) == set(BACKENDS)
    assert EmbeddingConfig().backend in BACKENDS


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_each_record_names_a_module_that_builds_its_backend(name: str) -> None:
    record = BACKENDS[name]
    assert record.name == name
    assert record.summary and "\n" not in record.summary
    module = importlib.import_module(record.module)
    if record.exported:
        assert isinstance(module.RUNTIME, ExportRuntime) and module.RUNTIME.name == name
    else:
        assert callable(module.build)


def test_an_unknown_backend_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as unknown:
        embedder_from_settings(_settings(tmp_path, "tensorrt"))
    assert str(unknown.value) == "Unknown embedding backend 'tensorrt': use torch, onnx or openvino."
    with pytest.raises(ConfigError) as not_exported:
        exported_embedder(tmp_path, "torch")
    assert "\n" not in str(not_exported.value) and "onnx, openvino" in str(not_exported.value)


def test_embedder_from_settings_builds_the_record_the_name_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record, not an if on the name: another module under `torch` is what gets built, and a
    new name needs only its record."""
    built: list[EmbeddingConfig] = []

    def build(config: EmbeddingConfig) -> FakeEmbedder:
        built.append(config)
        return FakeEmbedder(model_id=f"fake@{config.batch_size}")

    module = _fake_module(monkeypatch, "tests_fake_torch_backend", build=build)
    monkeypatch.setitem(BACKENDS, "torch", EmbeddingBackend("torch", module, "a fake", exported=False))
    monkeypatch.setitem(BACKENDS, "fake", EmbeddingBackend("fake", module, "a fake", exported=False))
    for name in ("torch", "fake"):
        embedder = embedder_from_settings(_settings(tmp_path, name, batch_size=7))
        assert isinstance(embedder, FakeEmbedder) and embedder.model_id == "fake@7"
    assert [config.backend for config in built] == ["torch", "fake"]


class _FakeRunner:
    """Answers each row with (its tokens, its first token id, its padded length)."""

    input_names = ("input_ids", "attention_mask")

    def __init__(self, onnx_path: Path, precision: str, folder: Path, threads: int | None) -> None:
        self.opened = (onnx_path, precision, folder, threads)

    def run(self, batches: Iterable[dict[str, np.ndarray]]) -> list[np.ndarray]:
        outputs = []
        for feeds in batches:
            ids, mask = feeds["input_ids"], feeds["attention_mask"]
            padded = np.full(len(ids), ids.shape[1])
            outputs.append(np.stack([mask.sum(axis=1), ids[:, 0], padded], axis=1).astype(np.float32))
        return outputs


def _model_folder(root: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = root / "tiny-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"not really weights")
    words = ["[PAD]", "[UNK]", "receiving", "dock", "opens", "at", "six", "word"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder


def test_an_exported_record_runs_the_shared_export_with_its_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exported backend brings only its runtime: the model id, the export cache folder, the
    padding buckets and the runner shared by the process come from onnx_export."""
    model_dir = _model_folder(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv(MODEL_CACHE_ENV, str(cache))
    monkeypatch.setattr(onnx_export, "_RUNNERS", {})
    # The export already cached where the backend looks for it: no torch, no tracing.
    folder = cache / f"{weights_hash(model_dir)[:16]}-{EXPORT_RECIPE}"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"an export")
    requested: list[str] = []

    def precision(wanted: str) -> str:
        requested.append(wanted)
        return "f16"

    runtime = ExportRuntime(name="fake", precision=precision, open_runner=_FakeRunner)
    module = _fake_module(monkeypatch, "tests_fake_exported_backend", RUNTIME=runtime)
    monkeypatch.setitem(BACKENDS, "fake", EmbeddingBackend("fake", module, "a fake", exported=True))
    notes: list[str] = []
    settings = _settings(tmp_path, "fake", model_path=str(model_dir), threads=3, precision="bf16")

    embedder = embedder_from_settings(settings, notes.append)
    assert isinstance(embedder, ExportedModelEmbedder)
    assert embedder.model_id == f"tiny-model@sha256:{weights_hash(model_dir)[:16]}+fake-f16"
    assert requested == ["bf16"]
    texts = ["receiving dock", "word " * 40, "six"]
    vectors = embedder.embed(texts)
    assert vectors[:, 0].tolist() == [2, 40, 1]  # each text's row, in the texts' order
    assert vectors[:, 1].tolist() == [2, 7, 6]
    assert vectors[:, 2].tolist() == [PAD_BUCKET, 2 * PAD_BUCKET, PAD_BUCKET]
    runner = embedder._runner
    assert isinstance(runner, _FakeRunner)
    assert runner.opened == (folder / "model.onnx", "f16", folder, 3)
    assert notes == [], "a cached export is not exported again"
    # One runner per process and configuration, whichever way the embedder was built.
    again = exported_embedder(model_dir, "fake", "bf16", cache_dir=cache, threads=3)
    assert again._runner is runner
    assert backends.export_cache_dir(settings) == cache
