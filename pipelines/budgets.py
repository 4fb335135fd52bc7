"""Corpus-level budgets over what is indexed now: the AI-generated share and the quality floor.

Per-document rules quarantine single documents; these watch the mix, which no single document
breaks (a source drifting to 40% AI-generated text, one grade-F page slipping through a release).
"""

from dataclasses import dataclass
from pathlib import Path

from contracts import ContractError, load_contract
from corpus_quality import grade_at_least
from pipelines.ledger import Ledger
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
    ledger = Ledger(settings.ledger_path)
    shares = []
    for source in settings.sources:
        budget = _contract_value(source.contract, "max_ai_generated_share", 1.0)
        rows = ledger.records(
            "SELECT count(*) AS indexed, count(*) FILTER (WHERE provenance = 'ai_generated') AS ai "
            "FROM documents WHERE state = 'indexed' AND source = ?",
            [source.name],
        )[0]
        shares.append(AiShare(source.name, rows["indexed"], rows["ai"], budget))
    return shares


def quality_floor(settings: Settings) -> QualityFloor:
    """Indexed documents graded F, or below their source contract's minimum grade (e.g. indexed
    under an older, looser contract and not yet re-checked)."""
    ledger = Ledger(settings.ledger_path)
    minimums = {s.name: _contract_value(s.contract, "minimum_grade", None) for s in settings.sources}
    rows = ledger.records("SELECT doc_id, source, grade FROM documents WHERE state = 'indexed'")
    below = []
    for row in rows:
        minimum = minimums.get(row["source"]) or "C"
        if row["grade"] is not None and not grade_at_least(row["grade"], minimum):
            below.append((row["doc_id"], row["grade"], minimum))
    return QualityFloor(indexed=len(rows), below_floor=tuple(sorted(below)))


def _contract_value(path: str, field: str, default: object) -> object:
    try:
        return getattr(load_contract(Path(path)), field)
    except ContractError:
        # A broken contract is reported by the blocking contract check; the budget falls back.
        return default
