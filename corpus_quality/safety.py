"""Scan extracted text (and raw HTML) for content that should not reach a model unseen.

Two families: text aimed at the model rather than the reader (prompt injection, hidden
characters, hidden HTML) and personal data (emails, phone numbers, card numbers, IBANs).
Flags are evidence for a person or a routing rule, not verdicts.
"""

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from corpus_quality.anchors import anchor_windows

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
)
PII_KINDS: tuple[str, ...] = ("iban", "card", "email", "phone", "national_id")

MAX_DETAIL_CHARS = 120
HTML_MIME = "text/html"


@dataclass(frozen=True)
class SafetyFlag:
    """One kind of finding in a document: its code, a short excerpt or explanation, and how often."""

    code: str
    detail: str
    count: int


@dataclass(frozen=True)
class PiiMatch:
    """One validated piece of personal data found in text."""

    kind: str
    start: int
    end: int
    value: str


# --- prompt injection -------------------------------------------------------------------

_INJECTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|of|my|these)\s+)*"
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|original|system)\s+"
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|context|messages?)\b"
    # "...the previous instructions for dock 4 that were emailed" is a memo about a named thing,
    # not an attack on a model's instructions.
    r"(?!\s+(?:for|about|regarding|concerning|on)\s+(?!(?:the\s+)?(?:ai|assistant|model|chatbot|bot|llm)\b)\w"
    r"|\s+(?:that\s+were\s+|we\s+)?(?:emailed|sent|posted|issued|circulated)\b)"
    r"|\b(?:disregard|ignore|forget|bypass)\s+(?:(?:the|your|all)\s+)?"
    r"(?:system\s+(?:prompt|message)|safety\s+(?:guidelines|rules|filters)|content\s+polic(?:y|ies))\b"
    r"|\bforget\s+(?:everything|all)\s+(?:(?:that\s+)?you(?:'ve|\s+have)?\s+(?:been\s+told|were\s+told|know|learned)"
    r"|(?:above|before))\b"
    r"|\b(?:new|updated|real|actual|revised)\s+instructions\s*:"
    # Asking for "the instructions" is ordinary ("print the instructions"); asking for
    # *your* instructions or the system prompt is aimed at a model.
    r"|\b(?:reveal|print|show|output|repeat|display|leak|disclose)\s+(?:me\s+)?(?:your|the)\s+"
    r"(?:(?:full|entire|hidden|initial|original|secret)\s+)*system\s+(?:prompt|message)\b"
    r"|\b(?:reveal|repeat|leak|disclose)\s+(?:me\s+)?your\s+"
    r"(?:(?:full|entire|hidden|initial|original|secret)\s+)*(?:instructions|prompt)\b"
    r"|\byou\s+are\s+now\s+(?:an?\s+|the\s+)?"
    r"(?:(?:new|unrestricted|unfiltered|uncensored|evil|different|jailbroken|free|rogue)\s+)*"
    r"(?:ai|assistant|chatbot|model|persona|dan)\b"
    r"|\byou\s+are\s+now\s+in\s+(?:developer|god|dan|jailbreak|admin)\s+mode\b"
    r"|\b(?:if|when)\s+you\s+are\s+an?\s+(?:ai|llm|(?:large\s+)?language\s+model|chatbot)"
    r"(?:\s+(?:assistant|model|agent))?(?:\s*,|\s+(?:reading|processing|summari[sz]ing|that|who)\b)"
    r"|\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?"
    r"(?:ai|llm|language\s+model|ai\s+assistant|assistant|chatbot)s?\s*:"
    r"|\bdo\s+not\s+(?:tell|inform|mention\s+(?:this\s+)?to|reveal\s+(?:this\s+)?to)\s+the\s+user\b"
    r"|<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|end_header_id|eot_id)\|>"
    r"|\[/?INST\]|<</?SYS>>"
    r"|\bignorier(?:e|en\s+sie)\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen|vorangegangenen)\s+"
    r"(?:anweisungen|instruktionen|befehle)\b"
    r"|\bignorez\s+(?:toutes\s+)?les\s+instructions\s+(?:précédentes|ci-dessus|antérieures)"
    r"|\bignora\s+(?:todas\s+)?las\s+instrucciones\s+(?:anteriores|previas)\b",
    re.IGNORECASE,
)
# Words that mark text as talking *about* injection (policies, training, threat models).
_DISCUSSION_CUE_RE = re.compile(
    r"prompt[- ]injection|injection attacks?|jailbreak|attackers?\b|adversar|malicious|red[- ]team"
    r"|for example|for instance|e\.g\.|such as|(?:phrases?|strings?|patterns?|text|commands?) like"
    r"|(?:may|might|could|can) (?:say|write|contain|include|embed|hide|insert)"
    r"|beware|be wary|watch out|never follow|do not follow|detect|filter"
    r"|beispiel|angreifer|schulung|zum beispiel|exemple|attaquant|formation|ejemplo|atacante|formación",
    re.IGNORECASE,
)
# The pattern is only tried near these words (see corpus_quality.anchors); each branch above
# contains at least one of them. Multi-word anchors use single spaces, so a phrase broken by
# unusual whitespace is missed: an accepted gap for a 20x cheaper scan.
_INJECTION_ANCHORS: tuple[str, ...] = (
    "ignor", "disregard", "forget", "override", "bypass", "instruction", "prompt",
    "system message", "you are", "note", "message", "attention", "do not", "<|", "inst]", "sys>>",
)
_INJECTION_REACH_BEFORE = 100
_INJECTION_REACH_AFTER = 200
_DISCUSSION_WINDOW_CHARS = 200
_SENTENCE_START_RE = re.compile(r"[.!?:;\n]")
_LEADING_NOISE = " \t-*•>#0123456789).(\"'“”„«»‘’`"

# --- hidden characters ------------------------------------------------------------------

_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_DROP_ZERO_WIDTH = str.maketrans("", "", _ZERO_WIDTH_CHARS)
_TAG_RUN_RE = re.compile("[\U000e0000-\U000e007f]+")
_BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_NAMES = {
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
}
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"

# --- HTML -------------------------------------------------------------------------------

_HIDING_STYLE_RE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden"
    r"|font-size\s*:\s*0*\.?0+(?:px|pt|em|rem|%)?\s*(?:;|$|!)"
    r"|(?<![-\w])opacity\s*:\s*0*\.?0+\s*(?:;|$|!)",
    re.IGNORECASE,
)
_COLOR_RE = re.compile(r"(?<![-\w])color\s*:\s*([^;!]+)", re.IGNORECASE)
_BACKGROUND_RE = re.compile(r"background(?:-color)?\s*:\s*([^;!]+)", re.IGNORECASE)
_CSS_RULE_RE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR_RE = re.compile(r"^[a-z0-9]*([.#])([\w-]+)$", re.IGNORECASE)
_RGB_RE = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)")
_NAMED_COLORS = {"white": "#ffffff", "black": "#000000", "transparent": "transparent"}
_DEFAULT_BACKGROUND = "#ffffff"  # browsers paint an unstyled page white
_NON_TEXT_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "meta", "link"})

# --- personal data ----------------------------------------------------------------------

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
_PHONE_INTL_RE = re.compile(
    r"\+[1-9]\d{0,2}(?:[ .\-]?\(0\))?(?:[ .\-]?\(?\d{1,5}\)?){1,6}(?![\w\-]|[.,]\d)"
)
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


def _truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- injection --------------------------------------------------------------------------


def _is_discussion(text: str, start: int, end: int) -> bool:
    """True when an injection-like phrase is quoted or reported inside text about injection.

    A policy that warns 'attackers may write "ignore previous instructions"' mentions the
    phrase; a page that says "Ignore previous instructions." at the start of a sentence uses
    it. Both need a discussion cue nearby; the mention must also be quoted or mid-sentence.
    """
    paragraph_start = text.rfind("\n\n", 0, start) + 1
    paragraph_end = text.find("\n\n", end)
    if paragraph_end == -1:
        paragraph_end = len(text)
    window_start = max(paragraph_start, start - _DISCUSSION_WINDOW_CHARS)
    window_end = min(paragraph_end, end + _DISCUSSION_WINDOW_CHARS)
    if not (
        _DISCUSSION_CUE_RE.search(text, window_start, start)
        or _DISCUSSION_CUE_RE.search(text, end, window_end)
    ):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    quoted = (
        prefix.count('"') % 2 == 1
        or prefix.count("`") % 2 == 1
        or prefix.count("“") + prefix.count("„") + prefix.count("«") > prefix.count("”") + prefix.count("»")
        or prefix.rstrip().endswith(("'", "‘"))
    )
    if quoted:
        return True
    sentence_prefix = _SENTENCE_START_RE.split(prefix)[-1].strip(_LEADING_NOISE)
    return bool(sentence_prefix)


def _injection_matches(text: str) -> list[re.Match[str]]:
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few characters ("İ") grow when lower-cased; offsets would drift, so scan it all.
        return list(_INJECTION_RE.finditer(text))
    matches: list[re.Match[str]] = []
    last_end = -1
    for start, end in anchor_windows(lowered, _INJECTION_ANCHORS, _INJECTION_REACH_BEFORE, _INJECTION_REACH_AFTER):
        for match in _INJECTION_RE.finditer(text, max(start, last_end), end):
            matches.append(match)
            last_end = match.end()
    return matches


def _injection_hits(text: str) -> list[str]:
    return [
        match.group(0)
        for match in _injection_matches(text)
        if not _is_discussion(text, match.start(), match.end())
    ]


def _strict_injection_hits(text: str) -> list[str]:
    # Hidden channels (comments, invisible elements, tag characters) have no readers to
    # discuss anything with: every match counts.
    return [match.group(0) for match in _injection_matches(text)]


# --- hidden characters ------------------------------------------------------------------


def _is_joiner_context(char: str) -> bool:
    code = ord(char)
    return (
        0x0600 <= code <= 0x06FF  # Arabic, Persian, Urdu: ZWNJ is part of spelling
        or 0x0750 <= code <= 0x077F
        or 0xFB50 <= code <= 0xFDFF
        or 0x0900 <= code <= 0x0DFF  # Indic scripts: ZWJ/ZWNJ select conjunct forms
        or 0x2600 <= code <= 0x27BF  # emoji sequences (👩‍💻) are joined with ZWJ
        or code >= 0x1F000
        or code == 0xFE0F
    )


def _zero_width_count(text: str) -> int:
    count = 0
    for match in _ZERO_WIDTH_RE.finditer(text):
        char, position = match.group(0), match.start()
        if char == "\ufeff" and position == 0:
            continue  # a byte-order mark opening the text is an encoding artefact
        if char in "\u200c\u200d":
            before = text[position - 1] if position else " "
            after = text[position + 1] if position + 1 < len(text) else " "
            if _is_joiner_context(before) or _is_joiner_context(after):
                continue
        count += 1
    return count


def _hidden_tag_runs(text: str) -> list[str]:
    """Runs of Unicode tag characters that are not part of an emoji flag, decoded to ASCII."""
    runs: list[str] = []
    # Tag characters lie outside the BMP: text that fits in UTF-16 code units cannot hold any.
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
        return runs
    for match in _TAG_RUN_RE.finditer(text):
        run = match.group(0)
        start = match.start()
        # Subdivision flags (🏴 + tags + cancel tag, e.g. England) are the one legitimate use.
        if start > 0 and text[start - 1] == _BLACK_FLAG and run.endswith(_CANCEL_TAG) and len(run) <= 7:
            continue
        runs.append("".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E))
    return runs


# --- HTML -------------------------------------------------------------------------------


def _normalise_color(value: str) -> str | None:
    value = value.strip().lower()
    if value in _NAMED_COLORS:
        return _NAMED_COLORS[value]
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "#" + "".join(c * 2 for c in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return value
    rgb = _RGB_RE.fullmatch(value)
    if rgb:
        red, green, blue, alpha = rgb.groups()
        if alpha is not None and float(alpha) == 0:
            return "transparent"
        return "#{:02x}{:02x}{:02x}".format(*(min(255, int(part)) for part in (red, green, blue)))
    return value or None


def _background_of(element: etree._Element) -> str:
    for node in (element, *element.iterancestors()):
        style = node.get("style")
        if style:
            match = _BACKGROUND_RE.search(style)
            if match:
                color = _normalise_color(match.group(1).split()[0])
                if color and color != "transparent":
                    return color
        bgcolor = node.get("bgcolor")
        if bgcolor:
            return _normalise_color(bgcolor) or _DEFAULT_BACKGROUND
    return _DEFAULT_BACKGROUND


def _hiding_selectors(root: etree._Element) -> tuple[set[str], set[str]]:
    """Classes and ids that the page's own <style> blocks hide."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in root.iter("style"):
        css = style.text or ""
        for selectors, declarations in _CSS_RULE_RE.findall(css):
            if not _HIDING_STYLE_RE.search(declarations):
                continue
            for selector in selectors.split(","):
                simple = _SIMPLE_SELECTOR_RE.match(selector.strip())
                if simple:
                    (classes if simple.group(1) == "." else ids).add(simple.group(2))
    return classes, ids


def _hiding_reason(element: etree._Element, classes: set[str], ids: set[str]) -> str | None:
    if element.get("hidden") is not None:
        return "hidden attribute"
    style = element.get("style") or ""
    if style:
        hiding = _HIDING_STYLE_RE.search(style)
        if hiding:
            return " ".join(hiding.group(0).rstrip(";!").split())
        color_match = _COLOR_RE.search(style)
        if color_match:
            color = _normalise_color(color_match.group(1))
            if color is not None and color == _background_of(element):
                return f"text colour equals background ({color})"
    if classes:
        for name in (element.get("class") or "").split():
            if name in classes:
                return f"class .{name} hidden by stylesheet"
    if ids and element.get("id") in ids:
        return f"#{element.get('id')} hidden by stylesheet"
    return None


def _visible_text(element: etree._Element) -> str:
    parts = element.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]")
    return " ".join(" ".join(str(part) for part in parts).split())


def _hidden_html(raw: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """(reason, text) for each hidden element with text, and the text of every HTML comment."""
    try:
        root = lxml_html.document_fromstring(raw)
    except (etree.ParserError, ValueError):
        return [], []
    classes, ids = _hiding_selectors(root)
    hidden: list[tuple[str, str]] = []
    flagged: set[etree._Element] = set()
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in _NON_TEXT_TAGS:
            continue
        if flagged and any(ancestor in flagged for ancestor in element.iterancestors()):
            continue  # already reported as part of a hidden ancestor (walked only once one is)
        reason = _hiding_reason(element, classes, ids)
        if reason is None:
            continue
        text = _visible_text(element)
        if text:
            flagged.add(element)
            hidden.append((reason, text))
    comments = [str(comment.text or "") for comment in root.iter(etree.Comment)]
    return hidden, comments


# --- personal data ----------------------------------------------------------------------


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


def _mask(match: PiiMatch) -> str:
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


# --- scan -------------------------------------------------------------------------------


def _is_html(raw: bytes, mime_type: str | None) -> bool:
    if mime_type is not None:
        return mime_type.split(";")[0].strip().lower() == HTML_MIME
    head = raw[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


# PDF text render mode 3 draws nothing: the text is extracted (and embedded) but no reader sees it.
_INVISIBLE_RENDER_MODE = 3
_PDF_PAGES_SCANNED = 200


def _pdf_invisible_text(raw: bytes) -> list[str]:
    """Text shown while the render mode is 3 (invisible), page by page; [] when unreadable."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import ContentStream

    found: list[str] = []
    try:
        reader = PdfReader(BytesIO(raw), strict=False)
        for page in reader.pages[:_PDF_PAGES_SCANNED]:
            contents = page.get_contents()
            if contents is None:
                continue
            mode = 0
            saved: list[int] = []
            for operands, operator in ContentStream(contents, reader).operations:
                if operator == b"Tr" and operands:
                    mode = int(operands[0])
                elif operator == b"q":
                    saved.append(mode)
                elif operator == b"Q" and saved:
                    mode = saved.pop()
                elif mode == _INVISIBLE_RENDER_MODE and operator in (b"Tj", b"'", b'"') and operands:
                    found.append(str(operands[-1]))
                elif mode == _INVISIBLE_RENDER_MODE and operator == b"TJ" and operands:
                    found.append("".join(str(part) for part in operands[0] if isinstance(part, str)))
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return found
    return [text.strip() for text in found if text.strip()]


def scan_safety(text: str, raw: bytes | None = None, mime_type: str | None = None) -> tuple[SafetyFlag, ...]:
    """Return one SafetyFlag per code found in ``text`` (and in ``raw`` HTML when given)."""
    flags: dict[str, SafetyFlag] = {}

    zero_width = _zero_width_count(text)
    # Zero-width characters can split a phrase ("ign\u200bore previous ...") past the
    # injection patterns: scan the text as a model would effectively read it.
    scan_text = text.translate(_DROP_ZERO_WIDTH) if zero_width else text
    injection = _injection_hits(scan_text)
    injection_places: list[str] = []
    if injection:
        injection_places.append(f"“{_truncate(injection[0], 60)}”")

    tag_runs = _hidden_tag_runs(text)
    tag_injection = [hit for run in tag_runs for hit in _strict_injection_hits(run)]
    if tag_injection:
        injection_places.append("in hidden Unicode tags")

    hidden_elements: list[tuple[str, str]] = []
    comment_injection: list[str] = []
    if raw is not None and _is_html(raw, mime_type):
        hidden_elements, comments = _hidden_html(raw)
        hidden_injection = [hit for _, hidden in hidden_elements for hit in _strict_injection_hits(hidden)]
        if hidden_injection:
            injection.extend(hidden_injection)
            injection_places.append("in hidden HTML")
        comment_injection = [hit for comment in comments for hit in _strict_injection_hits(comment)]
        if comment_injection:
            # Comments are invisible to a reader but not to a pipeline that feeds raw HTML to a model.
            injection.extend(comment_injection)
            injection_places.append("in an HTML comment")
    invisible_pdf: list[str] = []
    if raw is not None and raw.startswith(b"%PDF-"):
        invisible_pdf = _pdf_invisible_text(raw)
        pdf_injection = [hit for hidden in invisible_pdf for hit in _strict_injection_hits(hidden)]
        if pdf_injection:
            injection.extend(pdf_injection)
            injection_places.append("in invisible PDF text")

    injection.extend(tag_injection)
    if injection:
        flags["safety.injection_like"] = SafetyFlag(
            "safety.injection_like", _truncate("; ".join(injection_places)), len(injection)
        )
    if zero_width:
        flags["safety.hidden_zero_width"] = SafetyFlag(
            "safety.hidden_zero_width", f"{zero_width} zero-width character(s) inside the text", zero_width
        )
    if tag_runs:
        decoded = " ".join(run for run in tag_runs if run)
        detail = f"hidden tag text: {decoded!r}" if decoded else "Unicode tag characters outside an emoji flag"
        flags["safety.hidden_unicode_tags"] = SafetyFlag(
            "safety.hidden_unicode_tags", _truncate(detail), sum(len(run) or 1 for run in tag_runs)
        )
    bidi = _BIDI_RE.findall(text)
    if bidi:
        names = sorted({_BIDI_NAMES[char] for char in bidi})
        flags["safety.bidi_override"] = SafetyFlag(
            "safety.bidi_override", f"bidirectional control(s): {', '.join(names)}", len(bidi)
        )
    if hidden_elements:
        reason, hidden_text = hidden_elements[0]
        flags["safety.html_hidden_text"] = SafetyFlag(
            "safety.html_hidden_text", _truncate(f"{reason}: {hidden_text}"), len(hidden_elements)
        )
    if comment_injection:
        flags["safety.html_comment_instructions"] = SafetyFlag(
            "safety.html_comment_instructions",
            _truncate(f"comment contains “{comment_injection[0]}”"),
            len(comment_injection),
        )

    if invisible_pdf:
        flags["safety.pdf_invisible_text"] = SafetyFlag(
            "safety.pdf_invisible_text", _truncate(f"invisible text: {' '.join(invisible_pdf)}"), len(invisible_pdf)
        )

    pii = find_pii(text)
    for kind in PII_KINDS:
        found = [match for match in pii if match.kind == kind]
        if found:
            code = f"safety.pii_{kind}"
            flags[code] = SafetyFlag(code, _truncate(f"{len(found)} found, e.g. {_mask(found[0])}"), len(found))

    return tuple(flags[code] for code in SAFETY_CODES if code in flags)
