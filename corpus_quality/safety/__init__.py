"""Scan extracted text (and raw HTML) for content that should not reach a model unseen.

Two families: text aimed at the model rather than the reader (prompt injection, hidden
characters, hidden HTML) and personal data (emails, phone numbers, card numbers, IBANs).
Flags are evidence for a person or a routing rule, not verdicts.

Submodules, one per seam: ``injection`` (phrases aimed at a model), ``hidden_characters``
(zero-width, tag and bidi characters), ``hidden_html`` and ``invisible_pdf`` (text in the
raw file that no reader sees), ``pii`` (personal data and its redaction) and ``scan``
(one pass over all of them, reported as flags).
"""

from corpus_quality.safety.hidden_html import HTML_MIME
from corpus_quality.safety.pii import PII_KINDS, PiiMatch, find_pii, iban_valid, luhn_valid, redact_pii
from corpus_quality.safety.scan import MAX_DETAIL_CHARS, SAFETY_CODES, SafetyFlag, scan_safety

__all__ = [
    "HTML_MIME",
    "MAX_DETAIL_CHARS",
    "PII_KINDS",
    "SAFETY_CODES",
    "PiiMatch",
    "SafetyFlag",
    "find_pii",
    "iban_valid",
    "luhn_valid",
    "redact_pii",
    "scan_safety",
]
