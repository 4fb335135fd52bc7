"""Every reason code the code can put on a document is in the README, where a data team looks it up."""

import re

from tests.conftest import REPO_ROOT

_CODE = re.compile(r'"((?:discover|parse|policy|index|contract|quality)\.[a-z_]+)"')
_NOT_REASONS = {"index.html"}  # a file name, not a reason code


def test_the_readme_lists_every_reason_code() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found: set[str] = set()
    for package in ("pipelines", "contracts", "corpus_quality"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            found.update(_CODE.findall(path.read_text(encoding="utf-8")))
    found -= _NOT_REASONS
    assert len(found) > 20, "the scan finds the codes"
    missing = sorted(code for code in found if f"`{code}" not in readme)
    assert not missing, f"reason codes missing from README.md: {missing}"
