"""The bundled model on ONNX Runtime or OpenVINO: exported once from torch, cached, run offline.

Measured on 2 cores (bench/ingest.py prints it for your machine): OpenVINO embeds 2.2x faster than
torch in f32 and 3.5x in bf16, ONNX Runtime 1.5x; all at cosine >= 0.9999 to torch's vectors. The
vectors are close, not bit-identical, so the model id the index records carries the backend and
the precision (`...@sha256:<weights>+openvino-bf16`): the index's one-model guard then refuses to
mix them.

The export (torch.onnx, mean pooling and L2 normalisation inside the graph) runs once per weights
file and is cached under `<data_dir>/models/`; the tokenizer is the model folder's own
tokenizer.json, so after the export neither torch nor transformers is imported. OpenVINO reads the
ONNX file with its runtime; its converter (`openvino.tools.ovc`), the part that sends telemetry,
is never imported.
"""

import contextlib
import json
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipelines.embedding.model import MODEL_CACHE_ENV, model_name, weights_hash
from pipelines.errors import ConfigError, StorageError, first_line

logger = logging.getLogger(__name__)

# Bump when the exported graph changes: the cache key includes it, so old exports are not reused.
EXPORT_RECIPE = "onnx1"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Texts are padded to a multiple of this many tokens, chosen by their own length (see `embed`).
PAD_BUCKET = 32


class _Runner(Protocol):
    input_names: tuple[str, ...]

    def run(self, batches: Iterable[dict[str, np.ndarray]]) -> list[np.ndarray]:
        """The model's output for each batch of feeds, in order. `batches` is consumed lazily, so
        a long call holds only the batches in flight."""


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
            _trace_to_onnx(model_dir, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        notify("Exported the embedding model.")
    return target


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


class _OnnxRuntime:
    def __init__(self, onnx_path: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ConfigError(
                "embedding.backend: onnx needs onnxruntime: pip install onnxruntime "
                "(make install does), or choose another backend."
            ) from err
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_names = tuple(i.name for i in self.session.get_inputs())

    def run(self, batches: Iterable[dict[str, np.ndarray]]) -> list[np.ndarray]:
        return [np.asarray(self.session.run(None, feeds)[0], dtype=np.float32) for feeds in batches]


def _import_openvino() -> Any:
    try:
        import openvino as ov
    except ImportError as err:
        raise ConfigError(
            "embedding.backend: openvino needs OpenVINO: pip install openvino "
            "(make install does), or set embedding.backend: onnx or torch."
        ) from err
    return ov


def openvino_precision(requested: str) -> str:
    """`auto` is bf16 where the CPU plugin computes bf16 natively, else f32. Decided without
    compiling the model, so a run that embeds nothing (a no-op ingest) knows its model id cheaply."""
    if requested != "auto":
        return requested
    capabilities = _import_openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in capabilities else "f32"


# Streams beyond this share the cores: each holds its own activations (about 50 MB for a batch of
# 16 at 256 tokens), and more streams than this buy nothing on this model.
MAX_STREAMS = 8


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (taskset, cpusets), within its cgroup's
    CPU quota (a container's `--cpus`, a pod's CPU limit), which affinity does not show."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cores, quota)) if quota else cores


def _cgroup_cpu_quota() -> int | None:
    """The cgroup's CPU quota in whole cores (rounded up); None when there is none or no file."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
    except (OSError, ValueError):
        try:
            quota = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text().strip()  # cgroup v1
            period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        return None if quota in ("max", "-1") else -(-int(quota) // int(period))
    except (ValueError, ZeroDivisionError):
        return None


class _OpenVino:
    """Streams of one thread each (up to MAX_STREAMS; past that, the cores are shared among
    them), each running its own batch. One stream with every core on each batch (OpenVINO's
    latency mode) embeds as fast on an idle machine, but its threads meet at a barrier in every
    layer: when the run's parsing takes a core, the other thread waits. Measured on 2 cores beside
    a process busy on one: 28 chunks/s in latency mode, 48 with two streams (62 for either alone),
    with vectors equal to the bit."""

    def __init__(self, onnx_path: Path, precision: str, cache_dir: Path, threads: int | None = None) -> None:
        self._ov = _import_openvino()
        core = self._ov.Core()
        # Compiled kernels are cached too: later processes start in a fraction of the time.
        core.set_property({"CACHE_DIR": str(cache_dir / "openvino-cache")})
        cores = threads or available_cores()
        self._compiled = core.compile_model(
            core.read_model(str(onnx_path)),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": precision,
                "PERFORMANCE_HINT": "THROUGHPUT",
                "NUM_STREAMS": min(cores, MAX_STREAMS),
                "INFERENCE_NUM_THREADS": cores,
            },
        )
        actual = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        if actual != precision:
            # The model id promised `precision`: vectors of another one must not enter the index.
            raise ConfigError(
                f"OpenVINO runs the embedding model in {actual} on this CPU, not {precision}. Set "
                f"embedding.precision: {actual} in corpusgov.yaml (an index built in {precision} "
                "then needs a new data_dir)."
            )
        self.requests = self._new_requests()
        self.input_names = tuple(p.get_any_name() for p in self._compiled.inputs)
        # The runner is shared by every embedder of the process (`_load_runner`): one call at a time.
        self._lock = threading.Lock()

    def _new_requests(self) -> Any:
        # As many requests as the streams OpenVINO made (it may make fewer than asked).
        count = int(self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        return self._ov.AsyncInferQueue(self._compiled, max(1, count))

    def run(self, batches: Iterable[dict[str, np.ndarray]]) -> list[np.ndarray]:
        outputs: dict[int, np.ndarray] = {}
        errors: list[BaseException] = []

        def finished(request: Any, index: int) -> None:
            try:
                outputs[index] = np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)
            except BaseException as err:  # noqa: BLE001 - raised in OpenVINO's thread, it would abort the process
                errors.append(err)

        with self._lock:
            self.requests.set_callback(finished)
            count = 0
            try:
                for count, feeds in enumerate(batches, start=1):
                    self.requests.start_async(feeds, count - 1)  # waits while every stream is busy
                self.requests.wait_all()
            except BaseException:
                self._discard_requests()
                raise
        if errors:
            raise errors[0]
        if len(outputs) != count:
            raise RuntimeError(f"OpenVINO answered {len(outputs)} of {count} batches")
        return [outputs[index] for index in range(count)]

    def _discard_requests(self) -> None:
        """After a failure: wait for every request still running, so none answers into the next
        call, then start from new ones, since a failed request fails every later call of its queue."""
        for request in self.requests:
            with contextlib.suppress(Exception):
                request.wait()
        self.requests = self._new_requests()


class ExportedModelEmbedder:
    """The Embedder protocol (pipelines/embedding/model.py) on ONNX Runtime or OpenVINO."""

    def __init__(
        self,
        model_dir: Path,
        backend: str,
        precision: str = "auto",
        batch_size: int = 16,
        cache_dir: Path | None = None,
        notify: Callable[[str], None] | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in ("onnx", "openvino"):
            raise ConfigError(f"Unknown embedding backend {backend!r}: use torch, onnx or openvino.")
        self.model_dir = model_dir
        self.backend = backend
        self.requested_precision = precision
        self.batch_size = batch_size
        self.cache_dir = cache_dir or model_dir / ".corpusgov-export"
        self.notify = notify or logger.info
        # The CPU threads the model may use; None: the runtime's default (every core).
        self.threads = threads

    @cached_property
    def precision(self) -> str:
        return "f32" if self.backend == "onnx" else openvino_precision(self.requested_precision)

    @property
    def model_id(self) -> str:
        reference = f"{model_name(self.model_dir)}@sha256:{weights_hash(self.model_dir)[:16]}"
        return f"{reference}+{self.backend}-{self.precision}"

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
    def _runner(self) -> _Runner:
        return _load_runner(
            self.model_dir, self.backend, self.precision, self.cache_dir, self.notify, self.threads
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


_RUNNERS: dict[tuple[Path, str, str, Path, int | None], _Runner] = {}


def _load_runner(
    model_dir: Path,
    backend: str,
    precision: str,
    cache_dir: Path,
    notify: Callable[[str], None],
    threads: int | None = None,
) -> _Runner:
    """One compiled model per process and configuration, shared by every embedder built on it."""
    key = (model_dir, backend, precision, cache_dir, threads)
    if key not in _RUNNERS:
        _RUNNERS[key] = _build_runner(model_dir, backend, precision, cache_dir, notify, threads)
    return _RUNNERS[key]


def _build_runner(
    model_dir: Path,
    backend: str,
    precision: str,
    cache_dir: Path,
    notify: Callable[[str], None],
    threads: int | None,
) -> _Runner:
    folder = cache_dir / f"{weights_hash(model_dir)[:16]}-{EXPORT_RECIPE}"
    try:
        onnx_path = export_onnx(model_dir, folder / "model.onnx", notify)
        try:
            return _open_runner(onnx_path, backend, precision, folder, threads)
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 - any reader error means an unusable file
            # A cached export that no longer loads (damaged on disk): export it again, once.
            notify(f"The cached model export in {folder} does not load ({first_line(err)}); exporting again.")
            shutil.rmtree(folder, ignore_errors=True)
            onnx_path = export_onnx(model_dir, folder / "model.onnx", notify)
            return _open_runner(onnx_path, backend, precision, folder, threads)
    except OSError as err:
        raise StorageError(
            f"Cannot write the embedding model export to {folder}: {err.strerror or err}. Free space "
            f"there, or set {MODEL_CACHE_ENV} to a folder with about 200 MB free."
        ) from err


def _open_runner(onnx_path: Path, backend: str, precision: str, folder: Path, threads: int | None) -> _Runner:
    if backend == "onnx":
        return _OnnxRuntime(onnx_path, threads)
    return _OpenVino(onnx_path, precision, folder, threads)
