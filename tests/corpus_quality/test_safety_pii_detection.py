"""Personal data is found with validation, and look-alikes (dates, versions, bad checksums) are not."""

import pytest

from corpus_quality import redact_pii, scan_safety


def _flags(text: str) -> dict[str, object]:
    return {flag.code: flag for flag in scan_safety(text)}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Write to jane.doe@acme-corp.com for access.", "safety.pii_email"),
        ("Call +49 30 1234567 during office hours.", "safety.pii_phone"),
        ("US desk: (415) 555-2671.", "safety.pii_phone"),
        ("US desk: 415-555-2671.", "safety.pii_phone"),
        ("London: +44 20 7946 0958", "safety.pii_phone"),
        ("Tel: 030 1234 5678", "safety.pii_phone"),
        ("Standard: 01 23 45 67 89", "safety.pii_phone"),
        ("Card 4111 1111 1111 1111 expires soon.", "safety.pii_card"),
        ("Card 4111-1111-1111-1111 expires soon.", "safety.pii_card"),
        ("Amex 3782 822463 10005 on file.", "safety.pii_card"),
        ("Pay to DE89 3704 0044 0532 0130 00 by Friday.", "safety.pii_iban"),
        ("Pay to GB82WEST12345698765432.", "safety.pii_iban"),
    ],
)
def test_personal_data_is_flagged(text: str, code: str) -> None:
    flags = _flags(text)
    assert code in flags, flags
    assert flags[code].count == 1
    assert len(flags[code].detail) <= 120


def test_detail_masks_the_value() -> None:
    detail = _flags("Write to jane.doe@acme-corp.com")["safety.pii_email"].detail
    assert "jane.doe" not in detail
    assert "acme-corp.com" in detail


@pytest.mark.parametrize(
    "text",
    [
        "Released 2024-01-31 as version 10.0.19041.1 on 31.01.2024 (build 1.2.3).",
        "Dates: 12/05/2023, 2019-2024, 05.06.2024, 2024/01/31 12:30:45.",
        "Server 192.168.100.200 and IPv6 fe80::1; pi is 3.14159265358979.",
        "Revenue 1,234,567.89 EUR; population 83 200 000.",
        "Order 4111 1111 1111 1112 failed the checksum.",  # card-like, fails Luhn
        "Reference 1234567890123456 is an internal id.",  # 16 digits failing Luhn
        "IBAN-like DE89 3704 0044 0532 0130 01 with a wrong check.",
        "ISBN 978-3-16-148410-0 and ISSN 0317-8471.",
        "Docs contact: noreply@example.com, user@test",
        "Postcode 10115 Berlin, ticket INC0012345.",
    ],
)
def test_look_alikes_are_not_personal_data(text: str) -> None:
    assert not [code for code in _flags(text) if code.startswith("safety.pii_")]


def test_redact_pii_replaces_each_kind_and_counts() -> None:
    text = (
        "Contact jane.doe@acme-corp.com or +49 30 1234567. "
        "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00. Released 2024-01-31."
    )
    redacted, count = redact_pii(text)
    assert count == 4
    assert redacted == (
        "Contact [REDACTED:email] or [REDACTED:phone]. "
        "Card [REDACTED:card], IBAN [REDACTED:iban]. Released 2024-01-31."
    )


def test_redact_pii_leaves_clean_text_untouched() -> None:
    text = "Version 2.4.1 ships on 2024-05-01."
    assert redact_pii(text) == (text, 0)


def test_clean_text_has_no_flags() -> None:
    assert scan_safety("The finance team reviews every expense claim within five working days.") == ()
