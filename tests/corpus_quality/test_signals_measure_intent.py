"""Each signal measures what its name says, in [0, 1] with 1 = good."""

from datetime import UTC, datetime

import pytest

from corpus_quality import QUALITY_SIGNALS, InvalidQualityInputError, QualityInput, compute_signals

PROSE = (
    "The finance team reviews every expense claim within five working days. Claims above the "
    "limit need the approval of a director, and receipts must be attached to the claim in the "
    "portal. If a receipt is lost, the employee signs a declaration instead. "
)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _signals(text: str = PROSE * 3, **overrides: object) -> dict[str, float]:
    fields: dict[str, object] = {
        "text": text,
        "mime_type": "text/plain",
        "raw_size": len(text.encode()),
        "language": "en",
        "metadata": {},
        "now": NOW,
    }
    fields.update(overrides)
    return compute_signals(QualityInput(**fields))  # type: ignore[arg-type]


def test_signals_are_named_ordered_and_bounded() -> None:
    signals = _signals()
    assert len(QUALITY_SIGNALS) >= 10
    assert tuple(signals) == QUALITY_SIGNALS
    assert all(0.0 <= value <= 1.0 for value in signals.values())


def test_length_accepts_a_short_faq_and_rejects_three_words() -> None:
    sixty_words = " ".join(["answer"] * 60)
    assert _signals(sixty_words)["length"] == 1.0
    assert _signals("Reset your password.")["length"] < 0.25


def test_alpha_word_ratio_tolerates_a_table_but_not_a_number_dump() -> None:
    table = "Region Q1 Q2 Q3\nEMEA 120 130 140\nAPAC 90 95 99\nAmericas 200 210 220\nTotals are in thousands of euros."
    assert _signals(table)["alpha_word_ratio"] >= 0.5
    dump = " ".join(str(number) for number in range(1000, 1400))
    assert _signals(dump)["alpha_word_ratio"] == 0.0


def test_symbol_ratio_tolerates_code_but_not_symbol_soup() -> None:
    code = 'def total(items: list[dict]) -> int:\n    return sum(item["qty"] * item["price"] for item in items if item)\n'
    assert _signals(code * 5)["symbol_ratio"] == 1.0
    assert _signals("#$%& {{}} <<>> ||| @@@ ~~~ " * 30)["symbol_ratio"] == 0.0


def test_line_repetition_ignores_repeated_short_cells_but_catches_repeated_paragraphs() -> None:
    cells = "\n".join(f"Server {n} patched on schedule by the platform team\nYes" for n in range(20))
    assert _signals(cells)["line_repetition"] == 1.0
    repeated = "\n".join([PROSE] * 5)
    assert _signals(repeated)["line_repetition"] < 0.25


def test_ngram_repetition_catches_spam_phrases() -> None:
    spam = " ".join(["cheap flights book now and save big today"] * 30)
    assert _signals(spam)["ngram_repetition"] == 0.0
    assert _signals(PROSE)["ngram_repetition"] == 1.0


def test_encoding_health_detects_mojibake_but_forgives_one_stray_character() -> None:
    broken = PROSE.replace("the", "thÃ©") + " donâ€™t"
    assert _signals(broken)["encoding_health"] < 0.25
    assert _signals(PROSE * 10 + "\ufffd")["encoding_health"] > 0.95
    assert _signals(PROSE + "\x00\x01\x02\x03\x04\x05")["encoding_health"] < 0.5
    # Real accents and PDF page breaks are not damage.
    assert (
        _signals("Änderungen an der Richtlinie für Übergänge.\x0c" * 10, language="de")["encoding_health"]
        == 1.0
    )


def test_mean_word_length_accepts_german_compounds() -> None:
    german = (
        "Die Aufbewahrungsfrist für Rechnungen im Dokumentenmanagementsystem beträgt zehn Jahre. "
        "Die Finanzbuchhaltung prüft die Übereinstimmung mit dem Original. "
    )
    assert _signals(german * 3, language="de")["mean_word_length"] == 1.0
    assert _signals("a b c d e f g h i j k l m n o p " * 5)["mean_word_length"] < 0.5


def test_boilerplate_counts_short_chrome_lines_not_content_mentions() -> None:
    chrome = "\n".join(
        ["We use cookies. Accept all cookies", "Privacy Policy", "Terms of Use", "Back to top"]
    )
    assert _signals(chrome + "\n" + PROSE)["boilerplate"] < 0.25
    long_mention = PROSE * 2 + "Our privacy policy explains which personal data the portal keeps and why."
    assert _signals(long_mention)["boilerplate"] == 1.0


def test_stopword_presence_uses_the_language_profile_and_is_neutral_otherwise() -> None:
    keywords = "invoice receipt director portal approval claim expense limit " * 10
    assert _signals(keywords)["stopword_presence"] < 0.25
    assert _signals(PROSE)["stopword_presence"] == 1.0
    french = "Les demandes de congés doivent être saisies dans l'outil RH avant la date de départ. " * 3
    assert _signals(french, language="fr")["stopword_presence"] == 1.0
    assert _signals(keywords, language=None)["stopword_presence"] == 1.0
    assert _signals(keywords, language="ja")["stopword_presence"] == 1.0


def test_extraction_completeness_expects_less_text_from_markup_and_containers() -> None:
    text = PROSE * 3
    size = len(text.encode())
    assert _signals(text, mime_type="text/plain", raw_size=size)["extraction_completeness"] == 1.0
    # A plain-text file ten times bigger than what came out lost most of its text.
    assert _signals(text, mime_type="text/plain", raw_size=size * 10)["extraction_completeness"] < 0.25
    # HTML carries markup: 1/8 text is normal; a 2 MB page yielding one paragraph is not.
    assert _signals(text, mime_type="text/html", raw_size=size * 8)["extraction_completeness"] == 1.0
    assert _signals(text, mime_type="text/html", raw_size=2_000_000)["extraction_completeness"] < 0.1
    # A small docx is mostly container; a 5 MB PDF with one paragraph is a scan without OCR.
    assert _signals(text, mime_type=DOCX, raw_size=38_000)["extraction_completeness"] == 1.0
    assert _signals(text, mime_type="application/pdf", raw_size=5_000_000)["extraction_completeness"] < 0.1
    assert (
        _signals(text, mime_type="application/octet-stream", raw_size=10**9)["extraction_completeness"] == 1.0
    )


def test_metadata_completeness_counts_title_author_and_date() -> None:
    assert _signals(metadata={})["metadata_completeness"] == 0.0
    assert _signals(metadata={"title": "T"})["metadata_completeness"] == pytest.approx(1 / 3)
    full = {"title": "T", "author": "A", "modified": "2025-01-01"}
    assert _signals(metadata=full)["metadata_completeness"] == 1.0


def test_staleness_ages_documents_and_is_neutral_without_a_date() -> None:
    assert _signals(metadata={"modified": "2025-03-01"})["staleness"] == 1.0
    three_years = _signals(metadata={"modified": "2022-06-01T00:00:00+00:00"})["staleness"]
    assert 0.2 < three_years < 1.0
    assert _signals(metadata={"modified": "2001-01-01"})["staleness"] == 0.2
    assert _signals(metadata={})["staleness"] == 0.5
    assert _signals(metadata={"modified": "last Tuesday"})["staleness"] == 0.5
    assert _signals(metadata={"modified": "2030-01-01"})["staleness"] == 0.5
    # No modification date: the creation date still ages the document.
    assert _signals(metadata={"created": "2001-01-01"})["staleness"] == 0.2


def test_staleness_defaults_to_the_current_time() -> None:
    signals = _signals(metadata={"modified": datetime.now(UTC).date().isoformat()}, now=None)
    assert signals["staleness"] == 1.0


def test_negative_raw_size_is_rejected() -> None:
    with pytest.raises(InvalidQualityInputError):
        QualityInput(text="x", mime_type="text/plain", raw_size=-1, language=None, metadata={})
