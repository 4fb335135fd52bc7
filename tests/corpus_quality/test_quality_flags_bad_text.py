"""Text that would pollute retrieval is flagged or quarantined, with reasons."""

from pathlib import Path

import pytest

from corpus_quality import QualityInput, assess_quality

TEXTS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus_quality" / "texts"


def _doc(text: str, language: str | None = "en", **metadata: str) -> QualityInput:
    return QualityInput(
        text=text, mime_type="text/plain", raw_size=len(text.encode()), language=language, metadata=metadata
    )


@pytest.mark.parametrize(
    ("name", "language", "expected_reason"),
    [
        ("boilerplate.txt", "en", "quality.low_boilerplate"),
        ("repetitive.txt", "en", "quality.low_line_repetition"),
        ("repetitive.txt", "en", "quality.low_ngram_repetition"),
        ("mojibake.txt", "fr", "quality.low_encoding_health"),
        ("symbol_soup.txt", None, "quality.low_symbol_ratio"),
    ],
)
def test_bad_text_grades_c_or_f_with_reason(name: str, language: str | None, expected_reason: str) -> None:
    text = (TEXTS / name).read_text(encoding="utf-8")
    # Full metadata: a tidy record must not buy an A for bad text.
    assessment = assess_quality(_doc(text, language, title="t", author="a", modified="2099-01-01"))
    assert assessment.grade in ("C", "F"), assessment
    assert assessment.route in ("index_with_flag", "quarantine")
    assert expected_reason in assessment.reasons


@pytest.mark.parametrize("text", ["", "   \n\t  \n"])
def test_empty_text_is_quarantined_with_empty_text_reason(text: str) -> None:
    assessment = assess_quality(_doc(text))
    assert assessment.grade == "F"
    assert assessment.route == "quarantine"
    assert assessment.reasons[0] == "quality.empty_text"
    assert set(assessment.signals) and all(0.0 <= value <= 1.0 for value in assessment.signals.values())


def test_three_word_document_is_quarantined() -> None:
    assessment = assess_quality(_doc("See attached file."))
    assert assessment.grade == "F"
    assert "quality.low_length" in assessment.reasons


def test_every_f_grade_has_a_reason() -> None:
    for text in ["x", "§§§", "ok ok ok ok", "Ã©Ã©Ã© Ã©"]:
        assessment = assess_quality(_doc(text, language=None))
        if assessment.grade == "F":
            assert assessment.reasons, text
