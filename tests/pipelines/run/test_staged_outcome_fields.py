"""Every field of a document outcome survives staging (pipelines/run/staging.py): the staged
columns follow `DocumentOutcome`'s fields, so a field added to the outcome is staged with it, and
this test, which sets every field, fails until the new one is given a value here too."""

from dataclasses import MISSING, fields
from pathlib import Path

import pyarrow.parquet as pq

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.document.outcome import ChunkRef, DocumentOutcome, DocumentState
from pipelines.run.staging import outcomes_from_table, outcomes_table


def _every_field_set() -> DocumentOutcome:
    return DocumentOutcome(
        doc_id="docs/a.md",
        source="docs",
        path="a.md",
        state=DocumentState.QUARANTINED,
        reasons=("quality.grade_below_minimum", "policy.generation_depth_exceeded"),
        content_hash="sha256:0f1e",
        mime_type="text/markdown",
        size=4321,
        config_hash="cfg-1",
        contract_id="default",
        contract_version="1.2.0",
        title="Receiving procedure",
        text_chars=3999,
        language="en",
        grade=Grade.C,
        quality_score=0.5123,
        quality_signals={"length": 0.9, "near_duplicate": 0.2},
        quality_reasons=("near_duplicate",),
        route="review",
        provenance=ProvenanceLabel.AI_ASSISTED,
        provenance_confidence=0.75,
        digital_source_type="http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
        provenance_evidence=(
            {"kind": "declared", "field": "generator", "value": "gpt-4o", "indicates": "ai"},
        ),
        safety_flags=("pii.email",),
        safety_details=({"code": "pii.email", "detail": "1 address", "count": 1},),
        declared_metadata={"author": "Dana Whitfield"},
        generation_depth=2,
        derived_from=("output-1", "output-2"),
        heuristic_ai_score=0.42,
        near_duplicate_of="docs/b.md",
        near_duplicate_signature=bytes(range(256)) * 2,
        chunks=(
            ChunkRef(
                chunk_id="c1", doc_id="docs/a.md", ordinal=0, chars=1200, pii_flags=("safety.pii_email",)
            ),
            ChunkRef(chunk_id="c2", doc_id="docs/a.md", ordinal=1, chars=800, pii_flags=("pii.redacted",)),
        ),
        detail="graded C, below the contract's minimum B",
    )


def test_every_outcome_field_survives_a_stage_and_read(tmp_path: Path) -> None:
    outcome = _every_field_set()
    for f in fields(DocumentOutcome):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        assert getattr(outcome, f.name) != default, f"give {f.name} a value other than its default here"
    bare = DocumentOutcome(
        doc_id="docs/b.md",
        source="docs",
        path="b.md",
        state=DocumentState.REJECTED,
        reasons=(),
        content_hash=None,
        mime_type=None,
        size=0,
        config_hash="cfg-1",
    )

    staged = tmp_path / "docs.outcomes.parquet"
    pq.write_table(outcomes_table([outcome, bare]), staged)

    assert outcomes_from_table(pq.read_table(staged)) == (outcome, bare)
