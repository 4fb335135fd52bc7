"""detect_language returns ISO 639-1 codes deterministically and declines on too little text."""

import os
import signal

import pytest
from langdetect import DetectorFactory

from corpus_quality import detect_language, language

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


# Languages a half-loaded detector confused: French read as English, Spanish and Italian as Romanian.
CONFUSED = {
    "fr": SAMPLES["fr"],
    "es": SAMPLES["es"],
    "it": "I dipendenti devono inviare la richiesta di ferie al proprio responsabile almeno due settimane prima.",
}


@pytest.mark.parametrize("at_profile", [1, 20, 55])
def test_a_ctrl_c_while_the_profiles_load_never_leaves_a_half_loaded_detector(
    monkeypatch: pytest.MonkeyPatch, at_profile: int
) -> None:
    """langdetect reads its 55 profiles under a bare `except:`: a Ctrl-C there used to be
    swallowed and the run went on with the profiles read so far. Now the interrupt is raised
    once the load is complete, and the detector then knows every language."""
    monkeypatch.setattr(language, "_detector", None)
    read = 0
    add_profile = DetectorFactory.add_profile

    def add_then_interrupt(self: DetectorFactory, profile: object, index: int, size: int) -> None:
        nonlocal read
        add_profile(self, profile, index, size)
        read += 1
        if read == at_profile:
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C: handled between bytecodes

    monkeypatch.setattr(DetectorFactory, "add_profile", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        detect_language(CONFUSED["fr"])
    assert read == 55, "the load stopped part-way"
    for code, text in CONFUSED.items():
        assert detect_language(text) == code
    assert read == 55, "the detector was loaded twice"
