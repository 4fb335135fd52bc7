"""Contamination: eval questions or reference answers that the corpus itself contains.

A retriever scored on a question copied into the corpus (an FAQ that quotes the eval set, a page
generated from it) measures string matching, not retrieval. An item is flagged when its question
is near-verbatim in any chunk, or its reference answer is near-verbatim in a chunk of a document
that is not one of its gold documents (an extractive answer quoting its own gold passage is how a
reference answer should look). Near-verbatim is `evals.near_verbatim`: normalised containment or
5-gram window Jaccard >= 0.8. Texts under five words are not checked: short questions such as
"What is the rate limit?" occur in ordinary headings. The few eval texts are indexed, and each chunk
is read once.
"""

from collections.abc import Iterable

from evals.near_verbatim import NearVerbatimMatcher, normalise_text
from evals.resolution import IndexedChunk
from evals.sets import EvalSet

MIN_WORDS = 5


def find_contamination(eval_set: EvalSet, chunks: Iterable[IndexedChunk]) -> dict[str, list[str]]:
    """Item id -> sorted chunk ids containing its question or reference answer; clean items absent."""
    texts: dict[tuple[str, str], str] = {}
    for item in eval_set.items:
        for field_name, text in (("question", item.question), ("reference_answer", item.reference_answer)):
            if text and len(normalise_text(text).split()) >= MIN_WORDS:
                texts[(item.id, field_name)] = text
    gold_docs = {item.id: {g.doc_id for g in item.gold} for item in eval_set.items}
    matcher: NearVerbatimMatcher[tuple[str, str]] = NearVerbatimMatcher(texts)
    flagged: dict[str, set[str]] = {}
    for chunk in chunks:
        for item_id, field_name in matcher.matches(chunk.text):
            if field_name == "reference_answer" and chunk.doc_id in gold_docs[item_id]:
                continue
            flagged.setdefault(item_id, set()).add(chunk.chunk_id)
    return {item_id: sorted(ids) for item_id, ids in sorted(flagged.items())}
