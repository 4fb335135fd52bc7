"""Scan extracted text (and raw HTML) for content that should not reach a model unseen.

Two families: text aimed at the model rather than the reader (prompt injection, hidden
characters, hidden HTML) and personal data (emails, phone numbers, card numbers, IBANs, national
ids, street addresses, dates of birth and, with an NER model, names of people).
Flags are evidence for a person or a routing rule, not verdicts.

Submodules, one per seam: ``injection`` (phrases aimed at a model), ``hidden_characters``
(zero-width, tag and bidi characters), ``hidden_html`` and ``invisible_pdf`` (text in the
raw file that no reader sees), ``pii`` (personal data and its redaction), ``person_names`` (the
NER model behind names, loaded on first use) and ``scan``
(one pass over all of them, reported as flags).
"""

from corpus_quality.safety.hidden_html import HTML_MIME
from corpus_quality.safety.pii import (
    BASIC_KINDS,
    PII_KINDS,
    PiiMatch,
    find_pii,
    iban_valid,
    luhn_valid,
    pii_detector_id,
    redact_matches,
    redact_pii,
)
from corpus_quality.safety.scan import (
    MAX_DETAIL_CHARS,
    PII_REDACTED_FLAG,
    SAFETY_CODES,
    SafetyFlag,
    chunk_pii_flags,
    scan_safety,
)

__all__ = [
    "BASIC_KINDS",
    "HTML_MIME",
    "MAX_DETAIL_CHARS",
    "PII_KINDS",
    "PII_REDACTED_FLAG",
    "SAFETY_CODES",
    "PiiMatch",
    "SafetyFlag",
    "chunk_pii_flags",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "pii_detector_id",
    "redact_matches",
    "redact_pii",
    "scan_safety",
]
