"""The same model on torch, ONNX Runtime and OpenVINO: vectors that match torch's, a model id that
names the backend and precision, one export cached and reused, and an index that never mixes
backends (ingest, search and eval runs all refuse, with the setting that fixes it)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipelines.embedding.backends import embedder_from_settings, exported_embedder
from pipelines.embedding.model import MODEL_CACHE_ENV, model_folder
from pipelines.embedding.onnx_export import ExportedModelEmbedder
from pipelines.embedding.torch_backend import SentenceTransformerEmbedder
from pipelines.errors import ConfigError, IndexStateError
from pipelines.governance.catalog import search_corpus
from pipelines.governance.ingest import ingest
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT, FakeEmbedder, procedure_text, write_doc

TORCH_ID = "sentence-transformers/all-MiniLM-L6-v2@sha256:0123456789abcdef"


def _texts() -> list[str]:
    """Real prose and code of the project, plus the edges: empty, non-Latin, past 256 tokens."""
    texts: list[str] = []
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "pipelines").glob("*.py"))[:6]]:
        body = path.read_text(encoding="utf-8")
        texts += [body[i : i + 900] for i in range(0, len(body), 900)][:20]
    return [*texts, "", "x", "é ü ß 中文 テキスト 🙂", "word " * 2000]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder().embed(_texts())


@pytest.mark.model
@pytest.mark.parametrize(
    ("backend", "precision"), [("onnx", "auto"), ("openvino", "f32"), ("openvino", "auto")]
)
def test_every_backend_matches_torch(
    torch_vectors: np.ndarray, backend: str, precision: str, tmp_path: Path
) -> None:
    embedder = exported_embedder(
        model_folder(None), backend, precision, cache_dir=Path(os.environ[MODEL_CACHE_ENV])
    )
    vectors = embedder.embed(_texts())
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert cosine.mean() >= 0.9999 and cosine.min() >= 0.999, (cosine.mean(), cosine.min())
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    # The index records which vectors these are: never the torch id, which they do not equal.
    assert embedder.model_id.startswith("sentence-transformers/all-MiniLM-L6-v2@sha256:")
    assert embedder.model_id.endswith(f"+{backend}-{embedder.precision}")
    assert embedder.precision in (("f32", "bf16") if precision == "auto" else (precision,))


@pytest.mark.model
@pytest.mark.parametrize(
    ("backend", "precision", "tolerance"), [("onnx", "auto", 1e-6), ("openvino", "auto", 0.0)]
)
def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(
    backend: str, precision: str, tolerance: float
) -> None:
    """The CLI, a Dagster step and each shard embed a chunk beside different chunks: its vector
    must be the same in all of them (bf16 moved it by up to 8e-4 when padded to its batch).
    OpenVINO gives the same bits; ONNX Runtime's kernels differ by batch size, by ~1e-8."""
    embedder = exported_embedder(
        model_folder(None), backend, precision, cache_dir=Path(os.environ[MODEL_CACHE_ENV])
    )
    short, long = "Forklift batteries charge in bay 4.", " ".join(_texts()) * 3
    alone = embedder.embed([short])
    beside_a_long_text = embedder.embed([long, short, "Cold storage is kept at 4 degrees."])[1]
    assert float(np.abs(alone[0] - beside_a_long_text).max()) <= tolerance


@pytest.mark.model
def test_openvino_runs_batches_side_by_side_and_returns_each_vector_in_its_texts_place() -> None:
    """The batches of one call run on several streams at once and finish in any order: each vector
    must still land in its text's row, and be the bits of that text embedded alone, whatever the
    number of streams (`embedding.threads`)."""
    texts = _texts()
    cache = Path(os.environ[MODEL_CACHE_ENV])
    two = exported_embedder(model_folder(None), "openvino", cache_dir=cache, batch_size=2, threads=2)
    one = exported_embedder(model_folder(None), "openvino", cache_dir=cache, batch_size=2, threads=1)
    together = two.embed(texts)
    alone = np.vstack([one.embed([text]) for text in texts])
    assert together.shape == (len(texts), 384)
    assert float(np.abs(together - alone).max()) == 0.0


@pytest.mark.model
@pytest.mark.parametrize("failure", ["a batch cannot be built", "OpenVINO fails a batch"])
def test_a_failed_call_raises_and_leaves_the_shared_model_embedding_as_before(failure: str) -> None:
    """The compiled model is shared by the process. A call that fails after some batches started
    must wait for them (none may answer into the next call's rows), and a request OpenVINO failed
    must not fail the calls after it (it would, left in its queue)."""
    embedder = exported_embedder(
        model_folder(None), "openvino", cache_dir=Path(os.environ[MODEL_CACHE_ENV]), batch_size=2
    )
    texts = _texts()
    expected = embedder.embed(texts)
    runner = embedder._runner
    padded = embedder._padded(embedder._tokenizer.encode_batch(texts[:2]), 256)
    feeds = {name: padded[name] for name in runner.input_names}

    def failing_after_three() -> Iterator[dict[str, np.ndarray]]:
        yield from (feeds, feeds, feeds)
        raise RuntimeError("a batch could not be built (simulated)")

    wrong_shape = {name: array[:, :, None] for name, array in feeds.items()}
    batches = failing_after_three() if failure == "a batch cannot be built" else [wrong_shape] * 3
    with pytest.raises(Exception):  # noqa: B017, PT011 - ours, or whichever error OpenVINO raises
        runner.run(batches)
    assert float(np.abs(embedder.embed(texts) - expected).max()) == 0.0


@pytest.mark.model
def test_the_export_happens_once_and_later_processes_reuse_it(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    probe = (
        "import sys; from pathlib import Path\n"
        "from pipelines.embedding.model import model_folder\n"
        "from pipelines.embedding.backends import exported_embedder\n"
        "e = exported_embedder(model_folder(None), 'openvino', cache_dir=Path(sys.argv[1]), notify=print)\n"
        "print(e.model_id, e.embed(['hello']).shape)\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, str(cache)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO_ROOT,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    first = run()
    assert "Exporting the embedding model to ONNX, once" in first and "(1, 384)" in first
    # The export's torch stays in its own process: the process that embeds keeps 450 MB less.
    assert "torch imported: False" in first
    exported = next(cache.glob("*/model.onnx"))
    stamp = exported.stat().st_mtime_ns
    # A stale partial file of an export that was killed is never taken for the model.
    (exported.parent / "model.onnx.partial-1").write_bytes(b"half an export")
    second = run()
    assert "Exporting" not in second and "(1, 384)" in second
    assert exported.stat().st_mtime_ns == stamp


def test_the_default_backend_is_openvino_and_torch_keeps_the_plain_id(project: Path) -> None:
    settings = load_settings()
    assert settings.embedding.backend == "openvino"
    embedder = embedder_from_settings(settings)
    assert isinstance(embedder, ExportedModelEmbedder)
    assert "+openvino-" in embedder.model_id
    settings.embedding.backend = "torch"
    torch_id = embedder_from_settings(settings).model_id
    assert "+" not in torch_id and embedder.model_id.startswith(torch_id + "+")


def test_an_index_built_with_torch_refuses_another_backend_with_the_setting_that_fixes_it(
    project: Path,
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    ingest(settings, FakeEmbedder(model_id=TORCH_ID))  # as `corpusgov ingest`: committed, then published
    other = FakeEmbedder(model_id=TORCH_ID + "+openvino-bf16")
    write_doc(project / "corpus", "shipping.md", procedure_text("shipping"))
    for attempt in (
        lambda: run_ingestion(settings, other),
        lambda: search_corpus(settings, other, "receiving dock"),
    ):
        with pytest.raises(IndexStateError) as refused:
            attempt()
        assert "Set embedding.backend: torch in corpusgov.yaml" in str(refused.value)
    # Nothing of the refused run reached the index, and the torch backend still works.
    assert search_corpus(settings, FakeEmbedder(model_id=TORCH_ID), "receiving dock")


def test_an_openvino_index_names_backend_and_precision_when_refusing_a_precision_change(
    project: Path,
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder(model_id=TORCH_ID + "+openvino-bf16"))
    with pytest.raises(IndexStateError) as refused:
        search_corpus(settings, FakeEmbedder(model_id=TORCH_ID + "+openvino-f32"), "receiving")
    assert "embedding.backend: openvino and embedding.precision: bf16" in str(refused.value)
    with pytest.raises(IndexStateError) as other_model:
        search_corpus(settings, FakeEmbedder(model_id="my-model@sha256:fedcba9876543210"), "x")
    assert "One index holds one embedding model" in str(other_model.value)


@pytest.mark.model
def test_a_damaged_cached_export_is_exported_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.embedding.onnx_export as onnx_export

    notes: list[str] = []
    first = exported_embedder(model_folder(None), "openvino", cache_dir=tmp_path, notify=notes.append)
    expected = first.embed(["the receiving dock opens at six"])
    exported = next(tmp_path.glob("*/model.onnx"))
    exported.write_bytes(exported.read_bytes()[:4096])  # a disk that lost most of the file
    monkeypatch.setattr(onnx_export, "_RUNNERS", {})  # as a new process would start
    again = exported_embedder(model_folder(None), "openvino", cache_dir=tmp_path, notify=notes.append)
    assert np.allclose(again.embed(["the receiving dock opens at six"]), expected, atol=1e-6)
    assert any("does not load" in note and "exporting again" in note for note in notes)


@pytest.mark.model
def test_a_full_disk_during_the_export_is_one_error_line_and_nothing_is_committed(
    project: Path, small_disk: Path
) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))

    def ingest(cache: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "ingest"],
            capture_output=True,
            text=True,
            env={**os.environ, MODEL_CACHE_ENV: str(cache)},
            timeout=600,
            cwd=project,
        )

    full = ingest(small_disk / "models")  # the export is ~90 MB, the disk 16 MiB
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr[-2000:]
    [error] = [line for line in full.stderr.splitlines() if line.startswith("Error:")]
    assert "No space left on device" in error and MODEL_CACHE_ENV in error
    assert not list((small_disk / "models").glob("*/*.partial-*")), "no half export left behind"
    assert Ledger.of(load_settings()).latest_index_version() is None
    done = ingest(project / "models")
    assert done.returncode == 0, done.stderr[-2000:]
    assert Ledger.of(load_settings()).latest_index_version() is not None


@pytest.mark.model
def test_a_model_folder_the_export_cannot_read_is_one_error_that_names_the_torch_backend(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    embedder = exported_embedder(folder, "openvino", cache_dir=tmp_path / "models")
    with pytest.raises(ConfigError, match="to ONNX failed: .*Set embedding.backend: torch"):
        embedder.embed(["hello"])
    assert not list((tmp_path / "models").glob("*/model.onnx*partial*")), "no half export left behind"


def test_openvino_is_loaded_without_its_converter_and_sends_no_telemetry(tmp_path: Path) -> None:
    """`import openvino` imports its converter, whose import starts a telemetry sender (a Google
    Analytics event from a child process) unless a consent file in the home folder says no. In a
    fresh process with an empty home, loading OpenVINO the way the backend does must start no
    telemetry and no child process."""
    probe = (
        "import multiprocessing, sys\n"
        "started = []\n"
        "multiprocessing.Process.start = lambda self: started.append(self)\n"
        "from pipelines.embedding.openvino_backend import openvino_precision\n"
        "print(openvino_precision('auto'))\n"
        "loaded = [m for m, module in sys.modules.items() if module is not None]\n"
        "print(sorted(m for m in loaded if 'telemetry' in m or m.startswith('openvino.tools')))\n"
        "print(len(started))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "HOME": str(tmp_path)},
        check=True,
        timeout=120,
    )
    precision, modules, children = done.stdout.split("\n")[:3]
    assert precision in ("bf16", "f32")
    assert modules == "[]", f"telemetry loaded: {modules}"
    assert children == "0"
    assert not (tmp_path / "intel").exists(), "no telemetry client id written"
