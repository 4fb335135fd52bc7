"""Embedding runs beside parsing and assessment, on the CLI and in the Dagster job: the vectors are
the same as embedding afterwards, an embedder that fails mid-run fails the run and commits nothing,
and the job's `chunk_index` writes the vectors its source assets embedded instead of embedding
again."""

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

import pipelines.run.embedding_prefetch as embedding_prefetch
import pipelines.run.ingestion as ingestion
import pipelines.run.spool as chunk_spool
from pipelines.definitions import build_definitions
from pipelines.defs.resources import EmbedderResource
from pipelines.document.chunking import Chunk
from pipelines.errors import CorpusgovError
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.run.embedding_prefetch import EmbeddingPrefetch
from pipelines.run.ingestion import run_ingestion
from pipelines.run.spool import ChunkSpool
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

TOPICS = (
    "receiving",
    "shipping",
    "returns",
    "inventory",
    "cycle counts",
    "dock safety",
    "forklifts",
    "labelling",
    "cold chain",
    "hazmat",
    "cross-docking",
    "kitting",
)


class ThreadRecordingEmbedder(FakeEmbedder):
    """The fake embedder, noting the thread and the moment of every call."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.moments: list[float] = []
        self.fail_on_call = fail_on_call

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        self.moments.append(time.monotonic())
        if self.fail_on_call is not None and len(self.threads) == self.fail_on_call:
            raise CorpusgovError("the embedding model stopped (simulated)")
        return super().embed(texts)


def _corpus(project: Path) -> None:
    for topic in TOPICS:
        write_doc(project / "corpus", f"{topic.replace(' ', '-')}.md", procedure_text(topic, steps=14))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few chunks per batch, so a small corpus shows embedding start before parsing ends.
    monkeypatch.setattr(embedding_prefetch, "GATHER", 4)


def test_chunks_waiting_for_the_embedder_go_in_one_larger_call_and_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing outruns embedding: what piled up while the model was busy goes in calls of up to
    MAX_GATHER texts (fewer part-filled batches), and the spool keeps the order of submission."""
    monkeypatch.setattr(embedding_prefetch, "GATHER", 4)
    monkeypatch.setattr(embedding_prefetch, "MAX_GATHER", 16)
    release = threading.Event()

    class SlowFirstCall(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            self.sizes.append(len(texts))
            release.wait(timeout=30)  # the model is busy while the next 40 chunks arrive
            return super().embed(texts)

    embedder = SlowFirstCall()
    chunks = [Chunk(f"c{i}", f"doc{i // 5}", i % 5, f"chunk number {i}") for i in range(44)]
    with EmbeddingPrefetch(embedder, ChunkSpool(str(tmp_path))) as prefetch:
        prefetch.submit(chunks[:4])
        deadline = time.monotonic() + 10
        while not embedder.sizes and time.monotonic() < deadline:
            time.sleep(0.01)
        prefetch.submit(chunks[4:], already_embedded=["c43"])
        release.set()
        path = prefetch.finish()

    assert embedder.sizes == [4, 16, 16, 7], "the first 4, then what waited, 16 at a time"
    spooled = pa.Table.from_batches(list(chunk_spool.spooled_batches([path])))
    assert spooled.column("chunk_id").to_pylist() == [c.chunk_id for c in chunks]
    assert spooled.column("vector").to_pylist()[-1] is None, "a chunk the index holds is not embedded"
    assert sorted(embedder.embedded_texts) == sorted(c.text for c in chunks[:43])


def test_a_first_ingest_embeds_while_it_still_parses_and_stores_the_same_vectors(
    project: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(project)
    parsed_at: list[float] = []
    real_process_file = ingestion.process_file

    def process_file(*args: object, **kwargs: object) -> object:
        outcome = real_process_file(*args, **kwargs)  # type: ignore[arg-type]
        parsed_at.append(time.monotonic())
        return outcome

    monkeypatch.setattr(ingestion, "process_file", process_file)
    embedder = ThreadRecordingEmbedder()
    settings = load_settings()
    report = run_ingestion(settings, embedder)

    assert report.chunks_embedded > 2 * len(TOPICS)
    assert set(embedder.threads) == {"corpusgov-embed"}, "every chunk embedded beside parsing"
    assert embedder.moments[0] < parsed_at[-1], "embedding started before the last file was parsed"
    table = ChunkIndex(settings.lancedb_uri).table().to_arrow()
    texts, stored = (
        table.column("text").to_pylist(),
        np.stack(table.column("vector").to_numpy(zero_copy_only=False)),
    )
    assert np.allclose(stored, FakeEmbedder().embed(texts)), "the vectors of embedding afterwards"
    assert sorted(embedder.embedded_texts) == sorted(texts), "each chunk embedded once"

    # An edit re-embeds only the edited document's new chunks, beside parsing as well.
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving", steps=14) + "\nA new step.\n")
    again = ThreadRecordingEmbedder()
    report = run_ingestion(settings, again)
    assert report.index_version is not None and report.index_version.modified == ("docs/receiving.md",)
    assert 0 < len(again.embedded_texts) == report.chunks_embedded < report.chunks_reused
    assert reconcile(settings).consistent


def test_an_embedder_failing_mid_run_fails_the_run_and_commits_nothing(
    project: Path, small_batches: None
) -> None:
    _corpus(project)
    settings = load_settings()
    with pytest.raises(CorpusgovError, match="embedding model stopped"):
        run_ingestion(settings, ThreadRecordingEmbedder(fail_on_call=2))
    assert Ledger.of(settings).latest_index_version() is None
    assert reconcile(settings).consistent
    report = run_ingestion(settings, ThreadRecordingEmbedder())
    assert report.state_counts["indexed"] == len(TOPICS) and reconcile(settings).consistent


@pytest.mark.dagster
def test_the_job_writes_the_vectors_its_source_assets_embedded(project: Path, small_batches: None) -> None:
    _corpus(project)
    shared = ThreadRecordingEmbedder()

    class SharedEmbedderResource(EmbedderResource):
        def embedder(self, settings: object) -> FakeEmbedder:
            return shared

    job = build_definitions({"embedder": SharedEmbedderResource()}).resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
    assert result.success
    [materialization] = result.asset_materializations_for_node("chunk_index")
    embedded = materialization.metadata["chunks_embedded"].value
    assert embedded == len(shared.embedded_texts) > 2 * len(TOPICS)
    assert set(shared.threads) == {"corpusgov-embed"}, "chunk_index embedded nothing itself"
    settings = load_settings()
    assert not (settings.data_dir / "staging" / result.run_id).exists(), "staging removed with the run"
    assert reconcile(settings).consistent


def test_a_run_larger_than_a_batch_streams_through_its_spool_into_one_index_version(
    project: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five chunks a batch: the corpus's chunks cross many spool row groups and commit batches.
    monkeypatch.setattr(chunk_spool, "SPOOL_ROWS", 5)
    _corpus(project)
    write_doc(project / "corpus", "stub.md", "Too short.")  # quarantined: spooled, never indexed
    settings = load_settings()
    report = run_ingestion(settings, ThreadRecordingEmbedder())

    assert report.index_version is not None and report.index_version.lance_version >= 1
    assert report.state_counts["indexed"] == len(TOPICS)
    table = ChunkIndex(settings.lancedb_uri).table().to_arrow()
    assert table.num_rows == report.chunks_embedded > 5 * 4
    assert "docs/stub.md" not in set(table.column("doc_id").to_pylist())
    texts, stored = (
        table.column("text").to_pylist(),
        np.stack(table.column("vector").to_numpy(zero_copy_only=False)),
    )
    assert np.allclose(stored, FakeEmbedder().embed(texts)), "each chunk keeps its own vector"
    assert len(set(table.column("chunk_id").to_pylist())) == table.num_rows
    assert not any((settings.data_dir / "staging").glob("*")), "the run's spools are removed with it"
    assert reconcile(settings).consistent

    # A failed run leaves no spool behind either, and the next run commits the whole corpus.
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving", steps=30))
    with pytest.raises(CorpusgovError, match="embedding model stopped"):
        run_ingestion(settings, ThreadRecordingEmbedder(fail_on_call=1))
    assert not any((settings.data_dir / "staging").glob("*"))
    assert reconcile(settings).consistent
    report = run_ingestion(settings, ThreadRecordingEmbedder())
    assert report.index_version is not None and report.index_version.modified == ("docs/receiving.md",)
    assert report.chunks_reused > 0 and reconcile(settings).consistent
