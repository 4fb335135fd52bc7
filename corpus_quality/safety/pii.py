"""Personal data in text: emails, phone numbers, payment card numbers, IBANs, national ids, street
addresses, dates of birth and names of people.

Candidates are validated (checksums, issuer ranges, reserved domains, written forms) before
they count, so a flag means a likely real value, not a digit run that looks like one. Addresses
need a house number beside a street word ("12 Baker Street", "Hauptstraße 5"), so a heading such as
"Main Street Deployment" is not one; a date counts as a date of birth only after a birth cue
("born on", "DOB:", "geboren am"). Names come from an NER model (corpus_quality/safety/
person_names.py), loaded only when `kinds` asks for them: `PATTERN_KINDS` are the kinds found by
patterns alone, cheap enough for every document.
"""

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

# Found by patterns alone (no model): cheap enough to scan every document.
PATTERN_KINDS: tuple[str, ...] = ("iban", "card", "email", "phone", "national_id", "address", "date_of_birth")
# Found by the NER model, loaded on first use.
MODEL_KINDS: tuple[str, ...] = ("person",)
PII_KINDS: tuple[str, ...] = PATTERN_KINDS + MODEL_KINDS
# What a plain scan looks for: the kinds every policy has always been given. Addresses, dates of
# birth and names join them where the contract asks for redaction (pipelines/document/
# extraction_worker.py), so a contract that tags or quarantines decides as before.
BASIC_KINDS: tuple[str, ...] = ("iban", "card", "email", "phone", "national_id")


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


# Street addresses: a house number and one to four capitalised words ending in a street word
# (US/UK), or a German/Austrian/Swiss street name followed by its number; then optionally a flat,
# a town, a US state and ZIP code, a UK postcode or a German postcode. Without the house number a
# street word is a heading or a product ("Main Street Deployment"), not where someone lives.
_STREET_WORDS = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Court|Ct\.?|"
    r"Place|Pl\.?|Terrace|Way|Close|Crescent|Square|Sq\.?|Parkway|Pkwy\.?|Highway|Hwy\.?|Row|"
    r"Gardens|Mews|Grove|Walk|Circle|Cir\.?|Trail|Park"
)
# Street words that also end ordinary phrases ("a 2 Factor Way", "Level 3 Car Park"): they count
# only with a town or postcode after them.
_WEAK_STREET_WORDS = frozenset(
    {
        "Way",
        "Park",
        "Walk",
        "Row",
        "Circle",
        "Cir",
        "Trail",
        "Square",
        "Place",
        "Court",
        "Close",
        "Grove",
        "Gardens",
        "Pl",
        "Ct",
        "Sq",
    }
)
_UNIT = r"(?:,?\s(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|#)\.?\s?[\w-]{1,6})?"
_TOWN = r"(?:,\s?[A-Z][a-z'\-]+(?:\s[A-Z][a-z'\-]+){0,2})?"
_POSTCODE = (
    r"(?:,?\s(?:[A-Z]{2}\s\d{5}(?:-\d{4})?"  # US: state and ZIP
    r"|[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}"  # UK postcode
    r"|\d{5}(?:-\d{4})?))?"
)
_ADDRESS_EN_RE = re.compile(
    r"(?:(?:Flat|Apt|Apartment|Unit|Suite)\.?\s[\w-]{1,6},\s)?"
    r"[1-9]\d{0,4}[A-Za-z]?(?:-\d{1,5})?,?\s(?:(?:[NSEW]|North|South|East|West)\.?\s)?"
    r"(?:(?:St\.|Mt\.|[A-Z][a-z'\-]+)\s){1,4}(?P<street>" + _STREET_WORDS + r")(?![\w-])(?!\s\d+\.\d)"
    r"(?:\s(?:NW|NE|SW|SE|N|S|E|W)\b)?" + _UNIT + _TOWN + _POSTCODE
)
_ADDRESS_PO_BOX_RE = re.compile(r"P\.?\s?O\.?\sBox\s\d{1,6}" + _TOWN + _POSTCODE, re.IGNORECASE)
_ADDRESS_DE_RE = re.compile(
    r"[A-ZÄÖÜ][a-zäöüß\-]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee)"
    r"|(?:[A-ZÄÖÜ][a-zäöüß\-]+\s){1,2}(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer)"
)
_ADDRESS_DE_TAIL_RE = re.compile(
    r"\s[1-9]\d{0,3}\s?[a-z]?(?:-\d{1,4})?(?![\w.,]\d)(?:,\s?(?:[A-Z]-|D-)?\d{4,5}\s[A-ZÄÖÜ][a-zäöüß\-]+"
    r"(?:\s(?:am|an der|im)\s[A-ZÄÖÜ][a-zäöüß]+)?)?"
)
# A town name is cut where a sentence goes on: "12 Baker Street, London" but not ", London and".
_TOWN_STOP_WORDS = frozenset({"The", "This", "That", "Please", "Tel", "Phone", "Email", "And", "But"})


def _address_matches(text: str) -> Iterator[PiiMatch]:
    for pattern in (_ADDRESS_EN_RE, _ADDRESS_PO_BOX_RE):
        for match in pattern.finditer(text):
            if not _starts_token(text, match.start(), glue=".-/"):
                continue
            if text[max(0, match.start() - 4) : match.start()].lower() == "the ":
                continue  # "the 2019 Main Street outage": a year and a heading, not where one lives
            value = match.group(0).rstrip(" ,")
            words = value.split(", ")
            while len(words) > 1 and words[-1].split()[0] in _TOWN_STOP_WORDS:
                words.pop()
            value = ", ".join(words)
            street = match.groupdict().get("street")
            if street is not None and street.rstrip(".") in _WEAK_STREET_WORDS and value.endswith(street):
                continue
            yield PiiMatch("address", match.start(), match.start() + len(value), value)
    for match in _ADDRESS_DE_RE.finditer(text):
        if not _starts_token(text, match.start()):
            continue
        tail = _ADDRESS_DE_TAIL_RE.match(text, match.end())
        if tail is not None:
            value = text[match.start() : tail.end()]
            yield PiiMatch("address", match.start(), tail.end(), value)


# A date of birth is a date after a birth cue; the cue stays readable, the date is the value.
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?|"
    r"Januar|Februar|März|Mai|Juni|Juli|Oktober|Dezember)\.?"
)
_DATE = (
    r"(?:\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)?\d{2}"
    r"|(?:19|20)\d{2}-\d{2}-\d{2}"
    r"|\d{1,2}(?:st|nd|rd|th|\.)?\s(?:of\s)?" + _MONTHS + r",?\s(?:19|20)\d{2}"
    r"|" + _MONTHS + r"\s\d{1,2}(?:st|nd|rd|th)?,?\s(?:19|20)\d{2})"
)
_DATE_OF_BIRTH_RE = re.compile(
    r"(?:date\s+of\s+birth|birth\s?date|d\.?o\.?b\.?|born(?:\s+on)?|birthday|"
    r"geburtsdatum|geboren(?:\s+am)?|geb\.)"
    r"\s*(?:[:\-–(]\s*)?(?:(?:is|was|on|as)\s+)?(" + _DATE + r")(?![\w/.\-]\d)",
    re.IGNORECASE,
)


def _date_of_birth_matches(text: str) -> Iterator[PiiMatch]:
    for match in _DATE_OF_BIRTH_RE.finditer(text):
        if _starts_token(text, match.start()):
            yield PiiMatch("date_of_birth", match.start(1), match.end(1), match.group(1))


def _person_matches(text: str, language: str | None) -> Iterator[PiiMatch]:
    from corpus_quality.safety.person_names import person_spans

    for start, end in person_spans(text, language):
        yield PiiMatch("person", start, end, text[start:end])


# Earlier finders win overlaps: an IBAN's digits are not also a card, a card not a phone, a date
# of birth not a house number, an address not a name ("Baker Street").
_PII_FINDERS: tuple[tuple[str, Callable[[str], Iterator[PiiMatch]]], ...] = (
    ("iban", _iban_matches),
    ("card", _card_matches),
    ("national_id", _national_id_matches),
    ("email", _email_matches),
    ("phone", _phone_matches),
    ("date_of_birth", _date_of_birth_matches),
    ("address", _address_matches),
)


def find_pii(text: str, kinds: Iterable[str] = BASIC_KINDS, language: str | None = None) -> list[PiiMatch]:
    """The personal data of the given ``kinds`` in ``text``, validated, in text order.

    ``person`` loads the NER model on first use (corpus_quality/safety/person_names.py) and runs
    it when ``language`` is English or unknown (None); names after a cue are found in any."""
    wanted = frozenset(kinds)
    unknown = wanted - frozenset(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown personal data kinds {sorted(unknown)}; known: {', '.join(PII_KINDS)}")
    finders = [finder for kind, finder in _PII_FINDERS if kind in wanted]
    if "person" in wanted:
        finders.append(lambda text: _person_matches(text, language))  # last: addresses win overlaps
    taken: list[PiiMatch] = []
    starts: list[int] = []
    for finder in finders:
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
    if match.kind == "person":
        return " ".join(f"{word[:1]}." for word in value.split())
    if match.kind in ("address", "date_of_birth"):
        return f"{value[:2]}***"
    digits = re.sub(r"\D", "", value)
    return f"***{digits[-2:]}" if match.kind == "phone" else f"**** {digits[-4:]}"


REDACTION_MARK = "[REDACTED:"
# The version of the patterns above: bump it when a change finds other values in some text.
PATTERNS_VERSION = "2"


def pii_detector_id(kinds: Iterable[str]) -> str:
    """Which detectors, at which versions, look for ``kinds``: for the redaction record."""
    detector = f"corpusgov-pii-patterns/{PATTERNS_VERSION}"
    if set(kinds) & set(MODEL_KINDS):
        from importlib.metadata import PackageNotFoundError, version

        from corpus_quality.safety.person_names import DETECTOR_ID

        try:
            spacy_version = version("spacy")
        except PackageNotFoundError:
            spacy_version = "not installed"
        detector += f" + {DETECTOR_ID} (spaCy {spacy_version})"
    return detector


def redact_pii(text: str, kinds: Iterable[str] = BASIC_KINDS, language: str | None = None) -> tuple[str, int]:
    """Replace the personal data of ``kinds`` with "[REDACTED:<kind>]"; return text and count."""
    matches = find_pii(text, kinds, language)
    return redact_matches(text, matches), len(matches)


def redact_matches(text: str, matches: Sequence[PiiMatch]) -> str:
    """``text`` with each of ``matches`` (in text order, not overlapping) replaced by "[REDACTED:<kind>]"."""
    if not matches:
        return text
    pieces: list[str] = []
    cursor = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        pieces.append(f"{REDACTION_MARK}{match.kind}]")
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)
