"""Grades follow the score thresholds, map to routes, and compare in A > B > C > F order."""

import pytest

from corpus_quality import (
    QUALITY_SIGNALS,
    SIGNALS,
    Grade,
    QualityInput,
    UnknownGradeError,
    assess_quality,
    grading,
)


def test_every_signal_has_one_record_with_a_weight() -> None:
    assert QUALITY_SIGNALS == tuple(s.name for s in SIGNALS)
    assert len(set(QUALITY_SIGNALS)) == len(SIGNALS)
    assert all(s.weight > 0 for s in SIGNALS)


@pytest.mark.parametrize(
    ("score", "grade", "route"),
    [
        (0.85, "A", "index"),
        (0.84, "B", "index"),
        (0.70, "B", "index"),
        (0.69, "C", "index_with_flag"),
        (0.50, "C", "index_with_flag"),
        (0.49, "F", "quarantine"),
    ],
)
def test_score_thresholds_give_grade_and_route(
    monkeypatch: pytest.MonkeyPatch, score: float, grade: str, route: str
) -> None:
    # Every signal at the same value makes the weighted mean exactly that value.
    monkeypatch.setattr(grading, "compute_signals", lambda doc: {name: score for name in QUALITY_SIGNALS})
    doc = QualityInput(text="some text here", mime_type="text/plain", raw_size=14, language="en", metadata={})
    assessment = assess_quality(doc)
    assert assessment.score == pytest.approx(score)
    assert (assessment.grade, assessment.route) == (grade, route)
    if grade != "A":
        assert assessment.reasons


def test_one_failed_gate_caps_an_otherwise_good_document_at_c(monkeypatch: pytest.MonkeyPatch) -> None:
    signals = {name: 1.0 for name in QUALITY_SIGNALS}
    signals["encoding_health"] = 0.0
    monkeypatch.setattr(grading, "compute_signals", lambda doc: dict(signals))
    doc = QualityInput(text="some text here", mime_type="text/plain", raw_size=14, language="en", metadata={})
    assessment = assess_quality(doc)
    assert assessment.score > 0.85
    assert assessment.grade == "C"
    assert assessment.reasons == ("quality.low_encoding_health",)


def test_grades_compare_best_first() -> None:
    assert Grade.A.at_least("B")
    assert Grade.B.at_least(Grade.B)
    assert Grade.C.at_least("F")
    assert not Grade.C.at_least("B")
    assert not Grade.F.at_least(Grade.C)
    assert Grade.at_or_above("B") == (Grade.A, Grade.B)
    assert Grade.at_or_above("F") == tuple(Grade)


def test_grades_are_stored_and_compared_as_their_letters() -> None:
    assert Grade.B == "B"
    assert f"share_grade_{Grade.C}" == "share_grade_C"
    empty = QualityInput(text="", mime_type="text/plain", raw_size=0, language=None)
    assert assess_quality(empty).grade is Grade.F


def test_unknown_grades_are_refused_by_name() -> None:
    with pytest.raises(UnknownGradeError, match="expected one of A, B, C, F"):
        Grade.parse("D")
    with pytest.raises(ValueError):
        Grade.A.at_least("a")
