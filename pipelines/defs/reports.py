"""What the Dagster UI shows a person: metadata tables and check results with the next step."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.contract.checks import ContractCheck, blocked_message
from pipelines.contract.report import report_url
from pipelines.contract.violations import Violation
from pipelines.defs.markdown import markdown_table, reasons_table
from pipelines.governance.alert_records import plural
from pipelines.run.ingestion import PreparedIngestion
from pipelines.settings import Settings

# A check shows this many failing documents; the rest are counted (and all are in the report).
FAILING_DOCUMENTS_SHOWN = 50


def source_metadata(part: PreparedIngestion) -> dict[str, Any]:
    states = Counter(o.state.value for o in part.outcomes)
    reasons = Counter(r for o in part.outcomes for r in o.reasons)
    [check] = part.contract_checks
    return {
        "discovered": dg.MetadataValue.int(part.discovered),
        "unchanged": dg.MetadataValue.int(part.unchanged),
        "changed": dg.MetadataValue.int(len(part.outcomes)),
        **{f"to_{state}": dg.MetadataValue.int(n) for state, n in sorted(states.items())},
        "reasons": dg.MetadataValue.md(reasons_table(reasons)),
        "contract": check.contract_ref if check.error is None else check.contract_path,
        "status": _status_line(check),
    }


def shown_path(path: str, settings: Settings) -> str:
    """`path` as a person reads it in the UI: relative to corpusgov.yaml's folder when under it."""
    try:
        return Path(path).resolve().relative_to(settings.config_path.parent.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def contract_check_result(
    check: ContractCheck, name: str, settings: Settings, standing: Sequence[Violation] = ()
) -> dg.AssetCheckResult:
    """The contract check as a person needs it: the verdict, the failing documents with the
    numbers behind each reason, and the next step in one sentence. `standing`: the source's
    documents earlier runs quarantined, which this run did not decide again: the check stays WARN
    while any remain, whatever this run changed."""
    if standing:
        check = replace(
            check,
            violations=(*check.violations, *standing),
            violations_by_reason=dict(Counter(v.reason for v in (*check.violations, *standing))),
        )
    metadata: dict[str, Any] = {
        "contract": check.contract_ref if check.contract_id else shown_path(check.contract_path, settings),
        "contract_file": shown_path(check.contract_path, settings),
        "checked_this_run": check.checked,
        "governed_documents": check.governed,
        "violating": check.violating,
        "violation_rate": round(check.violation_rate, 4),
        "max_violation_rate": check.max_violation_rate,
        "next_step": _next_step(check),
    }
    if check.report:
        # Served by `corpusgov serve` (make run); the browser will not open file:// from the UI.
        metadata["contract_report"] = dg.MetadataValue.url(report_url(settings, Path(check.report)))
    if check.violations:
        metadata["failing_documents"] = dg.MetadataValue.md(failing_documents_table(check))
        metadata["violations_by_reason"] = dg.MetadataValue.md(reasons_table(check.violations_by_reason))
    if check.error:
        metadata["error"] = check.error
        return dg.AssetCheckResult(
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=check.error,
        )
    if check.blocked:
        return dg.AssetCheckResult(
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description=blocked_message(check),
        )
    if check.violations:
        quarantined = len({v.doc_id for v in check.violations})
        return dg.AssetCheckResult(
            check_name=name,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=f"{plural(quarantined, 'document')} of this source quarantined under "
            f"{check.contract_ref} ({len({v.doc_id for v in standing})} by earlier runs); this run: "
            f"{check.violating} of {check.governed} governed documents ({check.violation_rate:.0%}) violate it"
            + (
                "; within the error budget."
                if check.within_budget
                else "; over the budget, but the contract's severity is warning: nothing blocks."
            ),
        )
    return dg.AssetCheckResult(
        check_name=name,
        passed=True,
        metadata=metadata,
        description=f"All {check.checked} documents checked in this run meet {check.contract_ref}.",
    )


def failing_documents_table(check: ContractCheck) -> str:
    rows = [
        [f"`{v.doc_id}`", f"`{v.reason}`", v.detail, check.contract_ref]
        for v in check.violations[:FAILING_DOCUMENTS_SHOWN]
    ]
    table = markdown_table(["document", "reason", "detail", "contract"], rows)
    rest = len(check.violations) - FAILING_DOCUMENTS_SHOWN
    return table + (f"\n\n… and {rest} more: `corpusgov quarantine list`" if rest > 0 else "")


def _status_line(check: ContractCheck) -> str:
    if check.error:
        return f"skipped: {check.error}"
    if check.blocked:
        return "blocked: over the contract's error budget, changes held back"
    return "ok" if not check.violations else f"{check.violating} documents quarantined"


def _next_step(check: ContractCheck) -> str:
    if check.error:
        return "Fix the contract or the source's folder as the error says; the other sources go on."
    if check.blocked:
        return (
            "Fix the failing documents at the source (or loosen the contract), then run ingestion "
            "again; until then this source's changes are held back (corpusgov quarantine list --blocked)."
        )
    if check.violations:
        return (
            "Fix the failing documents at the source, or release one on purpose with "
            '`corpusgov quarantine release DOC_ID --reason "…"`.'
        )
    return "Nothing to do."
