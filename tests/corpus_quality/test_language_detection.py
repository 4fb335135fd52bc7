"""detect_language returns ISO 639-1 codes deterministically and declines on too little text."""

import pytest

from corpus_quality import detect_language

SAMPLES = {
    "en": "The finance team reviews every expense claim within five working days and replies by email.",
    "de": "Alle eingehenden Rechnungen werden nach der Prüfung durch die Buchhaltung im System abgelegt.",
    "fr": "Les demandes de congés doivent être saisies dans l'outil au moins deux semaines avant le départ.",
    "es": "Los empleados pueden usar su teléfono personal para acceder al correo corporativo de la empresa.",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items())
def test_detects_common_enterprise_languages(code: str, text: str) -> None:
    assert detect_language(text) == code


def test_is_deterministic() -> None:
    text = "Bitte beachten Sie die neue Regelung ab März."
    assert len({detect_language(text) for _ in range(5)}) == 1


@pytest.mark.parametrize("text", ["", "   ", "OK", "12345 67890 !!! ###", "Table 1 - Q3"])
def test_returns_none_for_too_few_letters(text: str) -> None:
    assert detect_language(text) is None


def test_only_reads_the_start_of_long_documents() -> None:
    english_start = (SAMPLES["en"] + " ") * 80  # well past the 5,000-character window
    assert len(english_start) > 5_000
    assert detect_language(english_start + (SAMPLES["de"] + " ") * 200) == "en"
