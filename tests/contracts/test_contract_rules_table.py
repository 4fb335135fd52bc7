"""One record per contract rule: the GX suite, the policies and the violation sentences all come
from contracts/rules.py, so a new rule is one record (plus its test) and nothing else."""

from dataclasses import replace
from pathlib import Path

import pytest

from contracts import DocumentFrameError, load_contract
from contracts.enforcement import enforce_contract, expectation_suite
from contracts.rules import (
    EXPECTATION_RULES,
    POLICY_RULES,
    RULES,
    ContractRule,
    Expectation,
    RuleCheck,
    expectations_of,
    rule_for,
    violation_detail,
)
from corpus_quality import Grade, ProvenanceLabel
from pipelines.contract.checks import apply_contract, contract_table
from pipelines.document.outcome import DocumentOutcome, DocumentState
from tests.conftest import DEFAULT_CONTRACT

STRICT = Path(__file__).resolve().parents[2] / "contracts" / "strict.odcs.yaml"


def _document(**changes: object) -> DocumentOutcome:
    base = DocumentOutcome(
        doc_id="docs/a.md",
        source="docs",
        path="a.md",
        state=DocumentState.INDEXED,
        reasons=(),
        content_hash="abc",
        mime_type="text/markdown",
        size=100,
        config_hash="cfg",
        text_chars=500,
        language="en",
        grade=Grade.B,
        declared_metadata={"title": "A", "modified": "2020-01-01"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_every_rule_is_the_contracts_and_says_how_it_is_checked() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes)), "one record per reason code"
    for rule in RULES:
        prefix = "contract." if rule.check is RuleCheck.EXPECTATION else "policy."
        assert rule.code.startswith(prefix), rule.code
        assert rule.meaning and rule.meaning[0].islower(), rule.code
        assert rule_for(rule.code_for("owner") if rule.per_field else rule.code) is rule
    assert rule_for("quality.low_length") is None


def test_the_gx_suite_is_built_from_the_expectation_rules() -> None:
    contract = load_contract(STRICT)
    suite = expectation_suite(contract)
    in_suite = [e.meta["corpusgov_reason"] for e in suite.expectations]
    assert in_suite == [e.reason for e in expectations_of(contract)]
    assert {rule_for(reason) for reason in in_suite} <= set(EXPECTATION_RULES)


def test_a_new_expectation_rule_is_one_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule added to the table is enforced by GX and its sentence reaches the violation."""
    import contracts.rules as rules

    no_titles = ContractRule(
        code="contract.title_not_shouting",
        check=RuleCheck.EXPECTATION,
        meaning="a title in capitals",
        detail=lambda _c, d, _code: f"title {d.declared_metadata.get('title')!r} is in capitals",
        expectations=lambda _c: [
            Expectation(
                "contract.title_not_shouting",
                "ExpectColumnValuesToNotMatchRegex",
                {"column": "title", "regex": "^[A-Z ]+$"},
            )
        ],
    )
    monkeypatch.setattr(rules, "RULES", (*rules.RULES, no_titles))
    monkeypatch.setattr(rules, "EXPECTATION_RULES", (*rules.EXPECTATION_RULES, no_titles))
    # No other rule reads `title` under this contract: the new rule's column reaches GX by itself.
    contract = replace(load_contract(DEFAULT_CONTRACT), required_fields=())
    quiet, loud = (
        _document(doc_id="docs/quiet.md", title="Quiet notes"),
        _document(doc_id="docs/loud.md", title="ALL CAPS"),
    )
    verdict = enforce_contract(contract, contract_table([quiet, loud], {}))
    assert verdict.reasons == {"docs/loud.md": ("contract.title_not_shouting",)}
    loud_doc = replace(loud, declared_metadata={"title": "ALL CAPS"})
    assert (
        violation_detail(contract, loud_doc, "contract.title_not_shouting")
        == "title 'ALL CAPS' is in capitals"
    )


def test_an_expectation_gx_cannot_compute_is_an_error_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure inside GX (here an invalid pattern) names the rule; it never passes every row."""
    import contracts.rules as rules

    broken = ContractRule(
        code="contract.broken_pattern",
        check=RuleCheck.EXPECTATION,
        meaning="a pattern GX cannot compile",
        detail=lambda _c, _d, _code: "",
        expectations=lambda _c: [
            Expectation(
                "contract.broken_pattern", "ExpectColumnValuesToMatchRegex", {"column": "title", "regex": "("}
            )
        ],
    )
    monkeypatch.setattr(rules, "EXPECTATION_RULES", (*rules.EXPECTATION_RULES, broken))
    with pytest.raises(DocumentFrameError, match="contract.broken_pattern"):
        enforce_contract(load_contract(DEFAULT_CONTRACT), contract_table([_document(title="A")], {}))


def test_a_new_policy_is_one_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import contracts.rules as rules

    no_german = ContractRule(
        code="policy.german_quarantined",
        check=RuleCheck.POLICY,
        meaning="German text",
        detail=lambda _c, _d, _code: "written in German",
        breaks=lambda _c, d: d.language == "de",
    )
    monkeypatch.setattr(rules, "POLICY_RULES", (*rules.POLICY_RULES, no_german))
    contract = load_contract(DEFAULT_CONTRACT)
    decided = apply_contract(contract, [_document(), _document(doc_id="docs/b.md", language="de")], {}, {})
    assert [(o.doc_id, o.state, o.reasons) for o in decided] == [
        ("docs/a.md", DocumentState.INDEXED, ()),
        ("docs/b.md", DocumentState.QUARANTINED, ("policy.german_quarantined",)),
    ]


@pytest.mark.parametrize("rule", POLICY_RULES, ids=lambda r: r.code)
def test_each_policy_quarantines_under_its_setting_only(rule: ContractRule) -> None:
    breaking = _document(
        safety_flags=("safety.injection_like", "safety.pii_email"),
        safety_details=({"code": "safety.injection_like", "detail": "ignore previous instructions"},),
        provenance=ProvenanceLabel.AI_GENERATED,
        provenance_evidence=({"kind": "declared", "field": "generator", "value": "GPT", "indicates": "ai"},),
        generation_depth=3,
    )
    lenient = load_contract(DEFAULT_CONTRACT)
    lenient = replace(
        lenient,
        injection_policy="tag",
        ai_generated_policy="tag",
        pii_policy="allow",
        max_generation_depth=None,
    )
    strict = replace(
        lenient,
        injection_policy="quarantine",
        ai_generated_policy="quarantine",
        pii_policy="quarantine",
        max_generation_depth=1,
    )
    assert not rule.breaks(lenient, breaking)
    assert rule.breaks(strict, breaking)
    assert not rule.breaks(strict, _document())
    assert violation_detail(strict, breaking, rule.code)


def test_the_minimum_grade_is_decided_once_by_its_expectation() -> None:
    """apply_contract takes the grade floor from GX's reasons; it does not decide it again."""
    contract = replace(load_contract(DEFAULT_CONTRACT), minimum_grade=Grade.A)
    low = _document(grade=Grade.C, title="Low")
    [decided] = apply_contract(contract, [low], {}, {})
    assert decided.state is DocumentState.INDEXED
    verdict = enforce_contract(contract, contract_table([low], {}))
    [decided] = apply_contract(contract, [low], verdict.reasons, {})
    assert decided.reasons == ("contract.grade_below_minimum",)
    assert violation_detail(contract, low, "contract.grade_below_minimum") == "grade C below the minimum A"
