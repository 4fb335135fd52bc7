"""A cheap, conservative guess at whether prose reads like LLM output.

A weak signal by design: it may TAG a document for review, never quarantine it or make it
"ai_generated" (label_provenance only records the score). Plenty of people write "in
conclusion" and use em-dashes; plenty of LLM text has none of these tells, and paraphrased
AI text is exactly what it exists to catch, so it cannot be strict.

Features, each mapped to [0, 1]:
- ``phrases``: LLM-typical phrases ("delve", "it's important to note", "in today's
  fast-paced", "we've got you covered") per 1,000 words, damped until three different
  phrases occur, so one "in conclusion" in a memo is not enough.
- ``em_dashes``: em-dashes per 100 words.
- ``uniform_sentences``: low burstiness, i.e. a small coefficient of variation of sentence
  lengths (people mix short and long sentences more); needs 6 sentences.
- ``bold_lead_in_bullets``: share of bullets opening with a bolded phrase ("- **Scale:** ...").
- ``emoji``: emoji per 100 words (marketing-style listicles).

The score is a weighted sum where the phrase feature carries more than half: style
features alone top out at 0.45, below DEFAULT_THRESHOLD. English only: phrases in other
languages are not listed, so non-English text stays under the threshold.

Measured false-positive rate at DEFAULT_THRESHOLD: 0 of 42 human-written controls (38 of
them long enough to score: tests/fixtures/corpus_quality/texts/ and human_prose/, and the
example corpus minus its two AI-declared documents), highest control score 0.20; both
AI-declared examples score above 0.7.
"""

import re
import statistics
from dataclasses import dataclass, field

# The flag a document carries when this weak signal fires: it tags, it never quarantines.
HEURISTIC_AI_FLAG = "provenance.heuristic_ai_suspected"

DEFAULT_THRESHOLD = 0.5
# Below this many words the features are noise.
MIN_WORDS = 60

# (trigger substrings, phrase regex, weight). Weight 1: phrases that are rare in business
# writing but LLM favourites. Weight 0.3: words common in ordinary corporate prose too.
# A regex only runs when one of its triggers occurs: a substring test is far cheaper
# than a \b-anchored scan of the whole text.
_PHRASES: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("delv",), r"\bdelv(?:e|es|ing)\b", 1.0),
    (
        ("important", "worth", "crucial"),
        r"\bit(?:'|’)?s (?:important|worth|crucial) (?:to note|noting)\b"
        r"|\bit is (?:important|worth|crucial) to not(?:e|ing)\b",
        1.0,
    ),
    (("worth noting",), r"\bworth noting\b", 1.0),
    (("today",), r"\bin today(?:'|’)s (?:fast-paced|digital|ever-changing|rapidly)", 1.0),
    (("fast-paced",), r"\bfast-paced (?:world|landscape|environment)\b", 1.0),
    (("ever-",), r"\bever-(?:evolving|changing) (?:landscape|world)\b", 1.0),
    (("tapestry",), r"\btapestry\b", 1.0),
    (("testament",), r"\ba testament to\b", 1.0),
    (("navigat",), r"\bnavigat(?:e|ing) the (?:complexities|intricacies)\b", 1.0),
    (("realm",), r"\bin the realm of\b", 1.0),
    (("dive",), r"\blet(?:'|’)s dive\b|\bdive (?:deep )?into\b|\bdeep dive\b", 1.0),
    (("changer",), r"\bgame[- ]changer\b", 1.0),
    (
        ("unlock",),
        r"\bunlock(?:ing)? (?:the |your |a )?(?:full |true )?(?:potential|power|success|deeper)\b",
        1.0,
    ),
    (("whether you",), r"\bwhether you(?:'|’)re (?:a|an|just)\b", 1.0),
    (("got you covered",), r"\bwe(?:'|’)ve got you covered\b", 1.0),
    (("hesitate",), r"\bdon(?:'|’)t hesitate to (?:reach out|contact)\b", 1.0),
    (("in conclusion", "in summary", "to sum up"), r"\bin conclusion\b|\bin summary\b|\bto sum up\b", 1.0),
    (("supercharge",), r"\bsupercharge\b", 1.0),
    (("embark",), r"\bembark(?:ing)? on\b", 1.0),
    (("elevate",), r"\belevate (?:your|the)\b", 1.0),
    (("great question",), r"\bgreat question\b", 1.0),
    (("hope this helps", "as an ai"), r"\bi hope this helps\b|\bas an ai(?: language model)?\b", 1.0),
    (("takeaway",), r"\bkey takeaways?\b", 1.0),
    (("destination",), r"\ba journey,? not a destination\b", 1.0),
    (("just",), r"\b(?:isn(?:'|’)t|is not) just (?:a|an|about)\b", 1.0),
    (("cornerstone",), r"\bcornerstone\b", 1.0),
    (("seamless",), r"\bseamless(?:ly)?\b", 0.3),
    (("leverag",), r"\bleverag(?:e|es|ing)\b", 0.3),
    (("robust",), r"\brobust\b", 0.3),
    (("foster",), r"\bfoster(?:s|ing)?\b", 0.3),
    (("holistic",), r"\bholistic\b", 0.3),
    (("pivotal",), r"\bpivotal\b", 0.3),
    (("empower",), r"\bempower(?:s|ing)?\b", 0.3),
    (("harness",), r"\bharness(?:es|ing)?\b", 0.3),
    (("actionable",), r"\bactionable\b", 0.3),
    (("well-equipped",), r"\bwell-equipped\b", 0.3),
    (("moreover", "furthermore"), r"\bmoreover\b|\bfurthermore\b", 0.3),
)
_PHRASE_RES = tuple((triggers, re.compile(pattern), weight) for triggers, pattern, weight in _PHRASES)

# Weighted phrase hits per 1,000 words at which the phrase feature saturates, and how many
# different phrases it takes before it may.
_PHRASE_RATE_FULL = 15.0
_PHRASE_KINDS_FULL = 3
_EM_DASHES_PER_100_FULL = 1.5
_EMOJI_PER_100_FULL = 2.0
_MIN_SENTENCES = 6
_MIN_BULLETS = 3
# Sentence-length coefficient of variation: at or above the first it is people-like (0),
# at or below the second machine-like (1).
_CV_HUMAN, _CV_UNIFORM = 0.55, 0.25

WEIGHTS: dict[str, float] = {
    "phrases": 0.55,
    "em_dashes": 0.15,
    "uniform_sentences": 0.10,
    "bold_lead_in_bullets": 0.10,
    "emoji": 0.10,
}

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.*)$", re.MULTILINE)
_BOLD_LEAD_RE = re.compile(r"^(?:\*\*|__)[^*_\n]{1,60}(?:\*\*|__)")
_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55]")


@dataclass(frozen=True)
class HeuristicScore:
    """How much a text reads like LLM output, in [0, 1], and the features behind it."""

    score: float
    features: dict[str, float] = field(default_factory=dict)

    def suggests_ai(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """True when the score reaches the threshold: grounds for a tag, never for a block."""
        return self.score >= threshold


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    position = (value - zero_at) / (one_at - zero_at)
    return min(1.0, max(0.0, position))


def _phrase_feature(lowered: str, word_count: int) -> tuple[float, float, int]:
    weighted = 0.0
    kinds = 0
    for triggers, pattern, weight in _PHRASE_RES:
        if not any(trigger in lowered for trigger in triggers):
            continue
        hits = len(pattern.findall(lowered))
        if hits:
            weighted += hits * weight
            kinds += 1
    rate = weighted * 1000.0 / word_count
    value = min(1.0, rate / _PHRASE_RATE_FULL) * min(1.0, kinds / _PHRASE_KINDS_FULL)
    return value, rate, kinds


def _sentence_length_cv(text: str) -> float | None:
    lengths = [len(_WORD_RE.findall(s)) for s in _SENTENCE_SPLIT_RE.split(text)]
    lengths = [n for n in lengths if n >= 3]  # headings and list stubs are not sentences
    if len(lengths) < _MIN_SENTENCES:
        return None
    return statistics.pstdev(lengths) / statistics.fmean(lengths)


def score_ai_text(text: str) -> HeuristicScore:
    """Score a document's text; texts under MIN_WORDS words score 0."""
    word_count = len(_WORD_RE.findall(text))
    if word_count < MIN_WORDS:
        return HeuristicScore(0.0, {"words": float(word_count)})
    lowered = text.lower()

    phrases, phrase_rate, phrase_kinds = _phrase_feature(lowered, word_count)
    em_dash_rate = text.count("—") * 100.0 / word_count
    cv = _sentence_length_cv(text)
    bullets = _BULLET_RE.findall(text)
    bold_share = (
        sum(1 for bullet in bullets if _BOLD_LEAD_RE.match(bullet)) / len(bullets)
        if len(bullets) >= _MIN_BULLETS
        else 0.0
    )
    emoji_rate = len(_EMOJI_RE.findall(text)) * 100.0 / word_count

    contributions = {
        "phrases": phrases,
        "em_dashes": min(1.0, em_dash_rate / _EM_DASHES_PER_100_FULL),
        "uniform_sentences": 0.0 if cv is None else _ramp(cv, _CV_HUMAN, _CV_UNIFORM),
        "bold_lead_in_bullets": bold_share,
        "emoji": min(1.0, emoji_rate / _EMOJI_PER_100_FULL),
    }
    score = sum(WEIGHTS[name] * value for name, value in contributions.items())
    features = {name: round(value, 4) for name, value in contributions.items()}
    features.update(
        {
            "words": float(word_count),
            "phrase_rate_per_1000_words": round(phrase_rate, 2),
            "phrase_kinds": float(phrase_kinds),
            "em_dashes_per_100_words": round(em_dash_rate, 3),
            "sentence_length_cv": round(cv, 4) if cv is not None else -1.0,
        }
    )
    return HeuristicScore(round(score, 4), features)
