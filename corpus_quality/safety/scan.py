"""One safety scan of a document: gather what every channel holds, then report it as flags.

Channels are the extracted text itself, Unicode tag characters inside it, and the raw bytes
when they are HTML (hidden elements, comments) or PDF (invisibly drawn text).
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from corpus_quality.safety.hidden_characters import (
    bidi_controls,
    bidi_names,
    hidden_tag_runs,
    without_zero_width,
    zero_width_count,
)
from corpus_quality.safety.hidden_html import hidden_html, is_html
from corpus_quality.safety.injection import injection_hits, strict_injection_hits
from corpus_quality.safety.invisible_pdf import pdf_invisible_text
from corpus_quality.safety.pii import PII_KINDS, REDACTION_MARK, PiiMatch, find_pii, mask_pii

SAFETY_CODES: tuple[str, ...] = (
    "safety.injection_like",
    "safety.hidden_zero_width",
    "safety.hidden_unicode_tags",
    "safety.bidi_override",
    "safety.html_hidden_text",
    "safety.html_comment_instructions",
    "safety.pdf_invisible_text",
    "safety.pii_email",
    "safety.pii_phone",
    "safety.pii_card",
    "safety.pii_iban",
    "safety.pii_national_id",
    "safety.pii_address",
    "safety.pii_date_of_birth",
    "safety.pii_person",
)
# A chunk's flag (never a document's): the chunk holds spans redacted under `piiPolicy: redact`.
# Named like the redaction record's code in the assessment's safety details.
PII_REDACTED_FLAG = "pii.redacted"

MAX_DETAIL_CHARS = 120


@dataclass(frozen=True)
class SafetyFlag:
    """One kind of finding in a document: its code, a short excerpt or explanation, and how often."""

    code: str
    detail: str
    count: int


@dataclass
class _Findings:
    """What the scan found in each channel, gathered before any of it becomes a flag."""

    zero_width: int = 0
    tag_runs: list[str] = field(default_factory=list)
    # Injection-like hits from every channel, and a short note per channel that had any.
    injection: list[str] = field(default_factory=list)
    injection_places: list[str] = field(default_factory=list)
    hidden_elements: list[tuple[str, str]] = field(default_factory=list)
    comment_injection: list[str] = field(default_factory=list)
    invisible_pdf: list[str] = field(default_factory=list)

    def add_injection(self, hits: list[str], place: str) -> None:
        if hits:
            self.injection.extend(hits)
            self.injection_places.append(place)


def _truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strict_hits(hidden_texts: Iterable[str]) -> list[str]:
    return [hit for hidden in hidden_texts for hit in strict_injection_hits(hidden)]


def _scan_text(text: str, findings: _Findings) -> None:
    findings.zero_width = zero_width_count(text)
    # Zero-width characters can split a phrase ("ign\u200bore previous ...") past the
    # injection patterns: scan the text as a model would effectively read it.
    scan_text = without_zero_width(text) if findings.zero_width else text
    visible = injection_hits(scan_text)
    if visible:
        findings.add_injection(visible, f"“{_truncate(visible[0], 60)}”")
    findings.tag_runs = hidden_tag_runs(text)
    findings.add_injection(_strict_hits(findings.tag_runs), "in hidden Unicode tags")


def _scan_html(raw: bytes, findings: _Findings) -> None:
    findings.hidden_elements, comments = hidden_html(raw)
    findings.add_injection(_strict_hits(hidden for _, hidden in findings.hidden_elements), "in hidden HTML")
    findings.comment_injection = _strict_hits(comments)
    # Comments are invisible to a reader but not to a pipeline that feeds raw HTML to a model.
    findings.add_injection(findings.comment_injection, "in an HTML comment")


def _scan_pdf(raw: bytes, findings: _Findings) -> None:
    findings.invisible_pdf = pdf_invisible_text(raw)
    findings.add_injection(_strict_hits(findings.invisible_pdf), "in invisible PDF text")


def _injection_flags(findings: _Findings) -> Iterator[SafetyFlag]:
    if findings.injection:
        yield SafetyFlag(
            "safety.injection_like", _truncate("; ".join(findings.injection_places)), len(findings.injection)
        )


def _hidden_character_flags(text: str, findings: _Findings) -> Iterator[SafetyFlag]:
    if findings.zero_width:
        yield SafetyFlag(
            "safety.hidden_zero_width",
            f"{findings.zero_width} zero-width character(s) inside the text",
            findings.zero_width,
        )
    if findings.tag_runs:
        decoded = " ".join(run for run in findings.tag_runs if run)
        detail = (
            f"hidden tag text: {decoded!r}" if decoded else "Unicode tag characters outside an emoji flag"
        )
        yield SafetyFlag(
            "safety.hidden_unicode_tags", _truncate(detail), sum(len(run) or 1 for run in findings.tag_runs)
        )
    bidi = bidi_controls(text)
    if bidi:
        yield SafetyFlag(
            "safety.bidi_override", f"bidirectional control(s): {', '.join(bidi_names(bidi))}", len(bidi)
        )


def _hidden_markup_flags(findings: _Findings) -> Iterator[SafetyFlag]:
    if findings.hidden_elements:
        reason, hidden_text = findings.hidden_elements[0]
        yield SafetyFlag(
            "safety.html_hidden_text", _truncate(f"{reason}: {hidden_text}"), len(findings.hidden_elements)
        )
    if findings.comment_injection:
        yield SafetyFlag(
            "safety.html_comment_instructions",
            _truncate(f"comment contains “{findings.comment_injection[0]}”"),
            len(findings.comment_injection),
        )
    if findings.invisible_pdf:
        yield SafetyFlag(
            "safety.pdf_invisible_text",
            _truncate(f"invisible text: {' '.join(findings.invisible_pdf)}"),
            len(findings.invisible_pdf),
        )


def _pii_flags(pii: Sequence[PiiMatch]) -> Iterator[SafetyFlag]:
    for kind in PII_KINDS:
        found = [match for match in pii if match.kind == kind]
        if found:
            code = f"safety.pii_{kind}"
            yield SafetyFlag(code, _truncate(f"{len(found)} found, e.g. {mask_pii(found[0])}"), len(found))


def scan_safety(
    text: str, raw: bytes | None = None, mime_type: str | None = None, pii: Sequence[PiiMatch] | None = None
) -> tuple[SafetyFlag, ...]:
    """Return one SafetyFlag per code found in ``text`` (and in ``raw`` HTML when given).

    ``pii``: the personal data already found in ``text`` by the caller (with the kinds its contract
    asks for); by default the basic kinds are looked for here."""
    findings = _Findings()
    _scan_text(text, findings)
    if raw is not None and is_html(raw, mime_type):
        _scan_html(raw, findings)
    if raw is not None and raw.startswith(b"%PDF-"):
        _scan_pdf(raw, findings)
    flags = {
        flag.code: flag
        for flag in (
            *_injection_flags(findings),
            *_hidden_character_flags(text, findings),
            *_hidden_markup_flags(findings),
            *_pii_flags(find_pii(text) if pii is None else pii),
        )
    }
    return tuple(flags[code] for code in SAFETY_CODES if code in flags)


def chunk_pii_flags(chunk_text: str, pii: Sequence[PiiMatch], redacted: bool) -> tuple[str, ...]:
    """A chunk's own personal-data flags: `safety.pii_<kind>` for each kind whose value, found in
    the document's text, the chunk holds verbatim (raw personal data), and `pii.redacted` when the
    document was redacted and the chunk holds a redaction mark. Matching the document's findings
    in the chunk costs a substring search, not a second run of the NER model."""
    kinds = {match.kind for match in pii if match.value and match.value in chunk_text}
    flags = [f"safety.pii_{kind}" for kind in PII_KINDS if kind in kinds]
    if redacted and REDACTION_MARK in chunk_text:
        flags.append(PII_REDACTED_FLAG)
    return tuple(sorted(flags))
