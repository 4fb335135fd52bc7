"""Records the ledger keeps as JSON text read back as they were written, and read what older
corpusgov wrote: an index version's counts (`index_versions.counts`) and a result's items
(`eval_results.per_item`), through the ledger's one conversion of a JSON-record column
(pipelines/ledger/rows.py)."""

import json
from dataclasses import fields, replace
from datetime import UTC, datetime

from evals.generation import GenerationSummary, ItemGeneration
from pipelines.ledger import IndexVersion, VersionCounts
from pipelines.ledger.evals import ItemScore, StoredResult
from pipelines.ledger.rows import parameters, record_of

COUNTS = VersionCounts(
    by_state={"indexed": 27, "rejected": 3},
    by_grade={"A": 27},
    by_provenance={"unknown": 25, "ai_generated": 2},
)


def _version(counts: VersionCounts) -> IndexVersion:
    return IndexVersion(
        index_version=3,
        lance_version=3,
        tag="index-v3",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        config_hash="d57137dc967dc428",
        embedding_model="fake-embedder@test",
        added=(),
        modified=("docs/a.md",),
        removed=(),
        chunks_added=1,
        chunks_removed=1,
        total_chunks=12,
        counts=counts,
        contract_versions={"docs": "corpusgov-default@1.0.0"},
    )


def _stored_row(record: IndexVersion | StoredResult) -> dict[str, object]:
    """The record's row as a ledger read returns it: each column named as its field, JSON as text."""
    return dict(zip([f.name for f in fields(record)], parameters(record), strict=True))


def test_version_counts_read_back_and_keep_the_keys_every_corpusgov_wrote() -> None:
    assert VersionCounts.from_json(COUNTS.as_json()) == COUNTS
    rolled_back = replace(COUNTS, rolled_back_from=2, rolled_back_to=1)
    assert VersionCounts.from_json(rolled_back.as_json()) == rolled_back

    # As older corpusgov stored them: a run's manifest, and a rollback's (its two numbers first).
    run_row = (
        '{"by_state": {"indexed": 27, "rejected": 3}, "by_grade": {"A": 27}, '
        '"by_provenance": {"unknown": 25, "ai_generated": 2}}'
    )
    rollback_row = (
        '{"rolled_back_from": 2, "rolled_back_to": 1, "by_state": {"indexed": 27, "rejected": 3}, '
        '"by_grade": {"A": 27}, "by_provenance": {"unknown": 25, "ai_generated": 2}}'
    )
    assert VersionCounts.from_json(json.loads(run_row)) == COUNTS
    assert VersionCounts.from_json(json.loads(rollback_row)) == rolled_back
    assert json.dumps(COUNTS.as_json()) == run_row
    assert json.dumps(rolled_back.as_json()) == rollback_row
    # A rollback before the ledger counts it: the run summary and `index rollback --json` show
    # only the two numbers.
    uncounted = VersionCounts.from_json({"rolled_back_from": 2, "rolled_back_to": 1})
    assert uncounted.by_state is None and uncounted.by_grade is None
    summary = '{"rollback": {"rolled_back_from": 2, "rolled_back_to": 1}}'
    assert json.dumps({"rollback": uncounted.as_json()}) == summary


def test_an_index_versions_counts_column_is_the_json_of_its_record() -> None:
    version = _version(replace(COUNTS, rolled_back_from=2, rolled_back_to=1))
    row = _stored_row(version)
    assert isinstance(row["counts"], str)
    assert json.loads(row["counts"]) == version.as_json()["counts"]
    assert record_of(IndexVersion, row) == version
    # NULL (a row nobody should have written) reads as counts of nothing.
    assert record_of(IndexVersion, {**row, "counts": None}).counts == VersionCounts()


SCORES = {"hit@5": 1.0, "recall@5": 1.0, "mrr@5": 0.5, "ndcg@5": 0.6309297535714575}


def test_item_scores_read_back_and_read_rows_from_before_generation_metrics() -> None:
    judged = ItemScore(
        item_id="q01",
        status="unchanged",
        retrieved=(("c1", 0.51), ("c2", 0.42)),
        scores=SCORES,
        contested_retrieved=("c2",),
        generation=ItemGeneration({"faithfulness": 1.0}, {"answer_relevancy": "no app answers"}),
    )
    assert ItemScore.from_json(judged.as_json()) == judged
    unjudged = replace(judged, generation=None)
    assert ItemScore.from_json(unjudged.as_json()) == unjudged
    assert list(judged.as_json()) == [
        "item_id",
        "status",
        "retrieved",
        "scores",
        "contested_retrieved",
        "generation",
    ]

    # A row stored before generation metrics: no `generation` key.
    older = {
        "item_id": "q01",
        "status": "resolved",
        "retrieved": [["c1", 0.51], ["c2", 0.42]],
        "scores": SCORES,
        "contested_retrieved": [],
    }
    item = ItemScore.from_json(older)
    assert item.generation is None and item.retrieved == (("c1", 0.51), ("c2", 0.42))
    assert item.as_json() == {**older, "generation": None}


def test_a_results_items_and_generation_columns_are_the_json_of_their_records() -> None:
    item = ItemScore("q01", "resolved", (("c1", 0.51),), SCORES, (), ItemGeneration({"faithfulness": 0.0}))
    result = StoredResult(
        result_id="r1",
        eval_set="sample",
        eval_set_version=1,
        version_hash="h",
        index_version=1,
        config_hash="cfg",
        split="dev",
        k=5,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        metrics={"hit@5": 1.0},
        per_item=(item,),
        generation=GenerationSummary(reason="no LLM judge is configured", calls={"items_asked": 0}),
        superseded_reason=None,
    )
    row = _stored_row(result)
    assert json.loads(str(row["per_item"])) == [item.as_json()]
    assert json.loads(str(row["generation"])) == result.generation.as_json()
    assert record_of(StoredResult, row) == result
