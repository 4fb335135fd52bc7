"""Small hand-made index snapshots for the eval tests: two documents, chunk ids derived from
(doc_id, text) the way the pipeline derives them, so identical chunks keep their ids."""

import hashlib
from pathlib import Path

from evals.resolution import IndexedChunk, IndexSnapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "evals"

RETURNS = "docs/returns.md"
SAFETY = "docs/safety.md"
RETURNS_CHUNKS = (
    "# Returns policy\n\nCustomers may return unopened items within 30 calendar days of delivery "
    "for a full refund. The refund goes to the original payment method.",
    "Opened items are refunded at 80% of the item price when they are undamaged. The store manager "
    "signs off every refund above 500 euros.",
)
SAFETY_CHUNKS = (
    "# Site safety\n\nForklift drivers must renew their certificate every two years at the site "
    "training centre. Certificates are checked at the gate.",
    "Hard hats are required in the loading bay at all times. Visitors borrow one at reception.",
)


def chunk(doc_id: str, text: str) -> IndexedChunk:
    digest = hashlib.sha256(f"{doc_id}\0{text}".encode()).hexdigest()[:16]
    return IndexedChunk(chunk_id=f"c-{digest}", doc_id=doc_id, text=text)


def snapshot(
    version: int, docs: dict[str, tuple[str, ...]], previous: IndexSnapshot | None = None
) -> IndexSnapshot:
    """A snapshot of `docs` (doc_id -> chunk texts in order); `added` is computed against `previous`."""
    chunks = tuple(chunk(doc_id, text) for doc_id, texts in docs.items() for text in texts)
    before = {c.chunk_id for c in previous.chunks} if previous else set()
    return IndexSnapshot(
        index_version=version,
        doc_hashes={d: hashlib.sha256("".join(t).encode()).hexdigest() for d, t in docs.items()},
        chunks=chunks,
        added_chunk_ids=frozenset(c.chunk_id for c in chunks if c.chunk_id not in before),
    )
