"""The heuristic AI-text detector is conservative: human-written documents stay below its
threshold (the false-positive rate is measured here), LLM-style prose goes above it."""

import io
from pathlib import Path

import docx
import pypdf
import pytest
from lxml import html as lxml_html
from pypdf.errors import PdfReadError

from corpus_quality import score_ai_text
from corpus_quality.ai_text_heuristic import DEFAULT_THRESHOLD, MIN_WORDS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "corpus_quality"
EXAMPLES = Path(__file__).parents[2] / "examples" / "corpus"
AI_DECLARED_EXAMPLES = ("blog/peak-season-readiness.html", "faq/driver-app-faq-draft.md")
MAX_FALSE_POSITIVE_RATE = 0.05


def extract_text(path: Path) -> str:
    """Good-enough text for the detector, without the pipeline's parser."""
    data = path.read_bytes()
    if path.suffix == ".html":
        tree = lxml_html.fromstring(data)
        for element in tree.xpath("//script|//style|//head"):
            element.drop_tree()
        return tree.text_content()
    if path.suffix == ".pdf":
        try:
            return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)
        except PdfReadError:
            return ""  # the example corpus's deliberately broken PDF
    if path.suffix == ".docx":
        return "\n".join(paragraph.text for paragraph in docx.Document(io.BytesIO(data)).paragraphs)
    return data.decode("utf-8", errors="replace")


def human_controls() -> dict[str, str]:
    paths = sorted((FIXTURES / "texts").iterdir()) + sorted((FIXTURES / "human_prose").iterdir())
    paths += sorted(
        p
        for p in EXAMPLES.rglob("*")
        if p.is_file() and p.relative_to(EXAMPLES).as_posix() not in AI_DECLARED_EXAMPLES
    )
    return {p.as_posix(): extract_text(p) for p in paths}


def test_false_positive_rate_on_human_documents_is_at_most_five_percent() -> None:
    controls = human_controls()
    scored = {name: score_ai_text(text) for name, text in controls.items()}
    flagged = sorted(name for name, score in scored.items() if score.suggests_ai())
    long_enough = [name for name, score in scored.items() if score.features["words"] >= MIN_WORDS]
    assert len(controls) >= 35 and len(long_enough) >= 30
    assert len(flagged) / len(controls) <= MAX_FALSE_POSITIVE_RATE, flagged
    assert len(flagged) / len(long_enough) <= MAX_FALSE_POSITIVE_RATE, flagged


@pytest.mark.parametrize(
    "path",
    [FIXTURES / "ai_texts" / "onboarding-listicle.md", FIXTURES / "ai_texts" / "cloud-migration-overview.txt"]
    + [EXAMPLES / name for name in AI_DECLARED_EXAMPLES],
)
def test_llm_style_prose_reaches_the_threshold(path: Path) -> None:
    score = score_ai_text(extract_text(path))
    assert score.score >= DEFAULT_THRESHOLD, score.features
    assert score.features["phrases"] > 0.5


def test_style_alone_cannot_reach_the_threshold() -> None:
    # Em-dashes, uniform sentences, bold lead-ins and emoji, but none of the phrases.
    bullets = "\n".join(
        f"- **Step {n}:** Scan the pallet label — then confirm the bay. ✅" for n in range(12)
    )
    score = score_ai_text(bullets)
    assert score.features["phrases"] == 0.0
    assert score.score < DEFAULT_THRESHOLD


def test_one_stock_phrase_in_a_memo_is_not_enough() -> None:
    memo = (FIXTURES / "human_prose" / "quarterly-ops-memo.txt").read_text()
    score = score_ai_text(memo)
    assert score.features["phrase_kinds"] >= 1
    assert not score.suggests_ai()


def test_short_texts_score_zero() -> None:
    score = score_ai_text(
        "In conclusion, let's delve into this seamless, robust tapestry — it's important to note."
    )
    assert score.score == 0.0
