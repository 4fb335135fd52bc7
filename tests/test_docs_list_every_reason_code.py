"""Every reason code the code can put on a document is listed in docs/contracts.md, where a data
team looks it up; each contract rule with the meaning its record gives (contracts/rules.py)."""

import re

from contracts.rules import RULES
from corpus_quality import SIGNALS
from tests.conftest import REPO_ROOT

_CODE = re.compile(r'"((?:discover|parse|policy|index|contract|quality)\.[a-z_]+)"')
_NOT_REASONS = {"index.html"}  # a file name, not a reason code
DOCS = REPO_ROOT / "docs" / "contracts.md"


def test_the_docs_list_every_reason_code() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    found: set[str] = set()
    for package in ("pipelines", "contracts", "corpus_quality"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            found.update(_CODE.findall(path.read_text(encoding="utf-8")))
    found -= _NOT_REASONS
    assert len(found) > 20, "the scan finds the codes"
    missing = sorted(code for code in found if f"`{code}" not in docs)
    assert not missing, f"reason codes missing from docs/contracts.md: {missing}"


def test_each_contract_rule_is_documented_with_its_meaning() -> None:
    rows = {
        line.split("|")[1].strip(): line
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    for rule in RULES:
        shown = f"`{rule.code}X`" if rule.per_field else f"`{rule.code}`"
        assert shown in rows, f"{shown} has no row in docs/contracts.md's reason codes"
        assert rule.meaning in rows[shown], f"{shown}: the docs say other than its record: {rule.meaning}"


def test_every_quality_signal_is_named_in_the_docs() -> None:
    """`quality.low_<signal>` is documented with the list of signals it can name."""
    docs = DOCS.read_text(encoding="utf-8")
    missing = [s.name for s in SIGNALS if f"`{s.name}`" not in docs]
    assert not missing, f"signals missing from docs/contracts.md's quality.low_<signal> list: {missing}"
