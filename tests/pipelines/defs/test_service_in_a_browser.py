"""The service as a data team meets it: `corpusgov serve` (what `make run` starts) ingests by
itself, and a real headless Chromium walks the UI: the lineage, a source asset, its failing
contract check with the documents table, and the contract report, with no request leaving
127.0.0.1.

Slow (Dagster processes, the real model) and still run in CI; Chromium is Debian's package, which
.ci/run installs.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

from pipelines.evaluation import eval_versions
from pipelines.governance.catalog import corpus_status
from pipelines.governance.quarantine import list_held_back
from pipelines.ledger import Ledger
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT, procedure_text, write_doc
from tests.pipelines.contract_files import write_contract
from tests.pipelines.dagster_service import Service, free_port, running_service

pytestmark = pytest.mark.server
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The sample corpus plus a `wiki` source whose strict contract (no violation allowed) one
    short note breaks; started as `make run` starts it, stopped with Ctrl-C."""
    root = tmp_path_factory.mktemp("service")
    strict = write_contract(root / "strict.odcs.yaml", custom={"maxViolationRate": 0.0})
    write_doc(root / "wiki", "returns.md", procedure_text("returns"))
    write_doc(root / "wiki", "note.md", "# Note\n\nToo short.\n")
    config = root / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {root / 'data'}\nsources:\n"
        f"  - name: sample\n    path: {REPO_ROOT / 'examples' / 'corpus'}\n"
        f"    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
        f"  - name: wiki\n    path: {root / 'wiki'}\n    contract: {strict}\n"
        f"evals:\n  sets:\n    - name: sample\n      path: {REPO_ROOT / 'examples' / 'evals' / 'sample.jsonl'}\n"
        f"reports:\n  port: {free_port()}\n",
        encoding="utf-8",
    )
    with running_service(root, config, REPO_ROOT / "dagster_home" / "dagster.yaml") as service:
        yield service


def test_the_service_ingests_by_itself_and_holds_back_only_the_blocked_source(service: Service) -> None:
    assert (service.run["status"], service.run["jobName"]) == ("SUCCESS", "ingestion")
    settings = load_settings(service.config)
    summary = corpus_status(settings)
    assert summary.index_version == 1 and summary.index_problem is None
    assert sum(summary.documents.values()) == 30, "every sample file accounted for"
    versions = eval_versions(Ledger.of(settings), "sample")
    assert [v.index_version for v in versions] == [1], "the eval set follows the index by itself"
    held = {r["doc_id"]: r["would_be"] for r in list_held_back(settings)}
    assert held == {"wiki/note.md": "quarantined", "wiki/returns.md": "indexed"}


def test_a_browser_walks_the_ui_to_the_failing_documents_and_the_report(service: Service) -> None:
    if CHROMIUM is None:
        if os.environ.get("CORPUSGOV_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (CORPUSGOV_REQUIRE_BROWSER): apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import Route, sync_playwright

    outside: list[str] = []

    def only_this_machine(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.route("**/*", only_this_machine)

        page.goto(f"{service.ui}/asset-groups", wait_until="networkidle")
        skip = page.get_by_role("button", name="Skip")  # Dagster's first-visit newsletter dialog
        if skip.count():
            skip.click()
        sidebar = page.inner_text("body")
        for group in ("sources", "index", "evals", "alerts"):
            assert group in sidebar, f"the lineage lists the {group} group"

        page.goto(f"{service.ui}/assets/sources/wiki", wait_until="networkidle")
        page.wait_for_timeout(1500)
        overview = page.inner_text("body")
        assert "The documents of source" in overview and "data-platform" in overview

        page.goto(f"{service.ui}/assets/sources/wiki?view=checks", wait_until="networkidle")
        page.get_by_text("contract_wiki").first.click()
        page.wait_for_timeout(1500)
        check = page.inner_text("body")
        assert "blocked" in check and "quarantine list --blocked" in check
        page.locator("tr", has_text="failing_documents").get_by_text("[Show Markdown]").click()
        table = page.get_by_role("dialog").inner_text()
        assert "wiki/note.md" in table and "contract.text_too_short" in table and "chars < 40" in table
        page.keyboard.press("Escape")
        report_url = page.locator("tr", has_text="contract_report").locator("a").first.get_attribute("href")
        assert report_url and report_url.startswith("http://127.0.0.1:")

        page.goto(report_url, wait_until="networkidle")
        report = page.inner_text("body")
        assert "BLOCKED" in report and "wiki/note.md" in report and "16 chars < 40" in report

        page.goto(f"{service.ui}/assets/chunk_index", wait_until="networkidle")
        page.wait_for_timeout(1500)
        assert "not updated: source 'wiki' blocked" in page.inner_text("body")
        browser.close()
    assert outside == [], f"requests left the machine: {outside[:5]}"
