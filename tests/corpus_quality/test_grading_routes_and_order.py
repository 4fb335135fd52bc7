"""Grades follow the score thresholds, map to routes, and compare in A > B > C > F order."""

import pytest

from corpus_quality import (
    QUALITY_SIGNALS,
    SIGNAL_WEIGHTS,
    QualityInput,
    UnknownGradeError,
    assess_quality,
    grade_at_least,
    grading,
)


def test_weights_cover_every_signal() -> None:
    assert set(SIGNAL_WEIGHTS) == set(QUALITY_SIGNALS)
    assert all(weight > 0 for weight in SIGNAL_WEIGHTS.values())


@pytest.mark.parametrize(
    ("score", "grade", "route"),
    [(0.85, "A", "index"), (0.84, "B", "index"), (0.70, "B", "index"), (0.69, "C", "index_with_flag"),
     (0.50, "C", "index_with_flag"), (0.49, "F", "quarantine")],
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


def test_grade_at_least_orders_grades() -> None:
    assert grade_at_least("A", "B")
    assert grade_at_least("B", "B")
    assert grade_at_least("C", "F")
    assert not grade_at_least("C", "B")
    assert not grade_at_least("F", "C")


def test_grade_at_least_rejects_unknown_grades() -> None:
    with pytest.raises(UnknownGradeError):
        grade_at_least("D", "C")
    with pytest.raises(ValueError):
        grade_at_least("A", "a")
