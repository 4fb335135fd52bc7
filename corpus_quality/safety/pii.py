"""Personal data in text: emails, phone numbers, payment card numbers, IBANs and national ids.

Candidates are validated (checksums, issuer ranges, reserved domains, written forms) before
they count, so a flag means a likely real value, not a digit run that looks like one.
"""

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PII_KINDS: tuple[str, ...] = ("iban", "card", "email", "phone", "national_id")


@dataclass(frozen=True)
class PiiMatch:
    """One validated piece of personal data found in text."""

    kind: str
    start: int
    end: int
    value: str


# Each pattern starts with a plain character class so the regex engine can skip ahead to
# candidates; the "not glued to a preceding word" check is done in Python (_starts_token).
# Emails are found from each "@": the local part is walked back in Python (a regex tried
# at every position before the "@" costs quadratic time), the domain matched forwards.
_EMAIL_DOMAIN_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}\b"
)
_EMAIL_LOCAL_SYMBOLS = frozenset("._%+-")  # besides letters and digits
_EMAIL_LOCAL_MAX = 64
# RFC 2606 / 6761 reserve these for documentation: addresses there belong to nobody.
_RESERVED_EMAIL_DOMAIN_RE = re.compile(
    r"(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$", re.IGNORECASE
)
_PHONE_INTL_RE = re.compile(r"\+[1-9]\d{0,2}(?:[ .\-]?\(0\))?(?:[ .\-]?\(?\d{1,5}\)?){1,6}(?![\w\-]|[.,]\d)")
# North American numbers need separators that dates and versions do not use in this shape.
_PHONE_NANP_RE = re.compile(
    r"[(2-9](?:(?<=\()[2-9]\d{2}\)\s?\d{3}[\-. ]|(?<![(])\d{2}([\-.])\d{3}\1)\d{4}(?![\w\-]|[.,]\d)"
)
_PHONE_NATIONAL_RE = re.compile(
    r"[(0](?:(?<=\()0\d{1,4}\)|(?<=0)\d{1,4})(?:[ /.\-]?\d{2,8}){1,4}(?![\w\-/]|[.,]\d)"
)
# National numbers without a "Tel:" cue only count in these common written forms.
_PHONE_NATIONAL_STRICT_RE = re.compile(
    r"0[1-9](?:[ .]\d{2}){4}"  # France: 01 23 45 67 89
    r"|0\d{4} \d{6}|0\d{3} \d{3} \d{4}|0\d{2} \d{4} \d{4}"  # UK
    r"|0\d{2,4}[ /\-]\d{4,8}"  # Germany/Austria: 030 12345678, 089/1234567
    r"|\(0\d{2,4}\) ?\d{4,8}"
)
_PHONE_CUE_RE = re.compile(
    r"(?:tel|phone|telephone|telefon|téléphone|teléfono|tél|fon|fax|mobile?|mobil|handy|cell|call|ruf|"
    r"contact|kontakt|☎|📞)[^\w\n]{0,12}(?:(?:no|nr|number|nummer)\.?[^\w\n]{0,4})?$",
    re.IGNORECASE,
)
_PHONE_CUE_WINDOW_CHARS = 25
_CARD_RE = re.compile(
    r"[0-9](?:\d{12,18}|\d{3}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{3})?|\d{3}([ \-])\d{6}\2\d{4,5})"
    r"(?![\w\-]|[.,]\d)"
)
_IBAN_RE = re.compile(r"[A-Z][A-Z]\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_IBAN_SHORTER_RE = re.compile(r"[A-Z][A-Z]\d\d(?: ?[A-Z0-9]{4}){2,7}")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True when ``candidate`` (spaces allowed) is a structurally valid IBAN (ISO 13616 mod 97)."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def _starts_token(text: str, start: int, glue: str = "") -> bool:
    """True when the candidate at ``start`` is not the tail of a longer word or number."""
    if start == 0:
        return True
    before = text[start - 1]
    return not (before.isalnum() or before == "_" or before in glue)


def _iban_matches(text: str) -> Iterator[PiiMatch]:
    for match in _IBAN_RE.finditer(text):
        if not _starts_token(text, match.start()):
            continue
        value = match.group(0)
        if iban_valid(value):
            yield PiiMatch("iban", match.start(), match.end(), value)
            continue
        # The optional short tail may have swallowed the next word ("... 00 EUR").
        shorter = _IBAN_SHORTER_RE.match(value)
        if shorter and shorter.group(0) != value and iban_valid(shorter.group(0)):
            yield PiiMatch("iban", match.start(), match.start() + shorter.end(), shorter.group(0))


def _issuer_length_ok(digits: str) -> bool:
    """The number's length fits its issuer's range: a 13-digit EAN starting with 5 is no Mastercard."""
    length, head = len(digits), digits[:6]
    if digits[0] == "4":
        return length in (13, 16, 19)  # Visa
    if "51" <= head[:2] <= "55" or "222100" <= head <= "272099":
        return length == 16  # Mastercard
    if head[:2] in ("34", "37"):
        return length == 15  # American Express
    if head[:2] in ("36", "38", "39") or "300" <= head[:3] <= "305":
        return 14 <= length <= 19  # Diners Club
    if head[:4] == "6011" or head[:2] == "65" or "644" <= head[:3] <= "649" or head[:2] == "62":
        return 16 <= length <= 19  # Discover, UnionPay
    if "3528" <= head[:4] <= "3589":
        return 16 <= length <= 19  # JCB
    return False


def _card_matches(text: str) -> Iterator[PiiMatch]:
    for match in _CARD_RE.finditer(text):
        if not _starts_token(text, match.start(), glue="-"):
            continue
        value = match.group(0)
        digits = re.sub(r"\D", "", value)
        # Issuer ranges start 2-6 (Mastercard 2/5, Amex/Diners 3, Visa 4, Discover/UnionPay 6);
        # checking it halves the order numbers that pass Luhn by chance.
        if _issuer_length_ok(digits) and len(set(digits)) > 1 and luhn_valid(digits):
            yield PiiMatch("card", match.start(), match.end(), value)


def _email_matches(text: str) -> Iterator[PiiMatch]:
    at = text.find("@")
    while at != -1:
        start = at
        floor = max(0, at - _EMAIL_LOCAL_MAX)
        while start > floor and (text[start - 1].isalnum() or text[start - 1] in _EMAIL_LOCAL_SYMBOLS):
            start -= 1
        # Punctuation that opens the run ("...jane@") belongs to the sentence, not the address.
        while start < at and text[start] in ".%+-":
            start += 1
        domain = _EMAIL_DOMAIN_RE.match(text, at + 1)
        if start < at and domain is not None:
            if not _RESERVED_EMAIL_DOMAIN_RE.search(domain.group(0)):
                yield PiiMatch("email", start, domain.end(), text[start : domain.end()])
        at = text.find("@", at + 1)


def _digit_count(value: str) -> int:
    return sum(char.isdigit() for char in value)


# National identifiers in their written forms only (a bare 9-digit run is too often something
# else): US Social Security numbers (AAA-GG-SSSS, with the SSA's never-issued ranges excluded) and
# UK National Insurance numbers (QQ 12 34 56 C, with the prefixes HMRC never allocates excluded).
_US_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)(\d{3})-(?!00)(\d{2})-(?!0000)(\d{4})(?![\w-])")
_UK_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D](?![A-Za-z0-9])"
)


def _national_id_matches(text: str) -> Iterator[PiiMatch]:
    for pattern in (_US_SSN, _UK_NINO):
        for match in pattern.finditer(text):
            yield PiiMatch("national_id", match.start(), match.end(), match.group(0))


def _phone_matches(text: str) -> Iterator[PiiMatch]:
    if "+" in text:
        for match in _PHONE_INTL_RE.finditer(text):
            if not _starts_token(text, match.start(), glue="+"):
                continue
            value = match.group(0).rstrip(" .-")
            if 8 <= _digit_count(value) <= 15:
                yield PiiMatch("phone", match.start(), match.start() + len(value), value)
    for match in _PHONE_NANP_RE.finditer(text):
        if _starts_token(text, match.start(), glue=".+-/"):
            yield PiiMatch("phone", match.start(), match.end(), match.group(0))
    for match in _PHONE_NATIONAL_RE.finditer(text):
        if not _starts_token(text, match.start(), glue=".+-/:"):
            continue
        value = match.group(0)
        if not 9 <= _digit_count(value) <= 12:
            continue
        cue_window = text[max(0, match.start() - _PHONE_CUE_WINDOW_CHARS) : match.start()]
        if _PHONE_CUE_RE.search(cue_window) or _PHONE_NATIONAL_STRICT_RE.fullmatch(value):
            yield PiiMatch("phone", match.start(), match.end(), value)


# Earlier finders win overlaps: an IBAN's digits are not also a card, a card not a phone.
_PII_FINDERS: tuple[Callable[[str], Iterator[PiiMatch]], ...] = (
    _iban_matches,
    _card_matches,
    _national_id_matches,
    _email_matches,
    _phone_matches,
)


def find_pii(text: str) -> list[PiiMatch]:
    """All validated emails, phone numbers, card numbers, IBANs and national ids in ``text``, in text order."""
    taken: list[PiiMatch] = []
    starts: list[int] = []
    for finder in _PII_FINDERS:
        for found in finder(text):
            # Taken spans never overlap, so only the neighbours in start order can collide.
            index = bisect.bisect_left(starts, found.start)
            if index > 0 and taken[index - 1].end > found.start:
                continue
            if index < len(taken) and taken[index].start < found.end:
                continue
            starts.insert(index, found.start)
            taken.insert(index, found)
    return taken


def mask_pii(match: PiiMatch) -> str:
    """The value mostly hidden, for a flag's detail: enough to find it again, not to reuse it."""
    value = match.value
    if match.kind == "email":
        local, domain = value.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    if match.kind == "iban":
        compact = value.replace(" ", "")
        return f"{compact[:2]}** **** {compact[-4:]}"
    if match.kind == "national_id":
        return f"***{value[-2:]}"
    digits = re.sub(r"\D", "", value)
    return f"***{digits[-2:]}" if match.kind == "phone" else f"**** {digits[-4:]}"


def redact_pii(text: str) -> tuple[str, int]:
    """Replace emails, phone numbers, cards, IBANs and national ids with "[REDACTED:<kind>]";
    return text and count."""
    matches = find_pii(text)
    if not matches:
        return text, 0
    pieces: list[str] = []
    cursor = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        pieces.append(f"[REDACTED:{match.kind}]")
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces), len(matches)
