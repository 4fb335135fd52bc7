"""Check one run's documents against a contract with Great Expectations.

Each expectation rule of contracts.rules becomes one or two expectations whose meta carries the
reason code they stand for; GX reports the failing rows by doc_id, which become per-document
reasons. Reasons only say
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
from contracts.rules import (  # noqa: E402
    AGE_DAYS_COLUMN,
    DUPLICATE_OF_COLUMN,
    FRESHNESS_COLUMNS,
    expectations_of,
    typed_fields,
)

_DAY = timedelta(days=1)
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["doc_id"]}
_REASON = "corpusgov_reason"  # key in an expectation's meta


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
        if failure := _raised_exception(outcome.exception_info):
            raise DocumentFrameError(
                contract.path,
                config.kwargs.get("column"),
                f"Great Expectations failed while checking {reason}: {failure}",
                "Check the column's values and dtype in the documents frame",
            )
        for row in outcome.result.get("unexpected_index_list") or []:
            found.setdefault(str(row["doc_id"]), set()).add(reason)
    reasons = {doc_id: tuple(sorted(codes)) for doc_id, codes in sorted(found.items())}
    return _verdict(contract, checked=len(frame), reasons=reasons, expectations=len(result.results))


def _raised_exception(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught while checking one expectation, else None. GX puts it
    at the top of `exception_info`, or, when computing a metric failed, under each metric's id: a
    check that only looked at the top would pass every document of a failed expectation."""
    found = [info, *(v for v in info.values() if isinstance(v, dict))]
    return next((str(i.get("exception_message")) for i in found if i.get("raised_exception")), None)


def expectation_suite(contract: DocumentContract) -> gx.ExpectationSuite:
    """The GX suite for a contract, from the expectation rules of contracts.rules; each
    expectation's meta names the reason code it reports."""
    _validation_runtime()  # GX refuses to build a suite before a context exists
    suite = gx.ExpectationSuite(name=contract.ref)
    for expectation in expectations_of(contract):
        built = getattr(gxe, expectation.name)(**expectation.kwargs)
        built.meta = {_REASON: expectation.reason}
        suite.add_expectation(built)
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
    for column in typed_fields(contract):
        values = documents[column] if column in documents.columns else [None] * len(documents)
        columns[column] = [_as_text(v) for v in values]
    if contract.max_age is not None:
        columns[AGE_DAYS_COLUMN] = _age_days(documents, now)
    if contract.no_duplicate_content:
        columns[DUPLICATE_OF_COLUMN] = [_as_text(v) for v in documents[DUPLICATE_OF_COLUMN]]
    # Whatever other column an expectation in force reads (a rule added to contracts/rules.py
    # needs nothing here); absent from the documents, it is null on every row.
    for expectation in expectations_of(contract):
        read = expectation.kwargs.get("column")
        if isinstance(read, str) and read not in columns:
            columns[read] = documents[read] if read in documents.columns else None
    return pandas.DataFrame(columns, index=pandas.RangeIndex(len(documents)))


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
    batch_definition: BatchDefinition[Any]
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
