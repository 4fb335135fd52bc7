"""The words a document is judged in: its quality grade and its provenance label.

Contracts name them (`minimumGrade`, a source's declared provenance), assessment gives them,
the ledger stores them and the index filters on them: one definition here, so a new grade or
label cannot be added in one place and missed in another. Both are `StrEnum`s, equal to (and
stored as) their plain string values.
"""

from enum import StrEnum

from corpus_quality.errors import UnknownGradeError, UnknownProvenanceLabelError


class Grade(StrEnum):
    """A document's quality grade, best first: A and B are indexed, C indexed with a flag, F
    quarantined (corpus_quality/grading.py)."""

    A = "A"
    B = "B"
    C = "C"
    F = "F"

    @classmethod
    def parse(cls, value: str) -> "Grade":
        try:
            return cls(value)
        except ValueError:
            raise UnknownGradeError(f"unknown grade {value!r}; expected one of {', '.join(cls)}") from None

    def at_least(self, minimum: str) -> bool:
        """True when this grade is as good as `minimum` or better (A > B > C > F)."""
        order = tuple(Grade)
        return order.index(self) <= order.index(Grade.parse(minimum))

    @classmethod
    def at_or_above(cls, minimum: str) -> tuple["Grade", ...]:
        """The grades as good as `minimum` or better, best first: a filter's allowed values."""
        order = tuple(cls)
        return order[: order.index(cls.parse(minimum)) + 1]


class ProvenanceLabel(StrEnum):
    """Where a document's text comes from, as far as the evidence shows
    (corpus_quality/provenance.py)."""

    HUMAN = "human"
    AI_ASSISTED = "ai_assisted"
    AI_GENERATED = "ai_generated"
    UNKNOWN = "unknown"  # no evidence either way: never a reason to quarantine on its own

    @classmethod
    def parse(cls, value: str) -> "ProvenanceLabel":
        try:
            return cls(value)
        except ValueError:
            raise UnknownProvenanceLabelError(
                f"unknown provenance label {value!r}; expected one of {', '.join(cls)}"
            ) from None

    @classmethod
    def declarable(cls) -> tuple["ProvenanceLabel", ...]:
        """The labels a contract may declare for a whole source: "unknown" is not a declaration."""
        return tuple(label for label in cls if label is not cls.UNKNOWN)
