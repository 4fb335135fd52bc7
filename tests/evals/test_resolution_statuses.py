"""Re-resolving an eval set when the index changes: each status from a hand-made pair of snapshots."""

from evals.resolution import IndexSnapshot, active_items, changed_share, changelog, resolve_eval_set
from evals.sets import EvalSet
from tests.evals.index_snapshots import RETURNS, RETURNS_CHUNKS, SAFETY, SAFETY_CHUNKS, chunk, snapshot

FAQ = "docs/faq.md"


def test_first_version_resolves_every_gold_passage_to_its_chunk(
    warehouse: EvalSet, v1: IndexSnapshot
) -> None:
    version = resolve_eval_set(warehouse, v1, None)
    assert {r.status for r in version.resolutions.values()} == {"resolved"}
    assert version.resolutions["r1"].gold_chunk_ids == (chunk(RETURNS, RETURNS_CHUNKS[0]).chunk_id,)
    assert version.resolutions["r2"].gold_chunk_ids == (chunk(SAFETY, SAFETY_CHUNKS[0]).chunk_id,)
    assert version.resolutions["r3"].gold_chunk_ids == (chunk(SAFETY, SAFETY_CHUNKS[1]).chunk_id,)
    assert version.index_version == 1
    assert version.eval_set_hash == warehouse.content_hash


def test_nothing_changed_leaves_every_item_unchanged(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    second = resolve_eval_set(warehouse, snapshot(2, base_docs, previous=v1), first.resolutions)
    assert {r.status for r in second.resolutions.values()} == {"unchanged"}
    assert changed_share(second) == 0.0


def test_near_duplicate_added_in_another_document_contests_the_item(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    # One word differs from the gold passage ("can" for "may"), and the case and spacing differ.
    copied = (
        "FAQ. Customers can return  unopened items within 30 calendar days of delivery for a full refund!"
    )
    v2 = snapshot(2, {**base_docs, FAQ: (copied,)}, previous=v1)
    second = resolve_eval_set(warehouse, v2, first.resolutions)

    r1 = second.resolutions["r1"]
    assert r1.status == "contested"
    assert r1.contested_by == (chunk(FAQ, copied).chunk_id,)
    assert r1.gold_chunk_ids == first.resolutions["r1"].gold_chunk_ids
    assert second.resolutions["r2"].status == "unchanged"
    assert "r1" in [i.id for i in active_items(second, warehouse)]


def test_an_unrelated_new_document_contests_nothing(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    related = "Customers who return items late get store credit instead of a refund to the payment method."
    v2 = snapshot(2, {**base_docs, FAQ: (related,)}, previous=v1)
    second = resolve_eval_set(warehouse, v2, first.resolutions)
    assert second.resolutions["r1"].status == "unchanged"
    assert second.resolutions["r1"].contested_by == ()


def test_competitor_stays_recorded_after_the_version_that_added_it(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    copied = "Customers may return unopened items within 30 calendar days of delivery for a full refund."
    v2 = snapshot(2, {**base_docs, FAQ: (copied,)}, previous=v1)
    v3 = snapshot(3, {**base_docs, FAQ: (copied,)}, previous=v2)
    second = resolve_eval_set(warehouse, v2, resolve_eval_set(warehouse, v1, None).resolutions)
    third = resolve_eval_set(warehouse, v3, second.resolutions)
    assert third.resolutions["r1"].status == "unchanged"
    assert third.resolutions["r1"].contested_by == (chunk(FAQ, copied).chunk_id,)


def test_gold_document_edited_so_the_passage_is_gone_makes_the_item_stale_and_inactive(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    edited = (
        "# Returns policy\n\nUnopened items can be sent back within 14 days for store credit.",
        RETURNS_CHUNKS[1],
    )
    v2 = snapshot(2, {**base_docs, RETURNS: edited}, previous=v1)
    second = resolve_eval_set(warehouse, v2, first.resolutions)

    r1 = second.resolutions["r1"]
    assert r1.status == "stale"
    assert r1.gold_chunk_ids == ()
    assert RETURNS in r1.detail and "excluded" in r1.detail
    assert [i.id for i in active_items(second, warehouse)] == ["r2"]


def test_removed_gold_document_orphans_the_item(warehouse: EvalSet, v1: IndexSnapshot) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    v2 = snapshot(2, {SAFETY: SAFETY_CHUNKS}, previous=v1)
    second = resolve_eval_set(warehouse, v2, first.resolutions)
    assert second.resolutions["r1"].status == "orphaned"
    assert RETURNS in second.resolutions["r1"].detail
    assert "r1" not in [i.id for i in active_items(second, warehouse)]


def test_rechunking_that_moves_the_passage_remaps_the_item(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    rechunked = (
        "# Returns policy",
        "Customers may return unopened items within 30 calendar days of delivery for a full refund.",
        "The refund goes to the original payment method. " + RETURNS_CHUNKS[1],
    )
    v2 = snapshot(2, {**base_docs, RETURNS: rechunked}, previous=v1)
    second = resolve_eval_set(warehouse, v2, first.resolutions)
    r1 = second.resolutions["r1"]
    assert r1.status == "remapped"
    assert r1.gold_chunk_ids == (chunk(RETURNS, rechunked[1]).chunk_id,)
    assert second.resolutions["r2"].status == "unchanged"


def test_passage_spanning_a_chunk_boundary_resolves_to_both_chunks(warehouse: EvalSet) -> None:
    split = (
        "# Returns policy\n\nCustomers may return unopened items within 30 calendar",
        "days of delivery for a full refund. The refund goes to the original payment method.",
    )
    index = snapshot(1, {RETURNS: split, SAFETY: SAFETY_CHUNKS})
    r1 = resolve_eval_set(warehouse, index, None).resolutions["r1"]
    assert r1.status == "resolved"
    assert r1.gold_chunk_ids == tuple(chunk(RETURNS, text).chunk_id for text in split)


def test_passage_spanning_overlapping_chunks_resolves(warehouse: EvalSet) -> None:
    # The chunker repeated "within 30 calendar days" at the start of the second chunk.
    overlapping = (
        "# Returns policy\n\nCustomers may return unopened items within 30 calendar days",
        "within 30 calendar days of delivery for a full refund. The refund goes to the original payment method.",
    )
    index = snapshot(1, {RETURNS: overlapping, SAFETY: SAFETY_CHUNKS})
    r1 = resolve_eval_set(warehouse, index, None).resolutions["r1"]
    assert r1.status == "resolved"
    assert r1.gold_chunk_ids == tuple(chunk(RETURNS, text).chunk_id for text in overlapping)


def test_passage_matches_despite_case_and_whitespace(warehouse: EvalSet) -> None:
    styled = ("CUSTOMERS  may return\nunopened items within 30 calendar days of delivery for a full refund.",)
    index = snapshot(1, {RETURNS: styled, SAFETY: SAFETY_CHUNKS})
    assert resolve_eval_set(warehouse, index, None).resolutions["r1"].status == "resolved"


def test_changelog_lists_items_by_status(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    v2 = snapshot(2, {SAFETY: SAFETY_CHUNKS}, previous=v1)
    log = changelog(resolve_eval_set(warehouse, v2, first.resolutions))
    assert log["orphaned"] == ["r1"]
    assert log["unchanged"] == ["r2", "r3"]
    assert log["stale"] == [] and log["contested"] == []


def test_holdout_items_are_active_only_when_asked(warehouse: EvalSet, v1: IndexSnapshot) -> None:
    version = resolve_eval_set(warehouse, v1, None)
    assert [i.id for i in active_items(version, warehouse)] == ["r1", "r2"]
    assert [i.id for i in active_items(version, warehouse, splits=("dev", "holdout"))] == ["r1", "r2", "r3"]
