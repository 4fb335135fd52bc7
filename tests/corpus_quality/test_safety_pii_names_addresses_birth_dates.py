"""Names, street addresses and dates of birth are found beside the basic kinds when asked for (as
the parser worker does under `piiPolicy: redact`), not in product names, headings, versions or
ordinary dates; and a plain scan never loads the NER model."""

import subprocess
import sys

import pytest

from corpus_quality.safety import BASIC_KINDS, PII_KINDS, chunk_pii_flags, find_pii, redact_pii, scan_safety
from tests.conftest import REPO_ROOT


def found(text: str) -> set[tuple[str, str]]:
    return {(match.kind, match.value) for match in find_pii(text, PII_KINDS)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She moved to 221B Baker Street, London NW1 6XE last year.", "221B Baker Street, London NW1 6XE"),
        (
            "Ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        ),
        ("Flat 3, 12 Station Road, Cambridge CB1 2JB", "Flat 3, 12 Station Road, Cambridge CB1 2JB"),
        ("PO Box 4432, Springfield, IL 62704", "PO Box 4432, Springfield, IL 62704"),
        ("Anschrift: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
    ],
)
def test_street_addresses_are_found_with_their_town_and_postcode(text: str, expected: str) -> None:
    assert ("address", expected) in found(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date of birth: 12/03/1984", "12/03/1984"),
        ("Patient born on 3 March 1975 in Leeds.", "3 March 1975"),
        ("DOB 1990-05-17", "1990-05-17"),
        ("We hold your date of birth as March 3rd, 1982.", "March 3rd, 1982"),
        ("Geburtsdatum: 12. März 1985", "12. März 1985"),
    ],
)
def test_dates_of_birth_are_dates_after_a_birth_cue(text: str, expected: str) -> None:
    assert ("date_of_birth", expected) in found(text)


def test_names_of_people_are_found_by_the_model_and_after_cues() -> None:
    text = (
        "Priya Natarajan, Head of Finance, signed the report. Call John O'Neill or Anna-Lena Müller.\n\n"
        "Name: Zoe Thompson Date of birth: 3 March 1975\n\nKind regards,\nLinda Park"
    )
    names = {value for kind, value in found(text) if kind == "person"}
    assert {"Priya Natarajan", "John O'Neill", "Anna-Lena Müller", "Zoe Thompson", "Linda Park"} <= names


@pytest.mark.parametrize(
    "text",
    [
        "The Jasper Router ships with firmware 2.1; upgrade with jr-upgrade --to 2.4.0.",
        "Main Street Deployment runbook: drain the Main Street cluster, then deploy build 20240312.4.",
        "Released on 3 March 2024; version 4.2.1 (2024-02-11) fixed a crash in the Grafana exporter.",
        "Questions go to ops@example.com or release@example.org.",
        "Parking is in Level 3 Car Park; the course was born out of the 2019 Main Street outage review.",
        "Apache Kafka, Jenkins Pipeline and Alexa Skills run on Ubuntu Server 22.04.",
        "Services are named after streets: Baker Street handles billing, Abbey Road handles audio.",
    ],
)
def test_hard_negatives_hold_no_personal_data(text: str) -> None:
    assert found(text) == set()


def test_redaction_covers_the_new_kinds_and_keeps_the_sentence() -> None:
    text = "Patient Jane Doe, born on 3 March 1975, lives at 12 Baker Street, London NW1 6XE."
    redacted, count = redact_pii(text, PII_KINDS)
    assert redacted == (
        "Patient [REDACTED:person], born on [REDACTED:date_of_birth], lives at [REDACTED:address]."
    )
    assert count == 3


def test_a_chunk_is_flagged_for_what_it_holds() -> None:
    text = "Contact Jane Doe at jane.doe@northwind-mail.com.\n\nThe warehouse opens at six."
    pii = find_pii(text, PII_KINDS)
    assert chunk_pii_flags("Contact Jane Doe at jane.doe@northwind-mail.com.", pii, redacted=False) == (
        "safety.pii_email",
        "safety.pii_person",
    )
    assert chunk_pii_flags("The warehouse opens at six.", pii, redacted=False) == ()
    assert chunk_pii_flags("Contact [REDACTED:person] at [REDACTED:email].", pii, redacted=True) == (
        "pii.redacted",
    )


def test_a_plain_scan_looks_for_the_basic_kinds_only_and_never_loads_the_model() -> None:
    text = "Jane Doe lives at 12 Baker Street, London; write to jane.doe@northwind-mail.com."
    assert {flag.code for flag in scan_safety(text)} == {"safety.pii_email"}
    assert {m.kind for m in find_pii(text)} <= set(BASIC_KINDS)
    probe = (
        "import sys; from corpus_quality import scan_safety; "
        f"scan_safety({text!r}); print('spacy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
