"""The machinery both exported backends share (onnx_backend.py, openvino_backend.py): the bundled model
exported once from torch to ONNX, cached, and run offline, tokenized and batched here.

Measured on 2 cores (bench/ingest.py prints it for your machine): OpenVINO embeds 2.2x faster than
torch in f32 and 3.5x in bf16, ONNX Runtime 1.5x; all at cosine >= 0.9999 to torch's vectors. The
vectors are close, not bit-identical, so the model id the index records carries the backend and
the precision (`...@sha256:<weights>+openvino-bf16`): the index's one-model guard then refuses to
mix them.

The export (torch.onnx, mean pooling and L2 normalisation inside the graph) runs once per weights
file, in a child process, and is cached under `<data_dir>/models/`; the tokenizer is the model
folder's own tokenizer.json, so the process that embeds never imports torch or transformers. A
backend brings only its `ExportRuntime`: the precision it runs in and the runner that reads the
export.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipelines.embedding.model import MODEL_CACHE_ENV, reference_model_id, weights_hash
from pipelines.errors import ConfigError, StorageError, first_line

logger = logging.getLogger(__name__)

# Bump when the exported graph changes: the cache key includes it, so old exports are not reused.
EXPORT_RECIPE = "onnx1"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Texts are padded to a multiple of this many tokens, chosen by their own length (see `embed`).
PAD_BUCKET = 32


class Runner(Protocol):
    """The export, loaded by one backend's runtime and shared by every embedder of the process."""

    input_names: tuple[str, ...]

    def run(self, batches: Iterable[dict[str, np.ndarray]]) -> list[np.ndarray]:
        """The model's output for each batch of feeds, in order. `batches` is consumed lazily, so
        a long call holds only the batches in flight."""


@dataclass(frozen=True)
class ExportRuntime:
    """What an exported backend adds to the machinery here (its module's `RUNTIME`)."""

    # Its `embedding.backend` value, which the model id ends with (`+<name>-<precision>`).
    name: str
    # The precision it runs a requested `embedding.precision` in ("auto" resolved).
    precision: Callable[[str], str]
    # Its runner on (the cached export, the precision, the export's folder, threads or None).
    open_runner: Callable[[Path, str, Path, int | None], Runner]


def _pooling_mode(model_dir: Path) -> str:
    """The sentence-transformers pooling of the folder; the export builds it into the graph."""
    config_file = next(iter(sorted(model_dir.glob("*_Pooling/config.json"))), None)
    if config_file is None:
        return "mean"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ConfigError(
        f"The model in {model_dir} pools in a way the ONNX/OpenVINO export does not build "
        f"({config_file.name}: {config}). Set embedding.backend: torch in corpusgov.yaml."
    )


def _max_seq_length(model_dir: Path) -> int:
    config_file = model_dir / "sentence_bert_config.json"
    if config_file.is_file():
        value = json.loads(config_file.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return 512


def export_onnx(model_dir: Path, target: Path, notify: Callable[[str], None]) -> Path:
    """Export the folder's model to `target` once; concurrent callers wait for the first."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return target
        notify(f"Exporting the embedding model to ONNX, once (cached in {target.parent}) ...")
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        try:
            _trace_in_child(model_dir, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        notify("Exported the embedding model.")
    return target


# The child's exit status when it could not write the export (a full disk, permissions).
_EXIT_CANNOT_WRITE = 3


def _trace_in_child(model_dir: Path, target: Path) -> None:
    """The export, in a child process: it needs torch and sentence-transformers, 600 MB that a
    process keeps once imported, and the run that exports then compiles and runs the export, so
    the run's process would carry both (its peak went from 840 MB to 1,290 on the sample corpus)."""
    command = [sys.executable, "-P", "-m", "pipelines.embedding.onnx_export", str(model_dir), str(target)]
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return
    said = next(iter(reversed(done.stderr.strip().splitlines())), f"exit status {done.returncode}")
    if done.returncode == _EXIT_CANNOT_WRITE:
        raise OSError(said)  # a StorageError for the user, as when the export ran in this process
    raise ConfigError(
        f"Exporting the embedding model in {model_dir} to ONNX failed: {said[:300]}. Set "
        "embedding.backend: torch in corpusgov.yaml to embed without the export."
    )


def _trace_to_onnx(model_dir: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    pooling = _pooling_mode(model_dir)
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    transformer: Any = model[0].auto_model

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer: Any = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = model.tokenizer(
        ["a short text", "a somewhat longer text to pad against"], padding=True, return_tensors="pt"
    )
    args = tuple(sample[name] for name in INPUT_NAMES)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about Python branches in the attention code; the mask is always
        # given, so the traced branch is the one every batch takes.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(),
            args,
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


class ExportedModelEmbedder:
    """The Embedder protocol (pipelines/embedding/model.py) on the ONNX export, run by a backend's
    runtime (ONNX Runtime or OpenVINO). pipelines/embedding/backends.py builds it by backend name."""

    def __init__(
        self,
        model_dir: Path,
        runtime: ExportRuntime,
        precision: str = "auto",
        batch_size: int = 16,
        cache_dir: Path | None = None,
        notify: Callable[[str], None] | None = None,
        threads: int | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.runtime = runtime
        self.backend = runtime.name
        self.requested_precision = precision
        self.batch_size = batch_size
        self.cache_dir = cache_dir or model_dir / ".corpusgov-export"
        self.notify = notify or logger.info
        # The CPU threads the model may use; None: the runtime's default (every core).
        self.threads = threads

    @cached_property
    def precision(self) -> str:
        return self.runtime.precision(self.requested_precision)

    @property
    def model_id(self) -> str:
        return f"{reference_model_id(self.model_dir)}+{self.backend}-{self.precision}"

    @cached_property
    def dimensions(self) -> int:
        return int(self.embed(["dimensions"]).shape[1])

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=_max_seq_length(self.model_dir))
        tokenizer.no_padding()  # padded here, by length bucket (`embed`)
        return tokenizer

    @cached_property
    def _pad_id(self) -> int:
        pad_id = self._tokenizer.token_to_id("[PAD]")
        return 0 if pad_id is None else int(pad_id)

    @cached_property
    def _runner(self) -> Runner:
        return _load_runner(
            self.model_dir, self.runtime, self.precision, self.cache_dir, self.notify, self.threads
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in the order of `texts`. Each text is padded to a length that depends on its own
        tokens only (the next multiple of `PAD_BUCKET`), and batched with texts of that length, so
        a chunk gets the same vector whatever it was embedded with (another document, another
        shard, the CLI or a Dagster step). Padded to its batch's longest text, a bf16 vector moved
        by up to 8e-4 (measured on Python-docs chunks, alone against in a batch of 16)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        runner = self._runner
        encodings = self._tokenizer.encode_batch(list(texts))
        by_length: dict[int, list[int]] = {}
        for row, encoding in enumerate(encodings):
            by_length.setdefault(-(-len(encoding.ids) // PAD_BUCKET) * PAD_BUCKET, []).append(row)
        batches = [
            (length, rows[start : start + self.batch_size])
            for length, rows in sorted(by_length.items())
            for start in range(0, len(rows), self.batch_size)
        ]
        feeds = (self._padded([encodings[r] for r in batch], length) for length, batch in batches)
        outputs = runner.run({n: f[n] for n in runner.input_names} for f in feeds)
        vectors = {
            row: vector
            for (_, batch), output in zip(batches, outputs, strict=True)
            for row, vector in zip(batch, output, strict=True)
        }
        return np.vstack([vectors[row] for row in range(len(texts))])

    def _padded(self, encodings: list[Any], length: int) -> dict[str, np.ndarray]:
        columns = {name: np.zeros((len(encodings), length), dtype=np.int64) for name in INPUT_NAMES}
        columns["input_ids"][:] = self._pad_id
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            columns["input_ids"][row, :size] = encoding.ids
            columns["attention_mask"][row, :size] = encoding.attention_mask
            columns["token_type_ids"][row, :size] = encoding.type_ids
        return columns


_RUNNERS: dict[tuple[Path, str, str, Path, int | None], Runner] = {}


def _load_runner(
    model_dir: Path,
    runtime: ExportRuntime,
    precision: str,
    cache_dir: Path,
    notify: Callable[[str], None],
    threads: int | None = None,
) -> Runner:
    """One compiled model per process and configuration, shared by every embedder built on it."""
    key = (model_dir, runtime.name, precision, cache_dir, threads)
    if key not in _RUNNERS:
        _RUNNERS[key] = _build_runner(model_dir, runtime, precision, cache_dir, notify, threads)
    return _RUNNERS[key]


def _build_runner(
    model_dir: Path,
    runtime: ExportRuntime,
    precision: str,
    cache_dir: Path,
    notify: Callable[[str], None],
    threads: int | None,
) -> Runner:
    folder = cache_dir / f"{weights_hash(model_dir)[:16]}-{EXPORT_RECIPE}"
    try:
        onnx_path = export_onnx(model_dir, folder / "model.onnx", notify)
        try:
            return runtime.open_runner(onnx_path, precision, folder, threads)
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 - any reader error means an unusable file
            # A cached export that no longer loads (damaged on disk): export it again, once.
            notify(f"The cached model export in {folder} does not load ({first_line(err)}); exporting again.")
            shutil.rmtree(folder, ignore_errors=True)
            onnx_path = export_onnx(model_dir, folder / "model.onnx", notify)
            return runtime.open_runner(onnx_path, precision, folder, threads)
    except OSError as err:
        raise StorageError(
            f"Cannot write the embedding model export to {folder}: {err.strerror or err}. Free space "
            f"there, or set {MODEL_CACHE_ENV} to a folder with about 200 MB free."
        ) from err


if __name__ == "__main__":  # _trace_in_child: python -m pipelines.embedding.onnx_export MODEL_DIR TARGET
    try:
        _trace_to_onnx(Path(sys.argv[1]), Path(sys.argv[2]))
    except OSError as error:
        if error.errno is None:
            raise  # not the file system: transformers' "no file named ..." for a folder it cannot read
        print(error.strerror or error, file=sys.stderr)
        sys.exit(_EXIT_CANNOT_WRITE)
