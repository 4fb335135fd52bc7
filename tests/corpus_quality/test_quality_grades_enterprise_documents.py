"""Normal enterprise documents must reach the index without a flag."""

from pathlib import Path

import pytest

from corpus_quality import QualityInput, assess_quality, detect_language

TEXTS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus_quality" / "texts"


def _assess(name: str, metadata: dict[str, str] | None = None):
    text = (TEXTS / name).read_text(encoding="utf-8")
    doc = QualityInput(
        text=text,
        mime_type="text/plain",
        raw_size=len(text.encode("utf-8")),
        language=detect_language(text),
        metadata=metadata or {},
    )
    return assess_quality(doc)


@pytest.mark.parametrize(
    "name",
    ["procedure.txt", "table.txt", "code_sample.md", "faq.txt", "german.txt", "french.txt", "spanish.txt"],
)
def test_enterprise_document_without_metadata_is_indexed(name: str) -> None:
    assessment = _assess(name)
    assert assessment.grade in ("A", "B"), assessment
    assert assessment.route == "index"


def test_clean_document_with_full_metadata_grades_a_with_no_reasons() -> None:
    from datetime import UTC, datetime

    text = (TEXTS / "procedure.txt").read_text(encoding="utf-8")
    doc = QualityInput(
        text=text,
        mime_type="text/plain",
        raw_size=len(text.encode()),
        language="en",
        metadata={"title": "Onboarding", "author": "IT", "modified": "2025-01-10"},
        now=datetime(2025, 6, 1, tzinfo=UTC),
    )
    assessment = assess_quality(doc)
    assert assessment.grade == "A"
    assert assessment.reasons == ()
    assert assessment.score >= 0.95


def test_missing_metadata_is_named_but_does_not_cost_grade_a() -> None:
    assessment = _assess("faq.txt")
    assert assessment.grade == "A"
    assert "quality.low_metadata_completeness" in assessment.reasons
