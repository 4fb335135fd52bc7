"""Turn quality signals into a score, a grade, a route and the reasons behind them."""

from collections.abc import Mapping
from dataclasses import dataclass

from corpus_quality import signals as signal_table
from corpus_quality.signals import QualityInput, compute_signals
from corpus_quality.vocabulary import Grade

GRADE_THRESHOLDS: tuple[tuple[Grade, float], ...] = ((Grade.A, 0.85), (Grade.B, 0.70), (Grade.C, 0.50))
ROUTES: dict[Grade, str] = {
    Grade.A: "index",
    Grade.B: "index",
    Grade.C: "index_with_flag",
    Grade.F: "quarantine",
}

# A weighted mean lets one dreadful signal hide behind eleven fine ones (a page of mojibake
# with tidy metadata). One gating signal (corpus_quality/signals.py) below the floor caps the
# grade at C, so the document is at least flagged; two independent failures, or almost no words
# at all, mean there is nothing worth retrieving: F.
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
    table = signal_table.SIGNALS
    names = [signal.name for signal in table]
    weights = {signal.name: signal.weight for signal in table}
    signals = {name: round(float(signals[name]), 4) for name in names}
    total_weight = sum(weights.values())
    score = sum(signals[name] * weights[name] for name in names) / total_weight
    score = round(min(1.0, max(0.0, score)), 4)
    grade = _grade_for(score)

    # Worst first: the shortfall a signal costs the score, not its raw value.
    shortfalls = sorted(names, key=lambda name: (-(1.0 - signals[name]) * weights[name], names.index(name)))
    reasons = [signal_reason(name) for name in shortfalls if signals[name] < REASON_THRESHOLD]

    if not has_text:
        grade = Grade.F
        reasons = [EMPTY_TEXT_REASON]
    else:
        failed_gates = [s.name for s in table if s.gating and signals[s.name] < GATE_FLOOR]
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
