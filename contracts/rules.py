"""The contract's rules, one record each: the reason code a breaking document gets, how the rule is
checked, what it means, and the sentence that says by how much.

Everything that deals in a rule reads this table: enforcement builds its Great Expectations suite
from it (contracts.enforcement), the pipeline runs its policies from it and writes each violation's
detail with it (pipelines/contract/), the alerts ask it which reasons are the contract's, and the
reason-code list of docs/contracts.md is checked against it. A new rule is one record here and its
test.

How a rule is checked, and the criterion for choosing:
- `EXPECTATION`: a condition on a column of the documents frame that Great Expectations states
  (a value within bounds, in a set, not null, matching a pattern). Use it whenever the rule can be
  said of one column: it then runs in the contract's GX suite, where failing rows come back by
  doc_id, and the contract report shows the expectation.
- `POLICY`: a decision on the assessment's structured evidence that no frame column holds (safety
  flags, the provenance label, the generation depth), named by a `customProperties` policy. It
  runs in Python on each assessed document.

This module never imports Great Expectations: an expectation is named by its class and arguments,
and contracts.enforcement builds it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from contracts.document_contract import DocumentContract
from corpus_quality.vocabulary import Grade, ProvenanceLabel

# Reason codes a contract decides: its rules (contract.*) and its policies (policy.*). They count
# against the contract's error budget and are alerted as violations; quality.* (graded F) and
# discover.* / parse.* are not the contract's.
CONTRACT_REASON_PREFIXES = ("contract.", "policy.")
# Columns the pipeline fills for the freshness and duplicate rules (duplicate_of: the doc_id of an
# earlier document in the source with the same content hash, else null).
FRESHNESS_COLUMNS: tuple[str, ...] = ("modified", "created")  # first one that parses wins
DUPLICATE_OF_COLUMN = "duplicate_of"
AGE_DAYS_COLUMN = "age_days"  # derived: days from the document's last known change to `now`
_DAY = timedelta(days=1)
_ISO_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_ISO_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
# What a value of each logicalType must look like (values are checked as text). A date may carry a
# time of day: declared metadata keeps whatever precision the file gave, and its date part is a date.
LOGICAL_TYPE_PATTERNS: dict[str, str] = {
    "date": rf"^{_ISO_DATE}(?:[T ]{_ISO_TIME})?$",
    "timestamp": rf"^{_ISO_DATE}(?:[T ]{_ISO_TIME})?$",
    "time": rf"^{_ISO_TIME}$",
    "integer": r"^[+-]?\d+$",
    "number": r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    "boolean": r"^(?:true|false|True|False|TRUE|FALSE)$",
}
# A pattern cannot tell 2024-02-30 from a real day; dateutil can.
CALENDAR_TYPES = ("date", "timestamp")


class RuleCheck(StrEnum):
    EXPECTATION = "expectation"
    POLICY = "policy"


class AssessedDocument(Protocol):
    """What a rule reads of one assessed document (the pipeline's `DocumentOutcome` is one)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def text_chars(self) -> int: ...
    @property
    def mime_type(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def grade(self) -> Grade | None: ...
    @property
    def declared_metadata(self) -> Mapping[str, str]: ...
    @property
    def safety_flags(self) -> tuple[str, ...]: ...
    @property
    def safety_details(self) -> tuple[dict[str, Any], ...]: ...
    @property
    def provenance(self) -> ProvenanceLabel: ...
    @property
    def provenance_evidence(self) -> tuple[dict[str, Any], ...]: ...
    @property
    def generation_depth(self) -> int: ...
    @property
    def detail(self) -> str | None: ...


@dataclass(frozen=True)
class Expectation:
    """One Great Expectations expectation by class name and arguments, with the reason code a
    failing row gets. contracts.enforcement builds it."""

    reason: str
    name: str  # a class of great_expectations.expectations, e.g. "ExpectColumnValuesToBeBetween"
    kwargs: dict[str, Any]


Detail = Callable[[DocumentContract, AssessedDocument, str], str]


@dataclass(frozen=True)
class ContractRule:
    """One rule of a contract. `code` is the reason code; a family of codes, one per field (a
    required field, a typed field), is the code's prefix with `per_field` set."""

    code: str
    check: RuleCheck
    meaning: str  # what a document with this code broke, as docs/contracts.md says it
    detail: Detail  # by how much, for this document: "14 chars < 40"
    # EXPECTATION: the expectations in force under a contract (none when the contract does not
    # set the rule).
    expectations: Callable[[DocumentContract], Sequence[Expectation]] = field(default=lambda _c: ())
    # POLICY: whether the document breaks it under the contract.
    breaks: Callable[[DocumentContract, AssessedDocument], bool] = field(default=lambda _c, _d: False)
    per_field: bool = False

    def code_for(self, field_name: str) -> str:
        """The code of a per-field rule for one field, e.g. `contract.missing_owner`."""
        return f"{self.code}{field_name}"


def typed_fields(contract: DocumentContract) -> dict[str, str]:
    """Field -> the pattern its values must match, for every field whose logicalType is checkable."""
    return {
        name: LOGICAL_TYPE_PATTERNS[kind]
        for name, kind in contract.field_types.items()
        if kind in LOGICAL_TYPE_PATTERNS
    }


def _one(condition: bool, reason: str, name: str, **kwargs: Any) -> list[Expectation]:
    return [Expectation(reason, name, kwargs)] if condition else []


def _safety_detail(document: AssessedDocument, code: str) -> str | None:
    return next((str(d["detail"]) for d in document.safety_details if d.get("code") == code), None)


def _stale_detail(contract: DocumentContract, document: AssessedDocument, _code: str) -> str:
    metadata = document.declared_metadata
    changed = metadata.get("modified") or metadata.get("created")
    return f"last changed {changed}, older than {contract.max_age.days if contract.max_age else '?'} days"


_MISSING_PREFIX = "contract.missing_"
_INVALID_TYPE_PREFIX = "contract.invalid_type_"


def _invalid_type_detail(contract: DocumentContract, document: AssessedDocument, code: str) -> str:
    name = code.removeprefix(_INVALID_TYPE_PREFIX)
    kind = contract.field_types.get(name, "valid value")
    return f"{name}={document.declared_metadata.get(name)!r} is not a {kind}"


def _ai_generated_detail(_contract: DocumentContract, document: AssessedDocument, _code: str) -> str:
    evidence = next(iter(document.provenance_evidence), None)
    return "labelled ai_generated" + (f" ({evidence['kind']}: {evidence['value']})" if evidence else "")


def _pii_kinds(document: AssessedDocument) -> list[str]:
    return sorted(f.removeprefix("safety.pii_") for f in document.safety_flags if f.startswith("safety.pii_"))


MISSING_FIELD = ContractRule(
    code=_MISSING_PREFIX,
    per_field=True,
    check=RuleCheck.EXPECTATION,
    meaning="a required metadata field (schema `required: true`) is empty or absent",
    detail=lambda _c, _d, code: f"no `{code.removeprefix(_MISSING_PREFIX)}` in its metadata",
    expectations=lambda c: [
        Expectation(_MISSING_PREFIX + name, "ExpectColumnValuesToNotBeNull", {"column": name})
        for name in c.required_fields
    ],
)
# Type checks skip nulls (GX map expectations do): a missing value is the required rule's job.
INVALID_TYPE = ContractRule(
    code=_INVALID_TYPE_PREFIX,
    per_field=True,
    check=RuleCheck.EXPECTATION,
    meaning="a metadata value does not parse as its property's `logicalType` (date, timestamp, "
    "time, integer, number, boolean)",
    detail=_invalid_type_detail,
    expectations=lambda c: [
        expectation
        for name, pattern in typed_fields(c).items()
        for expectation in (
            Expectation(
                _INVALID_TYPE_PREFIX + name,
                "ExpectColumnValuesToMatchRegex",
                {"column": name, "regex": pattern},
            ),
            *_one(
                c.field_types[name] in CALENDAR_TYPES,
                _INVALID_TYPE_PREFIX + name,
                "ExpectColumnValuesToBeDateutilParseable",
                column=name,
            ),
        )
    ],
)
# Two rules, not one "between", so a document says which bound it broke.
TEXT_TOO_SHORT = ContractRule(
    code="contract.text_too_short",
    check=RuleCheck.EXPECTATION,
    meaning="less extracted text than the contract's minimum length",
    detail=lambda c, d, _code: f"{d.text_chars:,} chars < {c.min_text_chars:,}",
    expectations=lambda c: _one(
        c.min_text_chars is not None,
        "contract.text_too_short",
        "ExpectColumnValuesToBeBetween",
        column="text_chars",
        min_value=c.min_text_chars,
    ),
)
TEXT_TOO_LONG = ContractRule(
    code="contract.text_too_long",
    check=RuleCheck.EXPECTATION,
    meaning="more extracted text than the contract's maximum length",
    detail=lambda c, d, _code: f"{d.text_chars:,} chars > {c.max_text_chars:,}",
    expectations=lambda c: _one(
        c.max_text_chars is not None,
        "contract.text_too_long",
        "ExpectColumnValuesToBeBetween",
        column="text_chars",
        max_value=c.max_text_chars,
    ),
)
# GX set expectations skip nulls, so a null is checked separately wherever values are constrained.
MIME_TYPE_NOT_ALLOWED = ContractRule(
    code="contract.mime_type_not_allowed",
    check=RuleCheck.EXPECTATION,
    meaning="the file's MIME type is not among the contract's allowed types",
    detail=lambda c, d, _code: f"{d.mime_type} not in {', '.join(c.allowed_mime_types or ())}",
    expectations=lambda c: [
        *_one(
            c.allowed_mime_types is not None,
            "contract.mime_type_not_allowed",
            "ExpectColumnValuesToBeInSet",
            column="mime_type",
            value_set=list(c.allowed_mime_types or ()),
        ),
        *_one(
            c.allowed_mime_types is not None,
            "contract.mime_type_not_allowed",
            "ExpectColumnValuesToNotBeNull",
            column="mime_type",
        ),
    ],
)
LANGUAGE_NOT_ALLOWED = ContractRule(
    code="contract.language_not_allowed",
    check=RuleCheck.EXPECTATION,
    meaning="the detected language is not among the contract's allowed languages",
    detail=lambda c, d, _code: f"language {d.language} not in {', '.join(c.allowed_languages or ())}",
    expectations=lambda c: _one(
        c.allowed_languages is not None,
        "contract.language_not_allowed",
        "ExpectColumnValuesToBeInSet",
        column="language",
        value_set=list(c.allowed_languages or ()),
    ),
)
# A null language means detection failed; that is a different fix from a wrong language.
LANGUAGE_UNKNOWN = ContractRule(
    code="contract.language_unknown",
    check=RuleCheck.EXPECTATION,
    meaning="the contract allows some languages and the document's could not be detected",
    detail=lambda _c, _d, _code: "the language could not be detected",
    expectations=lambda c: _one(
        c.allowed_languages is not None,
        "contract.language_unknown",
        "ExpectColumnValuesToNotBeNull",
        column="language",
    ),
)
GRADE_BELOW_MINIMUM = ContractRule(
    code="contract.grade_below_minimum",
    check=RuleCheck.EXPECTATION,
    meaning="the quality grade is below the contract's minimum grade",
    detail=lambda c, d, _code: f"grade {d.grade} below the minimum {c.minimum_grade}",
    expectations=lambda c: _one(
        c.allowed_grades is not None,
        "contract.grade_below_minimum",
        "ExpectColumnValuesToBeInSet",
        column="grade",
        value_set=list(c.allowed_grades or ()),
    ),
)
# Minimum F admits every graded and ungraded document; a stricter one needs a grade.
GRADE_UNKNOWN = ContractRule(
    code="contract.grade_unknown",
    check=RuleCheck.EXPECTATION,
    meaning="the contract sets a minimum grade above F and the document has no grade",
    detail=lambda _c, _d, _code: "the document has no grade",
    expectations=lambda c: _one(
        c.minimum_grade is not None and c.minimum_grade != Grade.F,
        "contract.grade_unknown",
        "ExpectColumnValuesToNotBeNull",
        column="grade",
    ),
)
STALE = ContractRule(
    code="contract.stale",
    check=RuleCheck.EXPECTATION,
    meaning="last modified (else created) longer ago than the contract's `maxAge`",
    detail=_stale_detail,
    expectations=lambda c: _one(
        c.max_age is not None,
        "contract.stale",
        "ExpectColumnValuesToBeBetween",
        column=AGE_DAYS_COLUMN,
        max_value=(c.max_age or _DAY) / _DAY,
    ),
)
FRESHNESS_UNKNOWN = ContractRule(
    code="contract.freshness_unknown",
    check=RuleCheck.EXPECTATION,
    meaning="the contract sets `maxAge` and the document has no modified or created date",
    detail=lambda _c, _d, _code: "no modified or created date in its metadata",
    expectations=lambda c: _one(
        c.max_age is not None,
        "contract.freshness_unknown",
        "ExpectColumnValuesToNotBeNull",
        column=AGE_DAYS_COLUMN,
    ),
)
DUPLICATE_CONTENT = ContractRule(
    code="contract.duplicate_content",
    check=RuleCheck.EXPECTATION,
    meaning="the same bytes as an earlier document of the source (`noDuplicateContent`)",
    detail=lambda _c, _d, _code: "the same bytes as another document of the source",
    expectations=lambda c: _one(
        c.no_duplicate_content,
        "contract.duplicate_content",
        "ExpectColumnValuesToBeNull",
        column=DUPLICATE_OF_COLUMN,
    ),
)
INJECTION_QUARANTINED = ContractRule(
    code="policy.injection_quarantined",
    check=RuleCheck.POLICY,
    meaning="injection-like text under `injectionPolicy: quarantine`",
    detail=lambda _c, d, _code: _safety_detail(d, "safety.injection_like") or "injection-like text",
    breaks=lambda c, d: c.injection_policy == "quarantine" and "safety.injection_like" in d.safety_flags,
)
AI_GENERATED_QUARANTINED = ContractRule(
    code="policy.ai_generated_quarantined",
    check=RuleCheck.POLICY,
    meaning="labelled `ai_generated` under `aiGeneratedPolicy: quarantine`",
    detail=_ai_generated_detail,
    breaks=lambda c, d: (
        c.ai_generated_policy == "quarantine" and d.provenance == ProvenanceLabel.AI_GENERATED
    ),
)
GENERATION_DEPTH_EXCEEDED = ContractRule(
    code="policy.generation_depth_exceeded",
    check=RuleCheck.POLICY,
    meaning="derived from the RAG app's own outputs more levels deep than `maxGenerationDepth`",
    detail=lambda c, d, _code: f"generation depth {d.generation_depth} > {c.max_generation_depth}",
    breaks=lambda c, d: c.max_generation_depth is not None and d.generation_depth > c.max_generation_depth,
)
PII_QUARANTINED = ContractRule(
    code="policy.pii_quarantined",
    check=RuleCheck.POLICY,
    meaning="personal data found under `piiPolicy: quarantine`",
    detail=lambda _c, d, _code: f"personal data: {', '.join(_pii_kinds(d))}",
    breaks=lambda c, d: c.pii_policy == "quarantine" and bool(_pii_kinds(d)),
)

RULES: tuple[ContractRule, ...] = (
    MISSING_FIELD,
    INVALID_TYPE,
    TEXT_TOO_SHORT,
    TEXT_TOO_LONG,
    MIME_TYPE_NOT_ALLOWED,
    LANGUAGE_NOT_ALLOWED,
    LANGUAGE_UNKNOWN,
    GRADE_BELOW_MINIMUM,
    GRADE_UNKNOWN,
    STALE,
    FRESHNESS_UNKNOWN,
    DUPLICATE_CONTENT,
    INJECTION_QUARANTINED,
    AI_GENERATED_QUARANTINED,
    GENERATION_DEPTH_EXCEEDED,
    PII_QUARANTINED,
)
EXPECTATION_RULES = tuple(r for r in RULES if r.check is RuleCheck.EXPECTATION)
POLICY_RULES = tuple(r for r in RULES if r.check is RuleCheck.POLICY)


def is_contract_reason(code: str) -> bool:
    """Whether a reason code is the contract's (counts against its budget, alerts as a violation)."""
    return code.startswith(CONTRACT_REASON_PREFIXES)


def rule_for(code: str) -> ContractRule | None:
    """The rule behind a reason code, a per-field code included; None for a code no rule gives."""
    for rule in RULES:
        if code == rule.code or (rule.per_field and code.startswith(rule.code)):
            return rule
    return None


def expectations_of(contract: DocumentContract) -> list[Expectation]:
    """Every expectation the contract puts in force, in the table's order."""
    return [e for rule in EXPECTATION_RULES for e in rule.expectations(contract)]


def broken_policies(contract: DocumentContract, document: AssessedDocument) -> list[str]:
    """The policy codes the document breaks under the contract."""
    return [rule.code for rule in POLICY_RULES if rule.breaks(contract, document)]


def violation_detail(contract: DocumentContract, document: AssessedDocument, code: str) -> str:
    """The numbers behind one reason code for one document; the document's own detail for a code
    no rule gives."""
    rule = rule_for(code)
    return rule.detail(contract, document, code) if rule else (document.detail or "")
