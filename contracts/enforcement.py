"""Check one run's documents against a contract with Great Expectations.

Each contract rule becomes one or two expectations whose meta carries the reason code they stand for;
GX reports the failing rows by doc_id, which become per-document reasons. Reasons only say
what is wrong; what happens to such a document (tag, quarantine, block the run) is the
pipeline's decision, guided by severity and the violation budget.
"""

import functools
import os
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
REASON_STALE = "contract.stale"
REASON_FRESHNESS_UNKNOWN = "contract.freshness_unknown"
REASON_DUPLICATE_CONTENT = "contract.duplicate_content"
# Columns the pipeline fills for the freshness and duplicate rules (duplicate_of: the doc_id of an
# earlier document in the source with the same content hash, else null).
FRESHNESS_COLUMNS: tuple[str, ...] = ("modified", "created")  # first one that parses wins
DUPLICATE_OF_COLUMN = "duplicate_of"
_AGE_DAYS = "age_days"  # derived: days from the document's last known change to `now`
_DAY = timedelta(days=1)
_ISO_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_ISO_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?"
# What a value of each logicalType must look like (values are checked as text). A date may carry a
# time of day: declared metadata keeps whatever precision the file gave, and its date part is a date.
_LOGICAL_TYPE_PATTERNS: dict[str, str] = {
    "date": rf"^{_ISO_DATE}(?:[T ]{_ISO_TIME})?$",
    "timestamp": rf"^{_ISO_DATE}(?:[T ]{_ISO_TIME})?$",
    "time": rf"^{_ISO_TIME}$",
    "integer": r"^[+-]?\d+$",
    "number": r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$",
    "boolean": r"^(?:true|false|True|False|TRUE|FALSE)$",
}
# A pattern cannot tell 2024-02-30 from a real day; dateutil can.
_CALENDAR_TYPES = ("date", "timestamp")
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["doc_id"]}
_REASON = "corpusgov_reason"  # key in an expectation's meta


def missing_field_reason(field: str) -> str:
    """The reason code for a document whose required metadata field is null or absent."""
    return f"contract.missing_{field}"


def invalid_type_reason(field: str) -> str:
    """The reason code for a document whose field value does not parse as its logicalType."""
    return f"contract.invalid_type_{field}"


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


def enforce_contract(
    contract: DocumentContract, documents: pandas.DataFrame, now: datetime | None = None
) -> ContractVerdict:
    """Validate one row per document against the contract; raise DocumentFrameError on a malformed frame.

    now is when freshness is judged (default: the current time; a naive value is UTC).
    """
    if len(documents) == 0:
        return _verdict(contract, checked=0, reasons={}, expectations=0)
    frame = validation_frame(contract, documents, now)
    runtime = _validation_runtime()
    suite = expectation_suite(contract)
    with runtime.lock:
        batch = runtime.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format=RESULT_FORMAT)

    found: dict[str, set[str]] = {}
    for outcome in result.results:
        config = outcome.expectation_config
        assert config is not None  # every result of a suite run carries its expectation
        reason = config.meta[_REASON]
        if outcome.exception_info.get("raised_exception"):
            raise DocumentFrameError(
                contract.path,
                config.kwargs.get("column"),
                f"Great Expectations failed while checking {reason}: "
                f"{outcome.exception_info.get('exception_message')}",
                "Check the column's values and dtype in the documents frame",
            )
        for row in outcome.result.get("unexpected_index_list") or []:
            found.setdefault(str(row["doc_id"]), set()).add(reason)
    reasons = {doc_id: tuple(sorted(codes)) for doc_id, codes in sorted(found.items())}
    return _verdict(contract, checked=len(frame), reasons=reasons, expectations=len(result.results))


def expectation_suite(contract: DocumentContract) -> gx.ExpectationSuite:
    """The GX suite for a contract; each expectation's meta names the reason code it reports."""
    _validation_runtime()  # GX refuses to build a suite before a context exists
    suite = gx.ExpectationSuite(name=contract.ref)

    def add(expectation: Any, reason: str) -> None:
        expectation.meta = {_REASON: reason}
        suite.add_expectation(expectation)

    for field in contract.required_fields:
        add(gxe.ExpectColumnValuesToNotBeNull(column=field), missing_field_reason(field))
    # Type checks skip nulls (GX map expectations do): a missing value is the required rule's job.
    for field, pattern in _typed_fields(contract).items():
        add(gxe.ExpectColumnValuesToMatchRegex(column=field, regex=pattern), invalid_type_reason(field))
        if contract.field_types[field] in _CALENDAR_TYPES:
            add(gxe.ExpectColumnValuesToBeDateutilParseable(column=field), invalid_type_reason(field))
    # Two expectations, not one "between", so a document says which bound it broke.
    if contract.min_text_chars is not None:
        add(
            gxe.ExpectColumnValuesToBeBetween(column="text_chars", min_value=contract.min_text_chars),
            REASON_TEXT_TOO_SHORT,
        )
    if contract.max_text_chars is not None:
        add(
            gxe.ExpectColumnValuesToBeBetween(column="text_chars", max_value=contract.max_text_chars),
            REASON_TEXT_TOO_LONG,
        )
    # GX set expectations skip nulls, so a null is checked separately wherever values are constrained.
    if contract.allowed_mime_types is not None:
        add(
            gxe.ExpectColumnValuesToBeInSet(column="mime_type", value_set=list(contract.allowed_mime_types)),
            REASON_MIME_TYPE_NOT_ALLOWED,
        )
        add(gxe.ExpectColumnValuesToNotBeNull(column="mime_type"), REASON_MIME_TYPE_NOT_ALLOWED)
    if contract.allowed_languages is not None:
        add(
            gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(contract.allowed_languages)),
            REASON_LANGUAGE_NOT_ALLOWED,
        )
        # A null language means detection failed; that is a different fix from a wrong language.
        add(gxe.ExpectColumnValuesToNotBeNull(column="language"), REASON_LANGUAGE_UNKNOWN)
    allowed_grades = contract.allowed_grades
    if allowed_grades is not None:
        add(
            gxe.ExpectColumnValuesToBeInSet(column="grade", value_set=list(allowed_grades)),
            REASON_GRADE_BELOW_MINIMUM,
        )
        # Minimum F admits every graded and ungraded document; a stricter one needs a grade.
        if contract.minimum_grade != "F":
            add(gxe.ExpectColumnValuesToNotBeNull(column="grade"), REASON_GRADE_UNKNOWN)
    if contract.max_age is not None:
        add(
            gxe.ExpectColumnValuesToBeBetween(column=_AGE_DAYS, max_value=contract.max_age / _DAY),
            REASON_STALE,
        )
        add(gxe.ExpectColumnValuesToNotBeNull(column=_AGE_DAYS), REASON_FRESHNESS_UNKNOWN)
    if contract.no_duplicate_content:
        add(gxe.ExpectColumnValuesToBeNull(column=DUPLICATE_OF_COLUMN), REASON_DUPLICATE_CONTENT)
    return suite


def _require_frame_columns(contract: DocumentContract, documents: pandas.DataFrame) -> None:
    """A frame the suite cannot judge is the caller's error, named before anything runs."""
    if "doc_id" not in documents.columns:
        raise DocumentFrameError(
            contract.path,
            "doc_id",
            "the documents frame has no doc_id column",
            "Pass one row per document with its doc_id",
        )
    doc_ids = documents["doc_id"]
    if doc_ids.isna().any():
        raise DocumentFrameError(
            contract.path,
            "doc_id",
            f"{int(doc_ids.isna().sum())} rows have no doc_id",
            "Give every document its doc_id before enforcement",
        )
    if doc_ids.duplicated().any():
        duplicate = doc_ids[doc_ids.duplicated()].iloc[0]
        raise DocumentFrameError(
            contract.path,
            "doc_id",
            f"doc_id {duplicate!r} appears more than once",
            "Pass one row per document; reasons are reported per doc_id",
        )
    needs_text = contract.min_text_chars is not None or contract.max_text_chars is not None
    if needs_text and "text_chars" not in documents.columns:
        raise DocumentFrameError(
            contract.path,
            "text_chars",
            "the documents frame has no text_chars column",
            "Add each document's extracted text length in characters",
        )
    # Unlike a metadata field, a missing duplicate_of would silently pass every document.
    if contract.no_duplicate_content and DUPLICATE_OF_COLUMN not in documents.columns:
        raise DocumentFrameError(
            contract.path,
            DUPLICATE_OF_COLUMN,
            "the contract sets noDuplicateContent but the documents frame has no "
            f"{DUPLICATE_OF_COLUMN} column",
            "Add the doc_id of an earlier document with the same content hash, or null",
        )


def validation_frame(
    contract: DocumentContract, documents: pandas.DataFrame, now: datetime | None = None
) -> pandas.DataFrame:
    """The frame the suite validates: only the columns it reads, absent optional columns as all-null.

    Typed fields are passed as text (a date or number the parser already converted is written back
    in ISO form), and freshness becomes age_days, measured at now.
    """
    _require_frame_columns(contract, documents)
    doc_ids = documents["doc_id"]
    needs_text = contract.min_text_chars is not None or contract.max_text_chars is not None
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
    for column in _typed_fields(contract):
        values = documents[column] if column in documents.columns else [None] * len(documents)
        columns[column] = [_as_text(v) for v in values]
    if contract.max_age is not None:
        columns[_AGE_DAYS] = _age_days(documents, now)
    if contract.no_duplicate_content:
        columns[DUPLICATE_OF_COLUMN] = [_as_text(v) for v in documents[DUPLICATE_OF_COLUMN]]
    return pandas.DataFrame(columns, index=pandas.RangeIndex(len(documents)))


def _typed_fields(contract: DocumentContract) -> dict[str, str]:
    """Field -> the pattern its values must match, for every field whose logicalType is checkable."""
    return {
        field: _LOGICAL_TYPE_PATTERNS[kind]
        for field, kind in contract.field_types.items()
        if kind in _LOGICAL_TYPE_PATTERNS
    }


def _as_text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pandas.isna(value)):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _age_days(documents: pandas.DataFrame, now: datetime | None) -> pandas.Series:
    """Days since modified, else created; null where neither parses as an ISO date or datetime."""
    when = pandas.Series(pandas.NaT, index=documents.index, dtype="datetime64[ns, UTC]")
    for column in FRESHNESS_COLUMNS:
        if column in documents.columns:
            text = documents[column].map(_as_text)
            parsed = pandas.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
            when = when.fillna(parsed)
    current = pandas.Timestamp(now or datetime.now(UTC))
    if current.tzinfo is None:
        current = current.tz_localize(UTC)
    ages = (current - when) / _DAY
    return pandas.Series(ages.to_numpy(dtype=float), index=pandas.RangeIndex(len(documents)))


def _verdict(
    contract: DocumentContract, checked: int, reasons: dict[str, tuple[str, ...]], expectations: int
) -> ContractVerdict:
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
