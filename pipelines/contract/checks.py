"""The contract stage of a run: which documents of a source break its contract, and what that
means for the source (quarantine within the error budget, held back over it).

Reasons come from the contract's rules (contracts/rules.py): Great Expectations checks its
expectations (contracts.enforcement), its policies run on each assessed document here.
`ContractCheck` is what the source's check reports.
"""

from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from contracts import BudgetVerdict, DocumentContract, contract_ref
from contracts.rules import GRADE_UNKNOWN, broken_policies, is_contract_reason
from pipelines.contract.violations import Violation, violations_of
from pipelines.document.outcome import DocumentOutcome, DocumentState
from pipelines.ledger import LedgerDocument
from pipelines.settings import SourceConfig

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ContractCheck:
    """One source against its contract in one run: what its contract check reports."""

    source: str
    contract_path: str
    contract_id: str | None
    contract_version: str | None
    checked: int  # documents checked against the contract in this run
    violations_by_reason: dict[str, int]
    violation_rate: float  # violating / governed (contracts.BudgetVerdict)
    max_violation_rate: float
    within_budget: bool
    error: str | None = None  # a broken contract or a missing source folder: nothing ingested
    # Contract severity "error" blocks the source's changes when over budget; "warning" only warns.
    blocks_when_over_budget: bool = True
    report: str | None = None  # the self-contained contract report (pipelines/contract/report.py)
    governed: int = 0  # indexed now + checked in this run: the budget's denominator
    violating: int = 0
    violations: tuple[Violation, ...] = ()  # every failing (document, reason) with its detail

    @property
    def passed(self) -> bool:
        return self.error is None and self.within_budget

    @property
    def blocked(self) -> bool:
        """Over budget under severity error: this source's changes wait for a fix."""
        return self.error is None and not self.within_budget and self.blocks_when_over_budget

    @property
    def contract_ref(self) -> str:
        return contract_ref(self.contract_id, self.contract_version)

    def as_json(self, with_evidence: bool = True) -> dict[str, Any]:
        """The check as JSON: a run's summary in the ledger keeps it without the evidence (the
        report and every violation), a staged part (pipelines/run/staging.py) with it."""
        payload: dict[str, Any] = {
            "source": self.source,
            "contract": self.contract_path,
            "contract_id": self.contract_id,
            "contract_version": self.contract_version,
            "checked": self.checked,
            "violations_by_reason": self.violations_by_reason,
            "violation_rate": self.violation_rate,
            "max_violation_rate": self.max_violation_rate,
            "within_budget": self.within_budget,
            "error": self.error,
            "blocked": self.blocked,
            "blocks_when_over_budget": self.blocks_when_over_budget,
            "governed": self.governed,
            "violating": self.violating,
        }
        if with_evidence:
            payload["report"] = self.report
            payload["violations"] = [v.as_json() for v in self.violations]
        return payload

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "ContractCheck":
        """The inverse of `as_json`, also for summaries older runs wrote: those have no
        `blocks_when_over_budget`, and their `blocked` says what it was."""
        return cls(
            source=payload["source"],
            contract_path=payload.get("contract", ""),
            contract_id=payload.get("contract_id"),
            contract_version=payload.get("contract_version"),
            checked=payload.get("checked", 0),
            violations_by_reason=dict(payload.get("violations_by_reason") or {}),
            violation_rate=payload.get("violation_rate", 0.0),
            max_violation_rate=payload.get("max_violation_rate", 0.0),
            within_budget=payload.get("within_budget", True),
            error=payload.get("error"),
            blocks_when_over_budget=payload.get("blocks_when_over_budget", payload.get("blocked", True)),
            report=payload.get("report"),
            governed=payload.get("governed", 0),
            violating=payload.get("violating", 0),
            violations=tuple(Violation(**v) for v in payload.get("violations", ())),
        )


def blocked_message(check: ContractCheck) -> str:
    """One sentence: which source is held back, why, and what to do."""
    top = ", ".join(f"{r} ({n})" for r, n in Counter(check.violations_by_reason).most_common(3))
    return (
        f"source '{check.source}' blocked: {check.violating} of {check.governed} governed documents "
        f"({check.violation_rate:.0%}) violate {check.contract_ref}, over its budget of "
        f"{check.max_violation_rate:.0%} ({top or 'no reasons'}). Its changes are held back (corpusgov "
        "quarantine list --blocked); fix those documents or the contract, then ingest again."
    )


def duplicate_of(outcomes: list[DocumentOutcome], source_known: dict[str, LedgerDocument]) -> dict[str, str]:
    """doc_id -> the document whose identical bytes came first: one already indexed, else the
    first by doc id in this run."""
    first: dict[str, str] = {}
    changing = {o.doc_id for o in outcomes}
    for doc_id, doc in sorted(source_known.items()):
        if doc.state is DocumentState.INDEXED and doc.content_hash and doc_id not in changing:
            first.setdefault(doc.content_hash, doc_id)
    duplicates: dict[str, str] = {}
    for o in sorted(outcomes, key=lambda o: o.doc_id):
        if not _checked(o) or not o.content_hash:
            continue
        original = first.setdefault(o.content_hash, o.doc_id)
        if original != o.doc_id:
            duplicates[o.doc_id] = original
    return duplicates


def contract_table(outcomes: list[DocumentOutcome], duplicates: dict[str, str]) -> "pd.DataFrame":
    import pandas as pd

    readable = [o for o in outcomes if _checked(o)]
    rows: list[dict[str, Any]] = []
    for o in readable:
        row: dict[str, Any] = {k: (v or None) for k, v in o.declared_metadata.items()}
        row.update(
            {
                "doc_id": o.doc_id,
                "mime_type": o.mime_type,
                "text_chars": o.text_chars,
                "language": o.language,
                "grade": o.grade,
                "title": o.title or None,
                "content_hash": o.content_hash,
                "duplicate_of": duplicates.get(o.doc_id),
            }
        )
        rows.append(row)
    columns = [
        "doc_id",
        "mime_type",
        "text_chars",
        "language",
        "grade",
        "title",
        "content_hash",
        "duplicate_of",
    ]
    return pd.DataFrame(rows, columns=sorted({*columns, *(k for r in rows for k in r)}))


def _checked(outcome: DocumentOutcome) -> bool:
    """Read, so the contract checks it: provisionally indexed, or already quarantined on its text's
    length right after its parse (pipelines/document/assessment.py), unassessed."""
    return outcome.state in (DocumentState.INDEXED, DocumentState.QUARANTINED)


def contract_check(
    source: SourceConfig,
    contract: DocumentContract,
    checked: int,
    budget: BudgetVerdict,
    decided: list[DocumentOutcome],
) -> ContractCheck:
    violations = tuple(
        v for o in decided if o.state is DocumentState.QUARANTINED for v in violations_of(contract, o)
    )
    return ContractCheck(
        source=source.name,
        contract_path=str(contract.path),
        contract_id=contract.id,
        contract_version=contract.version,
        checked=checked,
        violations_by_reason=dict(Counter(v.reason for v in violations)),
        violation_rate=budget.violation_rate,
        max_violation_rate=contract.max_violation_rate,
        within_budget=budget.within_budget,
        blocks_when_over_budget=contract.blocks_when_over_budget,
        governed=budget.governed,
        violating=budget.violating,
        violations=violations,
    )


def violates_contract(outcome: DocumentOutcome) -> bool:
    return outcome.state is DocumentState.QUARANTINED and any(is_contract_reason(r) for r in outcome.reasons)


def apply_contract(
    contract: DocumentContract,
    outcomes: list[DocumentOutcome],
    rule_reasons: dict[str, tuple[str, ...]],
    releases: dict[str, tuple[str | None, str | None]],
) -> list[DocumentOutcome]:
    """Quarantine what breaks the contract (its expectations, checked by Great Expectations into
    `rule_reasons`, and its policies), or what the quality route sends to quarantine; keep every
    reason. A text already quarantined on its length gains its other expectations' reasons."""
    decided: list[DocumentOutcome] = []
    for o in outcomes:
        if o.state is DocumentState.QUARANTINED:
            # Refused on its length before the assessment: the expectations on what it has (title,
            # metadata, language, type) still give their reasons; a grade it never got does not.
            found = {*o.reasons, *rule_reasons.get(o.doc_id, ())} - {GRADE_UNKNOWN.code}
            decided.append(replace(o, reasons=tuple(sorted(found))))
            continue
        if o.state is not DocumentState.INDEXED:
            decided.append(o)
            continue
        reasons = list(rule_reasons.get(o.doc_id, ()))
        if o.route == "quarantine":
            reasons.extend(o.quality_reasons or ("quality.grade_f",))
        reasons.extend(broken_policies(contract, o))
        reasons = sorted(set(reasons))
        if reasons and releases.get(o.doc_id) == (o.content_hash, o.contract_version):
            # A recorded release (corpusgov quarantine release) for these bytes under this
            # contract version: indexed, and the overridden reasons stay visible.
            decided.append(replace(o, detail=f"released from quarantine; overrides {', '.join(reasons)}"))
        elif reasons:
            decided.append(replace(o, state=DocumentState.QUARANTINED, reasons=tuple(reasons)))
        else:
            decided.append(o)
    return decided
