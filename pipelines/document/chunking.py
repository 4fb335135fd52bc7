"""Chunk: elements to chunks by title, bounded by characters, with deterministic ids.

`max_characters` rather than `max_tokens`: the token variant needs tiktoken data from the network.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from contracts import ChunkingPolicy
from pipelines.document.outcome import ChunkRef


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    # The chunk's own personal-data flags (corpus_quality.safety.chunk_pii_flags), set by the
    # extraction worker: its row in the index carries these instead of the document's.
    pii_flags: tuple[str, ...] = ()

    @property
    def ref(self) -> ChunkRef:
        return ChunkRef(
            chunk_id=self.chunk_id,
            doc_id=self.doc_id,
            ordinal=self.ordinal,
            chars=len(self.text),
            pii_flags=self.pii_flags,
        )


def chunking_config_hash(policy: ChunkingPolicy) -> str:
    payload = json.dumps({"strategy": "by_title", **asdict(policy)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def chunk_id_for(doc_id: str, text: str, config_hash: str, occurrence: int) -> str:
    """Same document, text and chunker config give the same id on any machine.

    `occurrence` separates identical texts repeated inside one document (0 for the first).
    """
    key = "\x1f".join((doc_id, text, config_hash, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def chunk_document(doc_id: str, elements: list[Any], policy: ChunkingPolicy) -> list[Chunk]:
    from unstructured.chunking.title import chunk_by_title

    if not elements:
        return []
    config_hash = chunking_config_hash(policy)
    pieces = chunk_by_title(
        elements,
        max_characters=policy.max_characters,
        new_after_n_chars=min(policy.new_after_n_chars, policy.max_characters),
        combine_text_under_n_chars=min(policy.combine_text_under_n_chars, policy.max_characters),
    )
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for piece in pieces:
        text = piece.text.strip()
        if not text:
            continue
        occurrence = seen.get(text, 0)
        seen[text] = occurrence + 1
        chunk_id = chunk_id_for(doc_id, text, config_hash, occurrence)
        chunks.append(Chunk(chunk_id=chunk_id, doc_id=doc_id, ordinal=len(chunks), text=text))
    return chunks
