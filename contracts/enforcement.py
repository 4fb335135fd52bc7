"""Check one run's documents against a contract with Great Expectations.

Each contract rule becomes one expectation whose meta carries the reason code it stands for;
GX reports the failing rows by doc_id, which become per-document reasons. Reasons only say
what is wrong; what happens to such a document (tag, quarantine, block the run) is the
pipeline's decision, guided by severity and the violation budget.
"""

import functools
import os
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

# Analytics must be off before GX is imported: it reads the variable at import and context
# creation. The context is also told explicitly below, in case GX was imported earlier.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import pandas  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from contracts.document_contract import DocumentContract  # noqa: E402
from contracts.errors import DocumentFrameError  # noqa: E402

REASON_TEXT_TOO_SHORT = "contract.text_too_short"
REASON_TEXT_TOO_LONG = "contract.text_too_long"
REASON_MIME_TYPE_NOT_ALLOWED = "contract.mime_type_not_allowed"
REASON_LANGUAGE_NOT_ALLOWED = "contract.language_not_allowed"
REASON_LANGUAGE_UNKNOWN = "contract.language_unknown"
REASON_GRADE_BELOW_MINIMUM = "contract.grade_below_minimum"
REASON_GRADE_UNKNOWN = "contract.grade_unknown"
_RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["doc_id"]}
_REASON = "corpusgov_reason"  # key in an expectation's meta


def missing_field_reason(field: str) -> str:
    """The reason code for a document whose required metadata field is null or absent."""
    return f"contract.missing_{field}"


@dataclass(frozen=True)
class ContractVerdict:
    contract_id: str
    contract_version: str
    checked: int  # rows evaluated
    reasons: dict[str, tuple[str, ...]]  # doc_id -> sorted reason codes, violating docs only
    violations_by_reason: dict[str, int]  # reason code -> number of documents
    violation_rate: float  # violating docs / checked; 0.0 when nothing was checked
    within_budget: bool  # violation_rate <= contract.max_violation_rate
    expectations: int  # expectations GX evaluated


def enforce_contract(contract: DocumentContract, documents: pandas.DataFrame) -> ContractVerdict:
    """Validate one row per document against the contract; raise DocumentFrameError on a malformed frame."""
    if len(documents) == 0:
        return _verdict(contract, checked=0, reasons={}, expectations=0)
    frame = _frame_for(contract, documents)
    runtime = _validation_runtime()
    suite = expectation_suite(contract)
    with runtime.lock:
        batch = runtime.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format=_RESULT_FORMAT)

    found: dict[str, set[str]] = {}
    for outcome in result.results:
        reason = outcome.expectation_config.meta[_REASON]
        if outcome.exception_info.get("raised_exception"):
            raise DocumentFrameError(
                contract.path, outcome.expectation_config.kwargs.get("column"),
                f"Great Expectations failed while checking {reason}: "
                f"{outcome.exception_info.get('exception_message')}",
                "Check the column's values and dtype in the documents frame")
        for row in outcome.result.get("unexpected_index_list") or []:
            found.setdefault(str(row["doc_id"]), set()).add(reason)
    reasons = {doc_id: tuple(sorted(codes)) for doc_id, codes in sorted(found.items())}
    return _verdict(contract, checked=len(frame), reasons=reasons, expectations=len(result.results))


def expectation_suite(contract: DocumentContract) -> gx.ExpectationSuite:
    """The GX suite for a contract; each expectation's meta names the reason code it reports."""
    _validation_runtime()  # GX refuses to build a suite before a context exists
    suite = gx.ExpectationSuite(name=f"{contract.id}@{contract.version}")

    def add(expectation: Any, reason: str) -> None:
        expectation.meta = {_REASON: reason}
        suite.add_expectation(expectation)

    for field in contract.required_fields:
        add(gxe.ExpectColumnValuesToNotBeNull(column=field), missing_field_reason(field))
    # Two expectations, not one "between", so a document says which bound it broke.
    if contract.min_text_chars is not None:
        add(gxe.ExpectColumnValuesToBeBetween(column="text_chars", min_value=contract.min_text_chars),
            REASON_TEXT_TOO_SHORT)
    if contract.max_text_chars is not None:
        add(gxe.ExpectColumnValuesToBeBetween(column="text_chars", max_value=contract.max_text_chars),
            REASON_TEXT_TOO_LONG)
    # GX set expectations skip nulls, so a null is checked separately wherever values are constrained.
    if contract.allowed_mime_types is not None:
        add(gxe.ExpectColumnValuesToBeInSet(column="mime_type", value_set=list(contract.allowed_mime_types)),
            REASON_MIME_TYPE_NOT_ALLOWED)
        add(gxe.ExpectColumnValuesToNotBeNull(column="mime_type"), REASON_MIME_TYPE_NOT_ALLOWED)
    if contract.allowed_languages is not None:
        add(gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(contract.allowed_languages)),
            REASON_LANGUAGE_NOT_ALLOWED)
        # A null language means detection failed; that is a different fix from a wrong language.
        add(gxe.ExpectColumnValuesToNotBeNull(column="language"), REASON_LANGUAGE_UNKNOWN)
    allowed_grades = contract.allowed_grades
    if allowed_grades is not None:
        add(gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=list(allowed_grades)),
            REASON_GRADE_BELOW_MINIMUM)
        # Minimum F admits every graded and ungraded document; a stricter one needs a grade.
        if contract.minimum_grade != "F":
            add(gxe.ExpectColumnValuesToNotBeNull(column="grade"), REASON_GRADE_UNKNOWN)
    return suite


def _frame_for(contract: DocumentContract, documents: pandas.DataFrame) -> pandas.DataFrame:
    """Only the columns the suite reads, with absent optional columns as all-null."""
    if "doc_id" not in documents.columns:
        raise DocumentFrameError(contract.path, "doc_id", "the documents frame has no doc_id column",
                                 "Pass one row per document with its doc_id")
    doc_ids = documents["doc_id"]
    if doc_ids.isna().any():
        raise DocumentFrameError(contract.path, "doc_id", f"{int(doc_ids.isna().sum())} rows have no doc_id",
                                 "Give every document its doc_id before enforcement")
    if doc_ids.duplicated().any():
        duplicate = doc_ids[doc_ids.duplicated()].iloc[0]
        raise DocumentFrameError(contract.path, "doc_id", f"doc_id {duplicate!r} appears more than once",
                                 "Pass one row per document; reasons are reported per doc_id")
    needs_text = contract.min_text_chars is not None or contract.max_text_chars is not None
    if needs_text and "text_chars" not in documents.columns:
        raise DocumentFrameError(contract.path, "text_chars", "the documents frame has no text_chars column",
                                 "Add each document's extracted text length in characters")

    columns: dict[str, Any] = {"doc_id": doc_ids.astype(str)}
    if needs_text:
        columns["text_chars"] = documents["text_chars"]
    wanted = list(contract.required_fields)
    if contract.allowed_mime_types is not None:
        wanted.append("mime_type")
    if contract.allowed_languages is not None:
        wanted.append("language")
    if contract.minimum_grade is not None:
        wanted.append("grade")
    for column in wanted:
        # An absent column means no document carries the value: null on every row.
        columns[column] = documents[column] if column in documents.columns else None
    return pandas.DataFrame(columns, index=pandas.RangeIndex(len(documents)))


def _verdict(contract: DocumentContract, checked: int, reasons: dict[str, tuple[str, ...]],
             expectations: int) -> ContractVerdict:
    by_reason = Counter(code for codes in reasons.values() for code in codes)
    rate = len(reasons) / checked if checked else 0.0
    return ContractVerdict(
        contract_id=contract.id,
        contract_version=contract.version,
        checked=checked,
        reasons=reasons,
        violations_by_reason=dict(sorted(by_reason.items())),
        violation_rate=rate,
        within_budget=rate <= contract.max_violation_rate,
        expectations=expectations,
    )


@dataclass(frozen=True)
class _ValidationRuntime:
    batch_definition: BatchDefinition
    lock: threading.Lock  # GX contexts are not documented as thread-safe


@functools.cache
def _validation_runtime() -> _ValidationRuntime:
    """One ephemeral GX context per process: it holds no state between runs, so it can be shared."""
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    # Progress bars would write tqdm lines into every run's logs.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("corpusgov_documents").add_dataframe_asset("documents")
    return _ValidationRuntime(asset.add_batch_definition_whole_dataframe("run"), threading.Lock())
