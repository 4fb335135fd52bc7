"""`embedding.backend: onnx`: ONNX Runtime on the cached ONNX export (onnx_export.py), in f32.
onnxruntime is imported when the runner is first opened."""

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pipelines.embedding.onnx_export import ExportRuntime
from pipelines.errors import ConfigError


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


def _precision(requested: str) -> str:
    """ONNX Runtime runs the export as it is: f32 (embedding.precision is OpenVINO's)."""
    return "f32"


def _open_runner(onnx_path: Path, precision: str, folder: Path, threads: int | None) -> _OnnxRuntime:
    return _OnnxRuntime(onnx_path, threads)


RUNTIME = ExportRuntime(name="onnx", precision=_precision, open_runner=_open_runner)
