"""Per-document quality signals, each in [0, 1] with 1 meaning "looks fine".

The heuristics follow Gopher (Rae et al. 2021), C4, FineWeb and NeMo-Curator, but the
thresholds are loosened for enterprise documents: bullet-heavy procedures, tables, code
samples, short FAQs and non-English text must not be punished the way web spam is. Rules
from those pipelines that reject such documents by construction (FineWeb's "lines must end
in punctuation", C4's "drop lines with curly braces", Gopher's 50-word minimum) are left out.

Neutral values: a signal that has nothing to judge (no stopword profile for the language,
no date to age) returns a documented neutral value instead of guessing.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from corpus_quality.anchors import anchor_windows
from corpus_quality.errors import InvalidQualityInputError
from corpus_quality.stopwords import STOPWORDS

# No profile for the language (or no language at all) is not evidence of bad text.
NEUTRAL_STOPWORD_PRESENCE = 1.0
# No usable date: we cannot tell fresh from stale, so sit in the middle. Its weight is small
# enough that an undated but otherwise clean document still grades A.
NEUTRAL_STALENESS = 0.5
# A mime type we hold no size expectation for.
NEUTRAL_EXTRACTION_COMPLETENESS = 1.0

METADATA_FIELDS: tuple[str, ...] = ("title", "author", "modified")


@dataclass(frozen=True)
class QualityInput:
    """Everything the quality signals look at for one document."""

    text: str
    mime_type: str
    raw_size: int
    language: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None
    # 1 - the Jaccard similarity to the closest document already in the corpus (see
    # corpus_quality.near_duplicates); None when the caller has no corpus to compare with.
    near_duplicate: float | None = None

    def __post_init__(self) -> None:
        if self.raw_size < 0:
            raise InvalidQualityInputError(f"raw_size must be >= 0, got {self.raw_size}")


# Letters-only words: numbers and punctuation are judged by other signals.
_WORD_RE = re.compile(r"[^\W\d_]+")
_EDGE_PUNCTUATION = ".,;:!?()[]\"'“”‘’«»"
# A number with its internal separators ("1,234.5", "08:00-18:00", "2024-01-31") is one token.
_NUMBER_RE = re.compile(r"[0-9]+(?:[.,:/\-][0-9]+)*")

# Characters that are neither letters, digits, whitespace nor ordinary prose punctuation.
# Code and tables use some of them, hence the lenient thresholds below.
_SYMBOL_CHARS = "#$%&*+<=>@[\\]^_`{|}~§¤•¶†‡■□▪▫●○◆◇★☆►▼▲◄\u2500\u2502\u250c\u2510\u2514\u2518\ufffd"
_SYMBOL_RE = re.compile("[" + re.escape(_SYMBOL_CHARS) + "]")
_SPACE_CHARS = " \t\n\r\x0b\x0c\xa0"

# cp1252's printable characters for bytes 0x80-0x9f: UTF-8 continuation bytes decoded as
# cp1252 show up as these right after "Ã"/"Â"/"Å".
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE_FOLLOWERS = frozenset(chr(code) for code in range(0x80, 0xC0)) | frozenset(_CP1252_HIGH)
# One character class so the regex engine can skip clean text quickly; what follows a lead
# character is checked in Python.
_MOJIBAKE_CANDIDATE_RE = re.compile("[ÃÂÅâ\ufffd\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_MOJIBAKE_LEADS = "ÃÂÅ"  # "Ã©" for é, "Â " for a no-break space
# "â€" opens ’ “ ” – … (all E2 80 xx); U+FFFD marks undecodable bytes; C0 controls other
# than tab/newline/CR/form feed (PDF page breaks), DEL and C1 controls never occur in text.

# Lower-cased text is searched, so no IGNORECASE (which would double the cost).
_BOILERPLATE_RE = re.compile(
    r"\b(?:"
    r"we use cookies|(?:accept|allow|reject) (?:all )?cookies|this (?:web)?site uses cookies"
    r"|cookie (?:policy|settings|preferences|consent|banner)"
    r"|all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados"
    r"|copyright\s*(?:©|\(c\)|\d{4})"
    r"|click here|klicken sie hier|cliquez ici|haga clic aquí"
    r"|javascript (?:is )?(?:disabled|required|must be enabled)|enable javascript"
    r"|your browser does not support"
    r"|skip to (?:main )?content|back to top"
    r"|(?:subscribe|sign up) (?:to|for) (?:our )?newsletter"
    r"|(?:share|follow us) on (?:facebook|twitter|linkedin|instagram)"
    r"|privacy policy|terms (?:of|and) (?:use|service|conditions)"
    r"|powered by|lorem ipsum|read more"
    r"|leave a (?:comment|reply)|log ?in to (?:comment|reply)"
    r")\b|©\s*\d{4}"
)
# Every branch above contains one of these anchors. The pattern is only tried near them,
# and an anchor is only searched for when its trigger word occurs in the document at all
# (a set lookup instead of a 50 KB scan per anchor).
_BOILERPLATE_ANCHORS: tuple[tuple[str, str], ...] = (
    ("cookie", "cookie"),
    ("cookie", "cookies"),
    ("rights", "rights"),
    ("rechte", "rechte"),
    ("droits", "droits"),
    ("derechos", "derechos"),
    ("copyright", "copyright"),
    ("click", "click"),
    ("klicken", "klicken"),
    ("cliquez", "cliquez"),
    ("clic", "clic"),
    ("javascript", "javascript"),
    ("browser", "browser"),
    ("skip to", "skip"),
    ("back to top", "back"),
    ("newsletter", "newsletter"),
    ("share on", "share"),
    ("follow us", "follow"),
    ("privacy", "privacy"),
    ("terms", "terms"),
    ("powered", "powered"),
    ("lorem", "lorem"),
    ("read more", "read"),
    ("leave a", "leave"),
    ("log in", "log"),
    ("login", "login"),
)
# Boilerplate is short navigation/footer chrome; a long paragraph that mentions
# "privacy policy" in passing is content.
_BOILERPLATE_MAX_LINE_CHARS = 300

# Expected extracted-text bytes per raw byte, and a fixed container overhead that
# carries no text (zip + styles for docx, fonts/xref for PDF, <head> for HTML).
_EXTRACTION_EXPECTATIONS: dict[str, tuple[float, int]] = {
    "text/plain": (0.7, 0),
    "text/markdown": (0.5, 0),
    "text/html": (0.02, 2_000),
    "application/pdf": (0.01, 10_000),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (0.02, 40_000),
}
# Plain text and Markdown cannot yield much more text than they hold: more means the
# extractor duplicated content.
_TEXT_MIMES = frozenset({"text/plain", "text/markdown"})

_DAY_SECONDS = 86_400.0


def letter_words(lowered: str) -> list[str]:
    """Runs of letters in ``lowered``, same result as ``_WORD_RE.findall`` at ~60% of the cost."""
    # Most whitespace tokens are a bare word or a word with edge punctuation; only the rest
    # ("l'outil", "e3", "x=1") need the regex.
    words: list[str] = []
    append = words.append
    extend = words.extend
    for token in lowered.split():
        if token.isalpha():
            append(token)
            continue
        stripped = token.strip(_EDGE_PUNCTUATION)
        if stripped.isalpha():
            append(stripped)
        else:
            extend(_WORD_RE.findall(token))
    return words


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    """Linear map: ``zero_at`` -> 0, ``one_at`` -> 1, clamped; works in either direction."""
    if zero_at == one_at:
        return 1.0 if value >= one_at else 0.0
    position = (value - zero_at) / (one_at - zero_at)
    return min(1.0, max(0.0, position))


def _length(word_count: int) -> float:
    # A 60-word FAQ answer is a complete retrieval unit; 3 words are not.
    if word_count >= 50:
        return 1.0
    if word_count >= 20:
        return 0.8 + 0.2 * (word_count - 20) / 30
    if word_count >= 5:
        return 0.3 + 0.5 * (word_count - 5) / 15
    return 0.06 * word_count


def _alpha_word_ratio(word_count: int, lowered: str) -> float:
    # Gopher wants 80% of words to carry a letter; tables of figures and code carry fewer,
    # so full marks from 60%. Pure punctuation (bullets, table pipes) is left to symbol_ratio.
    numbers = len(_NUMBER_RE.findall(lowered))
    if word_count + numbers == 0:
        return 0.0
    return _ramp(word_count / (word_count + numbers), 0.25, 0.6)


def _symbol_ratio(text: str) -> float:
    non_space = len(text) - sum(map(text.count, _SPACE_CHARS))
    if non_space <= 0:
        return 0.0
    symbols = len(_SYMBOL_RE.findall(text))
    # Code samples run at 10-20% of these characters; symbol soup at well over half.
    return _ramp(symbols / non_space, 0.5, 0.2)


def _line_repetition(lines: list[str]) -> float:
    if len(lines) < 3:
        return 1.0
    seen: set[str] = set()
    total_chars = 0
    duplicate_chars = 0
    for line in lines:
        total_chars += len(line)
        if line in seen:
            duplicate_chars += len(line)
        else:
            seen.add(line)
    # Weighted by characters so short repeated table cells ("Yes", "N/A") barely count,
    # while whole repeated paragraphs do. Gopher rejects above 20% duplicate characters.
    return _ramp(duplicate_chars / total_chars, 0.5, 0.15)


def _ngram_repetition(words: list[str]) -> float:
    if len(words) < 30:
        return 1.0
    total = len(words) - 4
    distinct = len(set(zip(words, words[1:], words[2:], words[3:], words[4:], strict=False)))
    # Share of 5-grams that repeat an earlier one (Gopher counts first occurrences too, so
    # its 0.15 limit is roughly 0.08 here). Procedures repeat phrases ("click Save to ...")
    # legitimately, hence full marks up to 10%; a document pasted twice over sits at 50%.
    repeated_share = 1.0 - distinct / total
    return _ramp(repeated_share, 0.45, 0.1)


def _encoding_health(text: str, word_count: int) -> float:
    broken = 0
    for match in _MOJIBAKE_CANDIDATE_RE.finditer(text):
        char = match.group(0)
        if char in _MOJIBAKE_LEADS or char == "â":
            following = text[match.end() : match.end() + 1]
            if char == "â" and following != "€":
                continue
            if char != "â" and following not in _MOJIBAKE_FOLLOWERS:
                continue
        broken += 1
    if broken == 0:
        return 1.0
    # One broken character per 20 words means most accents/quotes are garbled: score 0.
    # A single stray U+FFFD in a long document costs almost nothing.
    return max(0.0, 1.0 - 20.0 * broken / max(word_count, 1))


def _mean_word_length(words: list[str]) -> float:
    if not words:
        return 0.0
    mean = sum(map(len, words)) / len(words)
    # Gopher keeps 3-10; German compounds push the mean up, so the upper ramp is wide.
    if mean < 3.0:
        return _ramp(mean, 1.5, 3.0)
    return _ramp(mean, 16.0, 10.0)


def _boilerplate(lowered: str, line_count: int, vocabulary: set[str]) -> float:
    if line_count == 0:
        return 0.0
    anchors = {anchor for anchor, trigger in _BOILERPLATE_ANCHORS if trigger in vocabulary}
    if "©" in lowered:
        anchors.add("©")
    boilerplate_lines: set[int] = set()
    for start, end in anchor_windows(lowered, anchors, 40, 40):
        for match in _BOILERPLATE_RE.finditer(lowered, start, end):
            line_start = lowered.rfind("\n", 0, match.start()) + 1
            line_end = lowered.find("\n", match.end())
            if line_end == -1:
                line_end = len(lowered)
            if line_end - line_start <= _BOILERPLATE_MAX_LINE_CHARS:
                boilerplate_lines.add(line_start)
    return _ramp(len(boilerplate_lines) / line_count, 0.5, 0.05)


def _stopword_presence(words: list[str], language: str | None) -> float:
    profile = STOPWORDS.get(language or "")
    if profile is None:
        return NEUTRAL_STOPWORD_PRESENCE
    if not words:
        return 0.0
    hits = sum(map(profile.__contains__, words))
    # Running prose is 30-50% stopwords; terse bullet procedures still reach 15%.
    return _ramp(hits / len(words), 0.0, 0.12)


def _extraction_completeness(text: str, mime_type: str, raw_size: int) -> float:
    mime = mime_type.split(";")[0].strip().lower()
    expectation = _EXTRACTION_EXPECTATIONS.get(mime)
    if expectation is None:
        return NEUTRAL_EXTRACTION_COMPLETENESS
    if raw_size == 0:
        return 0.0
    floor, overhead = expectation
    extracted = len(text.encode("utf-8", "surrogatepass"))
    content_bytes = raw_size - overhead
    if content_bytes <= 0:
        # The file is no bigger than an empty container: whatever text came out is all of it.
        return 1.0 if extracted else 0.0
    ratio = extracted / content_bytes
    if mime in _TEXT_MIMES and ratio > 1.3:
        return _ramp(ratio, 3.0, 1.3)
    return _ramp(ratio, 0.0, floor)


def _metadata_completeness(metadata: Mapping[str, str]) -> float:
    present = 0
    for name in METADATA_FIELDS:
        value = metadata.get(name)
        # A creation date still dates the document when no modification date was kept.
        if not value and name == "modified":
            value = metadata.get("created")
        if value and value.strip():
            present += 1
    return present / len(METADATA_FIELDS)


def parse_iso_datetime(value: str) -> datetime | None:
    """Parse an ISO 8601 date or datetime; naive values are taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _staleness(metadata: Mapping[str, str], now: datetime | None) -> float:
    stamp = metadata.get("modified") or metadata.get("created")
    if not stamp:
        return NEUTRAL_STALENESS
    when = parse_iso_datetime(stamp)
    if when is None:
        return NEUTRAL_STALENESS
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    age_days = (current - when).total_seconds() / _DAY_SECONDS
    if age_days < -1:
        # A date in the future is a wrong clock or wrong field, not freshness.
        return NEUTRAL_STALENESS
    # Fresh for a year, then losing value until five years; old policies may still be valid,
    # so never below 0.2.
    if age_days <= 365:
        return 1.0
    return max(0.2, 1.0 - 0.8 * (age_days - 365) / (4 * 365))


@dataclass(frozen=True)
class TextView:
    """One document's text as the signals read it, split once for all of them."""

    doc: QualityInput
    lowered: str
    words: list[str]
    lines: list[str]  # non-empty lines, stripped

    @classmethod
    def of(cls, doc: QualityInput) -> "TextView":
        lowered = doc.text.lower()
        lines = [stripped for line in doc.text.splitlines() if (stripped := line.strip())]
        return cls(doc=doc, lowered=lowered, words=letter_words(lowered), lines=lines)

    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def word_count(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class Signal:
    """One quality signal: how it is measured, what it weighs in the score, whether it gates.

    `gating`: one gating signal below the floor caps the grade at C; two, or `length`, mean F
    (corpus_quality/grading.py). `reads_text`: False for a signal judged from the record alone
    (metadata, dates, the corpus), which an empty text still has; a text signal of an empty text
    is 0. `version`: bump it when `compute` changes what it returns for some text: the
    assessment version (corpus_quality/version.py) changes, and every document is assessed again.
    """

    name: str
    compute: Callable[[TextView], float]
    weight: float
    gating: bool = False
    reads_text: bool = True
    version: int = 1


# The weights of the weighted mean. Signals that ruin retrieval outright (mojibake makes text
# unmatchable, a 3-word document answers nothing) weigh most; the ones that describe the record
# rather than the text (metadata, age) weigh least, so an undated, untitled but clean document
# still grades A; heuristics that well-formed enterprise text trips by design (stopwords in
# tables, word length in code) sit in between. The gating ones are those whose failure alone
# makes a text useless to retrieve, whatever the others say. The order is the reasons' order on
# a tie.
SIGNALS: tuple[Signal, ...] = (
    Signal("length", lambda v: _length(v.word_count), weight=1.5, gating=True),
    Signal("alpha_word_ratio", lambda v: _alpha_word_ratio(v.word_count, v.lowered), weight=1.0, gating=True),
    Signal("symbol_ratio", lambda v: _symbol_ratio(v.text), weight=1.0, gating=True),
    Signal("line_repetition", lambda v: _line_repetition(v.lines), weight=1.0, gating=True),
    Signal("ngram_repetition", lambda v: _ngram_repetition(v.words), weight=1.0, gating=True),
    Signal("encoding_health", lambda v: _encoding_health(v.text, v.word_count), weight=1.5, gating=True),
    Signal("mean_word_length", lambda v: _mean_word_length(v.words), weight=0.5),
    Signal(
        "boilerplate", lambda v: _boilerplate(v.lowered, len(v.lines), set(v.words)), weight=1.0, gating=True
    ),
    Signal("stopword_presence", lambda v: _stopword_presence(v.words, v.doc.language), weight=0.75),
    Signal(
        "extraction_completeness",
        lambda v: _extraction_completeness(v.text, v.doc.mime_type, v.doc.raw_size),
        weight=1.0,
    ),
    Signal(
        "metadata_completeness",
        lambda v: _metadata_completeness(v.doc.metadata),
        weight=0.5,
        reads_text=False,
    ),
    Signal("staleness", lambda v: _staleness(v.doc.metadata, v.doc.now), weight=0.5, reads_text=False),
    # A near-copy of a document already indexed adds little to retrieval and competes with it.
    Signal(
        "near_duplicate",
        lambda v: 1.0 if v.doc.near_duplicate is None else v.doc.near_duplicate,
        weight=1.0,
        reads_text=False,
    ),
)
QUALITY_SIGNALS: tuple[str, ...] = tuple(signal.name for signal in SIGNALS)


def compute_signals(doc: QualityInput) -> dict[str, float]:
    """Compute every signal of SIGNALS for ``doc``; each value is in [0, 1], 1 = good."""
    view = TextView.of(doc)
    empty = not doc.text.strip()
    return {signal.name: 0.0 if empty and signal.reads_text else signal.compute(view) for signal in SIGNALS}
