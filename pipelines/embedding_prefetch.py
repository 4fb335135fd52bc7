"""Embed while the run still parses and assesses: the first ingest costs about its embedding alone.

Parsing runs in the extraction workers (other processes) and assessment in this one; the model
releases the GIL while it computes. So a thread takes each prepared document's new chunks and
embeds them in length-sorted batches while the next files are parsed, and the commit finds their
vectors ready. A document the contract later quarantines was embedded for nothing: that is the
price of not waiting for the whole source's verdict, and violations are the exception.

Nothing here writes: vectors stay in memory (CLI) or in a staging file (Dagster,
pipelines/staging.py) until the commit protocol writes the run.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

import numpy as np

from pipelines.chunking import Chunk
from pipelines.embedding import Embedder

logger = logging.getLogger(__name__)

# Texts gathered before a batch is embedded: enough to sort by length (little padding) and keep
# the model busy, few enough that embedding starts while the first files are still parsed.
GATHER = 128
_DONE = object()


class EmbeddingPrefetch:
    """A background embedder fed chunk by chunk. `finish()` waits for it and returns the vectors.
    Use it as a context manager: leaving on an error stops the thread without waiting for it.
    `on_progress` hears (chunks embedded, chunks submitted so far)."""

    def __init__(self, embedder: Embedder, on_progress: Callable[[int, int], None] | None = None) -> None:
        self.embedder = embedder
        self.on_progress = on_progress
        self.vectors: dict[str, np.ndarray] = {}
        self.submitted = 0
        self._queue: queue.Queue[object] = queue.Queue()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="corpusgov-embed", daemon=True)
        self._thread.start()

    def submit(self, chunks: Iterable[Chunk], already_embedded: Iterable[str] = ()) -> None:
        """Queue the chunks the index does not hold yet (`already_embedded`: ids it holds)."""
        skip = set(already_embedded)
        for chunk in chunks:
            if chunk.chunk_id not in skip:
                self.submitted += 1
                self._queue.put((chunk.chunk_id, chunk.text))

    def finish(self) -> Mapping[str, np.ndarray]:
        """Every submitted chunk's vector. Re-raises what stopped the thread, if anything did."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.vectors

    def cancel(self) -> None:
        """Stop without waiting for the queue (the run failed): the thread ends at its next batch."""
        self._stop.set()
        self._queue.put(_DONE)

    def __enter__(self) -> "EmbeddingPrefetch":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            self.cancel()

    def _work(self) -> None:
        batch: list[tuple[str, str]] = []
        done = False
        while not done:
            item = self._queue.get()
            if item is _DONE:
                done = True
            else:
                batch.append(item)  # type: ignore[arg-type]
            if batch and (done or len(batch) >= GATHER):
                if self._stop.is_set():
                    return
                try:
                    self._embed(batch)
                except BaseException as err:  # handed to finish(), which re-raises it
                    self._error = err
                    return
                batch = []

    def _embed(self, batch: list[tuple[str, str]]) -> None:
        batch.sort(key=lambda item: len(item[1]), reverse=True)
        vectors = self.embedder.embed([text for _, text in batch])
        for (chunk_id, _), vector in zip(batch, vectors, strict=True):
            self.vectors[chunk_id] = vector
        if self.on_progress is not None:
            self.on_progress(len(self.vectors), self.submitted)
