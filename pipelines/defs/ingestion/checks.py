"""One blocking contract check per source: over its error budget, the index is not updated."""

import dagster as dg

from pipelines.defs.ingestion.assets import CORPUS_DOCUMENTS
from pipelines.ingestion import PreparedIngestion
from pipelines.markdown import reasons_table


def contract_check_name(source: str) -> str:
    return f"contract_{source.replace('-', '_').replace('.', '_')}"


def build_contract_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=CORPUS_DOCUMENTS,
        name=contract_check_name(source),
        blocking=True,
        description=f"Documents of source '{source}' conform to its data contract, within the "
        "contract's error budget (max_violation_rate). Violating documents are quarantined.",
    )
    def contract_conformance(corpus_documents: PreparedIngestion) -> dg.AssetCheckResult:
        check = next((c for c in corpus_documents.contract_checks if c.source == source), None)
        if check is None:
            return dg.AssetCheckResult(
                passed=True, metadata={"checked": 0, "note": "source not part of this run"}
            )
        metadata: dict[str, dg.RawMetadataValue] = {
            "contract": f"{check.contract_id}@{check.contract_version}",
            "contract_file": check.contract_path,
            "checked": check.checked,
            "violation_rate": round(check.violation_rate, 4),
            "max_violation_rate": check.max_violation_rate,
            "violations": dg.MetadataValue.md(reasons_table(check.violations_by_reason)),
        }
        if check.data_docs:
            metadata["data_docs"] = dg.MetadataValue.url(f"file://{check.data_docs}")
        if check.error:
            metadata["error"] = check.error
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
                description=check.error,
            )
        if not check.within_budget:
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata,
                description="Over the contract's error budget: the index is not updated in this run.",
            )
        if check.violations_by_reason:
            # Within budget: a WARN failure shows in the UI but does not block the index update;
            # the violating documents are quarantined.
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata,
                description=f"{check.violation_rate:.0%} of checked documents violate the contract "
                "and are quarantined; within the error budget.",
            )
        return dg.AssetCheckResult(
            passed=True, metadata=metadata, description="All checked documents conform."
        )

    return contract_conformance
