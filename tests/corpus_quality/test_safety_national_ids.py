"""National identifiers are personal data: written US SSNs and UK NI numbers are flagged and redacted."""

import pytest

from corpus_quality import redact_pii, scan_safety


@pytest.mark.parametrize(
    "text",
    [
        "Employee SSN: 123-45-6789 on file.",
        "NI number JG 12 34 56 C is on the payslip.",
        "National Insurance: AB123456C",
    ],
)
def test_national_ids_are_flagged_and_redacted(text: str) -> None:
    codes = {flag.code for flag in scan_safety(text)}
    assert "safety.pii_national_id" in codes
    redacted, count = redact_pii(text)
    assert count == 1 and "[REDACTED:national_id]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "Order 000-12-3456 was never an SSN (area 000 is never issued).",
        "Part number 666-45-6789 ships Monday.",
        "Release 2026-11-23 shipped; build 123456789 passed.",
        "The GB123456A code is a reserved prefix, not an NI number.",
    ],
)
def test_lookalikes_are_not_national_ids(text: str) -> None:
    assert "safety.pii_national_id" not in {flag.code for flag in scan_safety(text)}
