"""Turn quality signals into a score, a grade, a route and the reasons behind them."""

from collections.abc import Mapping
from dataclasses import dataclass

from corpus_quality.signals import QUALITY_SIGNALS, QualityInput, compute_signals
from corpus_quality.vocabulary import Grade

# Weights of the weighted mean. Signals that ruin retrieval outright (mojibake makes text
# unmatchable, a 3-word document answers nothing) weigh most; the ones that describe the
# record rather than the text (metadata, age) weigh least, so an undated, untitled but clean
# document still grades A; heuristics that well-formed enterprise text trips by design
# (stopwords in tables, word length in code) sit in between.
SIGNAL_WEIGHTS: dict[str, float] = {
    "length": 1.5,
    "alpha_word_ratio": 1.0,
    "symbol_ratio": 1.0,
    "line_repetition": 1.0,
    "ngram_repetition": 1.0,
    "encoding_health": 1.5,
    "mean_word_length": 0.5,
    "boilerplate": 1.0,
    "stopword_presence": 0.75,
    "extraction_completeness": 1.0,
    "metadata_completeness": 0.5,
    "staleness": 0.5,
    # A near-copy of a document already indexed adds little to retrieval and competes with it.
    "near_duplicate": 1.0,
}
assert set(SIGNAL_WEIGHTS) == set(QUALITY_SIGNALS)

GRADE_THRESHOLDS: tuple[tuple[Grade, float], ...] = ((Grade.A, 0.85), (Grade.B, 0.70), (Grade.C, 0.50))
ROUTES: dict[Grade, str] = {
    Grade.A: "index",
    Grade.B: "index",
    Grade.C: "index_with_flag",
    Grade.F: "quarantine",
}

# A weighted mean lets one dreadful signal hide behind eleven fine ones (a page of mojibake
# with tidy metadata). One of these below the floor caps the grade at C, so the document is
# at least flagged; two independent failures, or almost no words at all, mean there is
# nothing worth retrieving: F.
GATING_SIGNALS: frozenset[str] = frozenset(
    {
        "length",
        "alpha_word_ratio",
        "symbol_ratio",
        "line_repetition",
        "ngram_repetition",
        "encoding_health",
        "boilerplate",
    }
)
GATE_FLOOR = 0.25
# A signal under this is named in the reasons.
REASON_THRESHOLD = 0.5

EMPTY_TEXT_REASON = "quality.empty_text"


@dataclass(frozen=True)
class QualityAssessment:
    """The verdict on one document: signals, weighted score, grade, route and reasons."""

    signals: dict[str, float]
    score: float
    grade: Grade
    route: str
    reasons: tuple[str, ...]


def signal_reason(signal: str) -> str:
    """The reason code used when ``signal`` is too low, e.g. "quality.low_encoding_health"."""
    return f"quality.low_{signal}"


def _grade_for(score: float) -> Grade:
    for grade, threshold in GRADE_THRESHOLDS:
        if score >= threshold:
            return grade
    return Grade.F


def assess_quality(doc: QualityInput) -> QualityAssessment:
    """Compute signals for ``doc`` and grade it; never raises on odd text."""
    return grade_signals(compute_signals(doc), has_text=bool(doc.text.strip()))


def grade_signals(signals: Mapping[str, float], has_text: bool = True) -> QualityAssessment:
    """Grade a document from its signals alone: what `assess_quality` does once they are computed.

    The signals are rounded to 4 places first, the precision a ledger stores, so a grade can be
    recomputed from stored signals (a sharded run does when a document from another shard turns
    out to near-duplicate it) and comes out the same as the first time.
    """
    signals = {name: round(float(signals[name]), 4) for name in QUALITY_SIGNALS}
    total_weight = sum(SIGNAL_WEIGHTS.values())
    score = sum(signals[name] * SIGNAL_WEIGHTS[name] for name in QUALITY_SIGNALS) / total_weight
    score = round(min(1.0, max(0.0, score)), 4)
    grade = _grade_for(score)

    # Worst first: the shortfall a signal costs the score, not its raw value.
    shortfalls = sorted(
        QUALITY_SIGNALS,
        key=lambda name: (-(1.0 - signals[name]) * SIGNAL_WEIGHTS[name], QUALITY_SIGNALS.index(name)),
    )
    reasons = [signal_reason(name) for name in shortfalls if signals[name] < REASON_THRESHOLD]

    if not has_text:
        grade = Grade.F
        reasons = [EMPTY_TEXT_REASON]
    else:
        failed_gates = [name for name in GATING_SIGNALS if signals[name] < GATE_FLOOR]
        if len(failed_gates) >= 2 or "length" in failed_gates:
            grade = Grade.F
        elif failed_gates and grade.at_least(Grade.B):
            grade = Grade.C

    if grade is not Grade.A and not reasons:
        # Every non-A grade must say why: name the signal that cost the most.
        reasons = [signal_reason(shortfalls[0])]

    return QualityAssessment(
        signals=signals,
        score=score,
        grade=grade,
        route=ROUTES[grade],
        reasons=tuple(reasons),
    )
