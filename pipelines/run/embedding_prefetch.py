"""Embed while the run still parses and assesses: the first ingest costs about its embedding alone.

Parsing runs in the extraction workers (other processes) and assessment in this one; the model
releases the GIL while it computes. So a thread takes each prepared document's chunks, embeds the
new ones in length-sorted batches while the next files are parsed, and writes them with their
vectors to the run's spool (pipelines/run/spool.py), where the commit finds them ready. A
document the contract later quarantines was embedded for nothing: that is the price of not
waiting for the whole source's verdict, and violations are the exception.

Nothing here writes the index: the spool is a staging file until the commit protocol writes the
run.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

import numpy as np

from pipelines.document.chunking import Chunk
from pipelines.embedding.model import Embedder
from pipelines.run.spool import ChunkSpool

logger = logging.getLogger(__name__)

# Texts gathered before a batch is embedded: enough to sort by length (little padding) and keep
# the model busy, few enough that embedding starts while the first files are still parsed. When
# more are waiting (parsing outruns embedding, as it does after the first files), the thread takes
# them all, up to MAX_GATHER: larger calls leave fewer part-filled batches (on 2 cores, 128 at a
# time embedded 5-13% slower than the whole corpus in one call; 512 at a time, as fast). A
# cancelled run stops at the end of the call under way: 512 keeps that to seconds.
GATHER = 128
MAX_GATHER = 512
_DONE = object()


class EmbeddingPrefetch:
    """A background embedder fed chunk by chunk, writing them all to `spool` in the order they
    came, with vectors for those it embedded. `finish()` waits for it and closes the spool. Use
    it as a context manager: leaving on an error stops the thread without waiting for it and
    discards the spool. `on_progress` hears (chunks embedded, chunks to embed so far)."""

    def __init__(
        self, embedder: Embedder, spool: ChunkSpool, on_progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.embedder = embedder
        self.spool = spool
        self.on_progress = on_progress
        self.submitted = 0
        self.embedded = 0
        self._queue: queue.Queue[object] = queue.Queue()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="corpusgov-embed", daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        return self.spool.path

    def submit(self, chunks: Sequence[Chunk], already_embedded: Iterable[str] = ()) -> None:
        """Queue a document's chunks; those in `already_embedded` (ids the index holds) are
        spooled without a vector and not embedded again."""
        skip = set(already_embedded)
        for chunk in chunks:
            embed = chunk.chunk_id not in skip
            self.submitted += embed
            self._queue.put((chunk, embed))

    def finish(self) -> str:
        """Wait for every submitted chunk, close the spool and return its path. Re-raises what
        stopped the thread, if anything did."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.spool.close()

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
            self._thread.join(timeout=60)
            if not self._thread.is_alive():
                self.spool.discard()

    def _work(self) -> None:
        batch: list[tuple[Chunk, bool]] = []
        done = False
        while not done:
            item = self._queue.get()
            while True:
                if item is _DONE:
                    done = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= MAX_GATHER:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch and (done or len(batch) >= GATHER):
                if self._stop.is_set():
                    return
                try:
                    self._embed(batch)
                except BaseException as err:  # handed to finish(), which re-raises it
                    self._error = err
                    return
                batch = []

    def _embed(self, batch: list[tuple[Chunk, bool]]) -> None:
        todo = sorted((c for c, embed in batch if embed), key=lambda c: len(c.text), reverse=True)
        vectors: dict[str, np.ndarray] = {}
        if todo:
            vectors = dict(
                zip((c.chunk_id for c in todo), self.embedder.embed([c.text for c in todo]), strict=True)
            )
        chunks = [c for c, _ in batch]
        self.spool.write(chunks, [vectors.get(c.chunk_id) for c in chunks])
        self.embedded += len(todo)
        if self.on_progress is not None and todo:
            self.on_progress(self.embedded, self.submitted)
