"""One run's ledger rows as Arrow tables, built from its document outcomes.

The ledger inserts each with one set-based statement (pipelines/ledger/__init__.py). They are
separate functions so that a run's commit builds one table, inserts it and drops it before the
next: on a first ingest of tens of thousands of documents they are tens of MB each.
"""

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from corpus_quality.near_duplicates import NUM_PERM
from pipelines.document.outcome import DocumentOutcome, DocumentState


def documents_table(outcomes: Sequence[DocumentOutcome]) -> pa.Table:
    """One row per document of the run, in the `documents` table's terms."""
    return pa.table(
        {
            "doc_id": [o.doc_id for o in outcomes],
            "source": [o.source for o in outcomes],
            "path": [o.path for o in outcomes],
            "state": [o.state.value for o in outcomes],
            "reasons": pa.array([list(o.reasons) for o in outcomes], pa.list_(pa.string())),
            "detail": pa.array([o.detail for o in outcomes], pa.string()),
            "content_hash": pa.array([o.content_hash for o in outcomes], pa.string()),
            "mime_type": pa.array([o.mime_type for o in outcomes], pa.string()),
            "size": pa.array([o.size for o in outcomes], pa.int64()),
            "title": pa.array([o.title for o in outcomes], pa.string()),
            "language": pa.array([o.language for o in outcomes], pa.string()),
            "contract_id": pa.array([o.contract_id for o in outcomes], pa.string()),
            "contract_version": pa.array([o.contract_version for o in outcomes], pa.string()),
            "config_hash": pa.array([o.config_hash for o in outcomes], pa.string()),
            "grade": pa.array([o.grade for o in outcomes], pa.string()),
            "quality_score": pa.array([o.quality_score for o in outcomes], pa.float64()),
            "provenance": pa.array([o.provenance for o in outcomes], pa.string()),
            "provenance_confidence": pa.array([o.provenance_confidence for o in outcomes], pa.float64()),
            "safety_flags": pa.array([list(o.safety_flags) for o in outcomes], pa.list_(pa.string())),
            "chunk_count": pa.array(
                [len(o.chunks) if o.state is DocumentState.INDEXED else 0 for o in outcomes], pa.int32()
            ),
            "generation_depth": pa.array([o.generation_depth for o in outcomes], pa.int32()),
            "derived_from": pa.array([list(o.derived_from) for o in outcomes], pa.list_(pa.string())),
        }
    )


def signatures_table(outcomes: Sequence[DocumentOutcome]) -> pa.Table:
    """The near-duplicate signatures of the indexed documents: the corpus later runs compare with."""
    signed = [o for o in outcomes if o.state is DocumentState.INDEXED and o.near_duplicate_signature]
    values = np.frombuffer(b"".join(o.near_duplicate_signature or b"" for o in signed), dtype=np.uint32)
    return pa.table(
        {
            "doc_id": pa.array([o.doc_id for o in signed], pa.string()),
            "signature": pa.ListArray.from_arrays(
                pa.array(np.arange(0, values.size + 1, NUM_PERM, dtype=np.int32)), pa.array(values)
            ),
        }
    )


def assessments_table(outcomes: Sequence[DocumentOutcome]) -> pa.Table:
    """Quality, provenance and safety of every assessed document, the nested parts as JSON."""
    assessed = [o for o in outcomes if o.grade is not None]
    return pa.table(
        {
            "doc_id": pa.array([o.doc_id for o in assessed], pa.string()),
            "content_hash": pa.array([o.content_hash for o in assessed], pa.string()),
            "quality_signals": pa.array([json.dumps(o.quality_signals) for o in assessed], pa.string()),
            "quality_score": pa.array([o.quality_score for o in assessed], pa.float64()),
            "grade": pa.array([o.grade for o in assessed], pa.string()),
            "route": pa.array([o.route for o in assessed], pa.string()),
            "quality_reasons": pa.array([list(o.quality_reasons) for o in assessed], pa.list_(pa.string())),
            "provenance": pa.array([o.provenance for o in assessed], pa.string()),
            "digital_source_type": pa.array([o.digital_source_type for o in assessed], pa.string()),
            "provenance_confidence": pa.array([o.provenance_confidence for o in assessed], pa.float64()),
            "provenance_evidence": pa.array(
                [json.dumps(list(o.provenance_evidence)) for o in assessed], pa.string()
            ),
            "safety": pa.array([json.dumps(list(o.safety_details)) for o in assessed], pa.string()),
            "declared_metadata": pa.array([json.dumps(o.declared_metadata) for o in assessed], pa.string()),
        }
    )


def chunks_table(outcomes: Sequence[DocumentOutcome]) -> pa.Table:
    """The chunks of the documents that end indexed."""
    indexed = [c for o in outcomes if o.state is DocumentState.INDEXED for c in o.chunks]
    return pa.table(
        {
            "chunk_id": pa.array([c.chunk_id for c in indexed], pa.string()),
            "doc_id": pa.array([c.doc_id for c in indexed], pa.string()),
            "ordinal": pa.array([c.ordinal for c in indexed], pa.int32()),
            "chars": pa.array([c.chars for c in indexed], pa.int32()),
        }
    )
