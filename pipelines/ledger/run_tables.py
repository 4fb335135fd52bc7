"""One run's ledger rows as Arrow tables, built from its document outcomes.

Each written table has one spec here, `RunTable`: which rows of the run it holds, and for each
column its name, Arrow type, value and how the INSERT reads it. The spec builds the Arrow table
and the INSERT's column and SELECT lists (pipelines/ledger/commits.py), so a new column is one
entry here plus its migration (pipelines/ledger/schema.py).

The ledger inserts each table with one set-based statement. They are built one at a time so
that a run's commit builds one table, inserts it and drops it before the next: on a first ingest
of tens of thousands of documents they are tens of MB each.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa

from pipelines.document.outcome import ChunkRef, DocumentOutcome, DocumentState

T = TypeVar("T")

_STRINGS = pa.list_(pa.string())
# The run table holds JSON as text; the ledger column is JSON.
_AS_JSON = "{}::JSON"


@dataclass(frozen=True)
class RunColumn(Generic[T]):
    """A column of a run table, and the ledger column it fills."""

    name: str  # in the run table, and in the ledger unless `stored_in` says otherwise
    type: pa.DataType
    value: Callable[[T], Any]
    insert_as: str = "{}"  # the INSERT's SELECT expression, {} the run table's column
    stored_in: str = ""

    @property
    def ledger_column(self) -> str:
        return self.stored_in or self.name


@dataclass(frozen=True)
class RunTable(Generic[T]):
    """A ledger table's rows of one run: which rows, and their columns."""

    rows: Callable[[Sequence[DocumentOutcome]], Sequence[T]]
    columns: tuple[RunColumn[T], ...]

    def arrow(self, outcomes: Sequence[DocumentOutcome]) -> pa.Table:
        rows = self.rows(outcomes)
        return pa.table({c.name: pa.array([c.value(row) for row in rows], c.type) for c in self.columns})

    def column_list(self) -> str:
        """The INSERT's ledger columns, in the order of `select_list`."""
        return ", ".join(c.ledger_column for c in self.columns)

    def select_list(self, prefix: str = "") -> str:
        """The INSERT's SELECT list over the registered run table (`prefix` such as "r.")."""
        return ", ".join(c.insert_as.format(prefix + c.name) for c in self.columns)


def _every(outcomes: Sequence[DocumentOutcome]) -> Sequence[DocumentOutcome]:
    return outcomes


def _assessed(outcomes: Sequence[DocumentOutcome]) -> Sequence[DocumentOutcome]:
    return [o for o in outcomes if o.grade is not None]


def _signed(outcomes: Sequence[DocumentOutcome]) -> Sequence[DocumentOutcome]:
    """The indexed documents with a signature: the corpus later runs compare with."""
    return [o for o in outcomes if o.state is DocumentState.INDEXED and o.near_duplicate_signature]


def _indexed_chunks(outcomes: Sequence[DocumentOutcome]) -> Sequence[ChunkRef]:
    return [c for o in outcomes if o.state is DocumentState.INDEXED for c in o.chunks]


def _chunk_count(o: DocumentOutcome) -> int:
    return len(o.chunks) if o.state is DocumentState.INDEXED else 0


# One row per document of the run, in the `documents` table's terms (the INSERT adds first_seen,
# last_changed and index_version).
DOCUMENTS: RunTable[DocumentOutcome] = RunTable(
    _every,
    (
        RunColumn("doc_id", pa.string(), lambda o: o.doc_id),
        RunColumn("source", pa.string(), lambda o: o.source),
        RunColumn("path", pa.string(), lambda o: o.path),
        RunColumn("state", pa.string(), lambda o: o.state.value),
        RunColumn("reasons", _STRINGS, lambda o: list(o.reasons)),
        RunColumn("detail", pa.string(), lambda o: o.detail),
        RunColumn("content_hash", pa.string(), lambda o: o.content_hash),
        RunColumn("mime_type", pa.string(), lambda o: o.mime_type),
        RunColumn("size", pa.int64(), lambda o: o.size),
        RunColumn("title", pa.string(), lambda o: o.title),
        RunColumn("language", pa.string(), lambda o: o.language),
        RunColumn("contract_id", pa.string(), lambda o: o.contract_id),
        RunColumn("contract_version", pa.string(), lambda o: o.contract_version),
        RunColumn("config_hash", pa.string(), lambda o: o.config_hash),
        RunColumn("grade", pa.string(), lambda o: o.grade),
        RunColumn("quality_score", pa.float64(), lambda o: o.quality_score),
        RunColumn("provenance", pa.string(), lambda o: o.provenance),
        RunColumn("provenance_confidence", pa.float64(), lambda o: o.provenance_confidence),
        RunColumn("safety_flags", _STRINGS, lambda o: list(o.safety_flags)),
        RunColumn("chunk_count", pa.int32(), _chunk_count),
        RunColumn("generation_depth", pa.int32(), lambda o: o.generation_depth),
        RunColumn("derived_from", _STRINGS, lambda o: list(o.derived_from)),
    ),
)

# Quality, provenance and safety of every assessed document, the nested parts as JSON (the
# INSERT adds recorded_at).
ASSESSMENTS: RunTable[DocumentOutcome] = RunTable(
    _assessed,
    (
        RunColumn("doc_id", pa.string(), lambda o: o.doc_id),
        RunColumn("content_hash", pa.string(), lambda o: o.content_hash),
        RunColumn("quality_signals", pa.string(), lambda o: json.dumps(o.quality_signals), _AS_JSON),
        RunColumn("quality_score", pa.float64(), lambda o: o.quality_score),
        RunColumn("grade", pa.string(), lambda o: o.grade),
        RunColumn("route", pa.string(), lambda o: o.route),
        RunColumn("quality_reasons", _STRINGS, lambda o: list(o.quality_reasons)),
        RunColumn("provenance", pa.string(), lambda o: o.provenance),
        RunColumn("digital_source_type", pa.string(), lambda o: o.digital_source_type),
        RunColumn("provenance_confidence", pa.float64(), lambda o: o.provenance_confidence),
        RunColumn(
            "provenance_evidence", pa.string(), lambda o: json.dumps(list(o.provenance_evidence)), _AS_JSON
        ),
        RunColumn("safety", pa.string(), lambda o: json.dumps(list(o.safety_details)), _AS_JSON),
        RunColumn("declared_metadata", pa.string(), lambda o: json.dumps(o.declared_metadata), _AS_JSON),
        RunColumn("near_duplicate_of", pa.string(), lambda o: o.near_duplicate_of),
        RunColumn("heuristic_ai_score", pa.float64(), lambda o: o.heuristic_ai_score),
    ),
)

# The near-duplicate signatures of the indexed documents, 128 uint32 values each, stored in the
# ledger as one JSON row (the INSERT passes $version, the fingerprint's).
SIGNATURES: RunTable[DocumentOutcome] = RunTable(
    _signed,
    (
        RunColumn("doc_id", pa.string(), lambda o: o.doc_id),
        RunColumn(
            "signature",
            pa.list_(pa.uint32()),
            lambda o: np.frombuffer(o.near_duplicate_signature or b"", dtype=np.uint32),
            "json_object('doc_id', doc_id, 'fingerprint_version', $version, 'signature', {})",
            stored_in="row",
        ),
    ),
)

# The chunks of the documents that end indexed.
CHUNKS: RunTable[ChunkRef] = RunTable(
    _indexed_chunks,
    (
        RunColumn("chunk_id", pa.string(), lambda c: c.chunk_id),
        RunColumn("doc_id", pa.string(), lambda c: c.doc_id),
        RunColumn("ordinal", pa.int32(), lambda c: c.ordinal),
        RunColumn("chars", pa.int32(), lambda c: c.chars),
    ),
)
