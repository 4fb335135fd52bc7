"""What a contract violation means for one document, in words and numbers a person can act on.

A reason code says which rule broke; the detail says by how much ("14 chars < 40"), so the failing
check in the Dagster UI, the alert and `quarantine show` can name the fix without a second lookup.
The sentence of each rule is in its record (contracts/rules.py).
"""

from dataclasses import dataclass
from typing import Any

from contracts import DocumentContract
from contracts.rules import is_contract_reason, violation_detail
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.ledger import Ledger


@dataclass(frozen=True)
class Violation:
    doc_id: str
    reason: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "reason": self.reason, "detail": self.detail}


def violations_of(contract: DocumentContract, outcome: DocumentOutcome) -> list[Violation]:
    """One `Violation` per contract or policy reason the outcome carries."""
    return [
        Violation(outcome.doc_id, reason, violation_detail(contract, outcome, reason))
        for reason in outcome.reasons
        if is_contract_reason(reason)
    ]


def standing_violations(ledger: Ledger, source: str, decided_now: set[str]) -> list[Violation]:
    """The source's documents still quarantined on a contract or policy reason by earlier runs
    (those this run decided again excepted): what the source's check keeps showing after a run
    that did not touch them."""
    return [
        Violation(
            document.doc_id,
            reason,
            f"quarantined by an earlier run: `corpusgov quarantine show {document.doc_id}`",
        )
        for document in sorted(ledger.documents(source).values(), key=lambda d: d.doc_id)
        if document.state is DocumentState.QUARANTINED and document.doc_id not in decided_now
        for reason in document.reasons
        if is_contract_reason(reason)
    ]
