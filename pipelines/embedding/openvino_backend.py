"""`embedding.backend: openvino` (the default): OpenVINO on the cached ONNX export (onnx_export.py),
in f32 or bf16, one stream per core within the process's CPU affinity and cgroup quota.

OpenVINO is imported when the precision or the runner is first needed. It reads the ONNX file with
its runtime; its converter (`openvino.tools.ovc`), the part that sends telemetry, is never imported:
`import openvino` would import it (for `convert_model`), and importing it starts OpenVINO's
telemetry, which sends a Google Analytics event from a child process unless a consent file in the
user's home says no. `_import_openvino` blocks the module first; openvino skips it on ImportError.
"""

import contextlib
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.embedding.onnx_export import ExportRuntime
from pipelines.errors import ConfigError

# Blocked before `import openvino` (see above): None in sys.modules makes its import fail.
_CONVERTER = "openvino.tools.ovc"


def _import_openvino() -> Any:
    sys.modules.setdefault(_CONVERTER, None)  # type: ignore[arg-type]
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
        # Compiled kernels are cached too: later processes start in a fraction of the time. Given
        # the file's path (not a model read first), a process that finds the cache never reads the
        # 90 MB ONNX graph at all: 50 MB less resident while it compiles, the same compiled model.
        core.set_property({"CACHE_DIR": str(cache_dir / "openvino-cache")})
        cores = threads or available_cores()
        self._compiled = core.compile_model(
            str(onnx_path),
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
        # The runner is shared by every embedder of the process (onnx_export._load_runner): one
        # call at a time.
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


RUNTIME = ExportRuntime(name="openvino", precision=openvino_precision, open_runner=_OpenVino)
