"""Corpus-level budgets over what is indexed now: the AI-generated share and the quality floor.

Per-document rules quarantine single documents; these watch the mix, which no single document
breaks (a source drifting to 40% AI-generated text, one grade-F page slipping through a release).
"""

from dataclasses import dataclass
from pathlib import Path

from contracts import ContractError, DocumentContract, load_contract
from corpus_quality import Grade
from pipelines.ledger import Ledger
from pipelines.ledger.health import ai_generated_counts, indexed_grades
from pipelines.settings import Settings


@dataclass(frozen=True)
class AiShare:
    source: str
    indexed: int
    ai_generated: int
    budget: float

    @property
    def share(self) -> float:
        return self.ai_generated / self.indexed if self.indexed else 0.0

    @property
    def within_budget(self) -> bool:
        return self.share <= self.budget


@dataclass(frozen=True)
class QualityFloor:
    indexed: int
    below_floor: tuple[tuple[str, str, str], ...]  # (doc_id, grade, the contract's minimum)

    @property
    def holds(self) -> bool:
        return not self.below_floor


def ai_generated_shares(settings: Settings) -> list[AiShare]:
    """Per source: indexed documents labelled ai_generated against the contract's budget."""
    ledger = Ledger.of(settings)
    shares = []
    for source in settings.sources:
        contract = _contract(source.contract)
        budget = contract.max_ai_generated_share if contract else 1.0
        indexed, ai = ai_generated_counts(ledger, source.name)
        shares.append(AiShare(source.name, indexed, ai, budget))
    return shares


def quality_floor(settings: Settings) -> QualityFloor:
    """Indexed documents graded F, or below their source contract's minimum grade (e.g. indexed
    under an older, looser contract and not yet re-checked)."""
    ledger = Ledger.of(settings)
    minimums = {s.name: (c.minimum_grade if (c := _contract(s.contract)) else None) for s in settings.sources}
    rows = indexed_grades(ledger)
    below: list[tuple[str, str, str]] = []
    for row in rows:
        minimum = minimums.get(row.source) or Grade.C  # F is never good enough to stay
        if row.grade is not None and not row.grade.at_least(minimum):
            below.append((row.doc_id, row.grade, minimum))
    return QualityFloor(indexed=len(rows), below_floor=tuple(sorted(below)))


def _contract(path: str) -> DocumentContract | None:
    try:
        return load_contract(Path(path))
    except ContractError:
        # A broken contract is reported by the source's contract check; the budget falls back.
        return None
