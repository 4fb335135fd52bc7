"""What a contract violation means for one document, in words and numbers a person can act on.

A reason code says which rule broke; the detail says by how much ("14 chars < 40"), so the failing
check in the Dagster UI, the alert and `quarantine show` can name the fix without a second lookup.
"""

from dataclasses import dataclass
from typing import Any

from contracts import DocumentContract
from pipelines.document.outcome import DocumentOutcome

# Reason codes a contract decides: its rules (contract.*) and its policies (policy.*). They count
# against the contract's error budget; quality.* (graded F) and discover.* / parse.* do not.
CONTRACT_REASON_PREFIXES = ("contract.", "policy.")


@dataclass(frozen=True)
class Violation:
    doc_id: str
    reason: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "reason": self.reason, "detail": self.detail}


def is_contract_reason(reason: str) -> bool:
    return reason.startswith(CONTRACT_REASON_PREFIXES)


def violations_of(contract: DocumentContract, outcome: DocumentOutcome) -> list[Violation]:
    """One `Violation` per contract or policy reason the outcome carries."""
    return [
        Violation(outcome.doc_id, reason, violation_detail(contract, outcome, reason))
        for reason in outcome.reasons
        if is_contract_reason(reason)
    ]


def violation_detail(contract: DocumentContract, o: DocumentOutcome, reason: str) -> str:
    """The numbers behind one reason code for one document."""
    metadata = o.declared_metadata
    if reason == "contract.text_too_short":
        return f"{o.text_chars:,} chars < {contract.min_text_chars:,}"
    if reason == "contract.text_too_long":
        return f"{o.text_chars:,} chars > {contract.max_text_chars:,}"
    if reason == "contract.mime_type_not_allowed":
        return f"{o.mime_type} not in {', '.join(contract.allowed_mime_types or ())}"
    if reason == "contract.language_not_allowed":
        return f"language {o.language} not in {', '.join(contract.allowed_languages or ())}"
    if reason == "contract.language_unknown":
        return "the language could not be detected"
    if reason == "contract.grade_below_minimum":
        return f"grade {o.grade} below the minimum {contract.minimum_grade}"
    if reason == "contract.grade_unknown":
        return "the document has no grade"
    if reason == "contract.stale":
        changed = metadata.get("modified") or metadata.get("created")
        return f"last changed {changed}, older than {contract.max_age.days if contract.max_age else '?'} days"
    if reason == "contract.freshness_unknown":
        return "no modified or created date in its metadata"
    if reason == "contract.duplicate_content":
        return "the same bytes as another document of the source"
    if reason.startswith("contract.missing_"):
        return f"no `{reason.removeprefix('contract.missing_')}` in its metadata"
    if reason.startswith("contract.invalid_type_"):
        field = reason.removeprefix("contract.invalid_type_")
        return f"{field}={metadata.get(field)!r} is not a {contract.field_types.get(field, 'valid value')}"
    if reason == "policy.injection_quarantined":
        return _safety_detail(o, "safety.injection_like") or "injection-like text"
    if reason == "policy.pii_quarantined":
        kinds = sorted(f.removeprefix("safety.pii_") for f in o.safety_flags if f.startswith("safety.pii_"))
        return f"personal data: {', '.join(kinds)}"
    if reason == "policy.ai_generated_quarantined":
        evidence = next((e for e in o.provenance_evidence), None)
        return "labelled ai_generated" + (f" ({evidence['kind']}: {evidence['value']})" if evidence else "")
    if reason == "policy.generation_depth_exceeded":
        return f"generation depth {o.generation_depth} > {contract.max_generation_depth}"
    return o.detail or ""


def _safety_detail(o: DocumentOutcome, code: str) -> str | None:
    return next((str(d["detail"]) for d in o.safety_details if d.get("code") == code), None)
