"""The contract report: one self-contained HTML page per source and run whose check failed or warned.

Everything a person needs to act on a failing contract check, readable offline: no script, no
font, no stylesheet from elsewhere (Great Expectations' Data Docs load about 20 files from CDNs
and are blank without a network). `corpusgov serve` serves `<data_dir>/reports/` on 127.0.0.1 so
the link in the Dagster UI opens it; the file itself opens from disk too.
"""

import html
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from pipelines.contract.checks import ContractCheck, blocked_message
from pipelines.settings import Settings

REPORTS_FOLDER = "reports"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } .sub { color: #5b6474; margin-top: 0; }
.verdict { padding: .8rem 1rem; border-radius: 6px; margin: 1rem 0; }
.blocked, .error { background: #fde8e8; border: 1px solid #e0a0a0; }
.warn { background: #fff6df; border: 1px solid #e6c77a; } .pass { background: #e8f6ec; border: 1px solid #9fd0ad; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1.4rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { background: #f4f6f9; } code { font: 12.5px ui-monospace, monospace; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { color: #5b6474; }
"""


def reports_dir(settings: Settings) -> Path:
    return settings.data_dir / REPORTS_FOLDER


def report_path(settings: Settings, source: str, run_id: str) -> Path:
    return reports_dir(settings) / "contracts" / _SAFE.sub("_", source) / f"{_SAFE.sub('_', run_id)}.html"


def report_url(settings: Settings, path: Path) -> str:
    """Where the Dagster UI links the report: `reports.base_url` in corpusgov.yaml."""
    relative = path.relative_to(reports_dir(settings)).as_posix()
    return f"{settings.reports.base_url.rstrip('/')}/{relative}"


def write_contract_report(settings: Settings, check: ContractCheck, run_id: str) -> Path:
    """Write the page (atomically) and return its path."""
    path = report_path(settings, check.source, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(render_contract_report(check, run_id), encoding="utf-8")
    os.replace(partial, path)
    return path


def render_contract_report(check: ContractCheck, run_id: str) -> str:
    e = html.escape
    if check.error:
        kind, verdict = "error", f"Source skipped: {check.error}"
    elif check.blocked:
        kind, verdict = "blocked", blocked_message(check)
    elif check.violations:
        kind, verdict = (
            "warn",
            (
                f"{check.violating} of {check.governed} governed documents ({check.violation_rate:.0%}) "
                "violate the contract and are quarantined; the other changes are indexed."
            ),
        )
    else:
        kind, verdict = "pass", "Every checked document meets the contract."
    reasons = "".join(
        f"<tr><td><code>{e(reason)}</code></td><td>{count}</td></tr>"
        for reason, count in sorted(check.violations_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    failing = "".join(
        f"<tr><td><code>{e(v.doc_id)}</code></td><td><code>{e(v.reason)}</code></td><td>{e(v.detail)}</td></tr>"
        for v in check.violations
    )
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contract report: {e(check.source)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Contract report: source <code>{e(check.source)}</code></h1>
<p class="sub">Contract <code>{e(check.contract_ref)}</code> ({e(check.contract_path)}), run {e(run_id)}, written {written}</p>
<div class="verdict {kind}"><strong>{e(kind.upper())}</strong>: {e(verdict)}</div>
<dl>
<dt>checked in this run</dt><dd>{check.checked}</dd>
<dt>governed documents</dt><dd>{check.governed} (indexed now + checked in this run)</dd>
<dt>violating</dt><dd>{check.violating} ({check.violation_rate:.1%})</dd>
<dt>error budget</dt><dd>{check.max_violation_rate:.0%} (maxViolationRate)</dd>
</dl>
<h2>Violations by reason</h2>
<table><tr><th>reason</th><th>documents</th></tr>{reasons or '<tr><td colspan="2">none</td></tr>'}</table>
<h2>Failing documents ({len(check.violations)})</h2>
<table><tr><th>document</th><th>reason</th><th>detail</th></tr>{failing or '<tr><td colspan="3">none</td></tr>'}</table>
<p>The reason codes are listed in docs/contracts.md. A document fixed
at its source is checked again on the next run; <code>corpusgov quarantine release DOC_ID --reason "…"</code>
admits one on purpose, on the record.</p>
</body></html>
"""
