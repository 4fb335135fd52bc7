"""Eval questions or answers copied into the corpus are flagged with the chunks that hold them."""

from evals.contamination import find_contamination
from evals.resolution import IndexedChunk
from evals.sets import EvalSet


def test_copied_question_is_flagged_and_clean_items_are_not(warehouse: EvalSet) -> None:
    chunks = [
        IndexedChunk(
            "c1",
            "docs/faq.md",
            "Q: how long do customers have to return an UNOPENED item? A: see the policy.",
        ),
        IndexedChunk("c2", "docs/returns.md", "Customers may return unopened items within 30 calendar days."),
    ]
    assert find_contamination(warehouse, chunks) == {"r1": ["c1"]}


def test_reference_answer_copied_into_another_document_is_flagged(warehouse: EvalSet) -> None:
    chunks = [IndexedChunk("c9", "docs/notes.md", "Hard hats: in the loading bay, at all times.")]
    assert find_contamination(warehouse, chunks) == {"r3": ["c9"]}


def test_reference_answer_quoted_from_its_own_gold_document_is_not_flagged(warehouse: EvalSet) -> None:
    chunks = [IndexedChunk("c8", "docs/safety.md", "Hard hats are worn in the loading bay, at all times.")]
    assert find_contamination(warehouse, chunks) == {}


def test_short_question_in_a_heading_is_not_contamination(warehouse: EvalSet) -> None:
    # "Where are hard hats required?" has five words; a heading with four of them is not a copy.
    chunks = [IndexedChunk("c3", "docs/safety.md", "Hard hats required. Visitors borrow one at reception.")]
    assert find_contamination(warehouse, chunks) == {}
