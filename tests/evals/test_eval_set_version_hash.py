"""An eval set version is content-hashed: same inputs, same hash; anything different, a new hash."""

import dataclasses
from pathlib import Path

import pytest

from evals.errors import EvalResolutionError
from evals.resolution import IndexSnapshot, ItemResolution, active_items, resolve_eval_set
from evals.sets import EvalSet, load_eval_set
from tests.evals.index_snapshots import FIXTURES, RETURNS, SAFETY, SAFETY_CHUNKS, snapshot


def test_same_eval_set_and_index_give_the_same_version_hash(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]]
) -> None:
    a = resolve_eval_set(warehouse, snapshot(1, base_docs), None)
    b = resolve_eval_set(load_eval_set(FIXTURES / "warehouse.yaml"), snapshot(1, dict(base_docs)), None)
    assert a.version_hash == b.version_hash
    assert len(a.version_hash) == 64


def test_another_index_version_gives_another_hash(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    again = resolve_eval_set(warehouse, dataclasses.replace(v1, index_version=2), None)
    assert again.version_hash != first.version_hash


def test_a_changed_resolution_gives_another_hash(warehouse: EvalSet, v1: IndexSnapshot) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    without_returns = snapshot(1, {SAFETY: SAFETY_CHUNKS})
    assert resolve_eval_set(warehouse, without_returns, None).version_hash != first.version_hash


def test_an_edited_eval_set_gives_another_hash(warehouse: EvalSet, v1: IndexSnapshot, tmp_path: Path) -> None:
    edited = tmp_path / "warehouse.jsonl"
    text = (FIXTURES / "warehouse.jsonl").read_text(encoding="utf-8")
    edited.write_text(
        text.replace("Where are hard hats required?", "Where must hard hats be worn?"), encoding="utf-8"
    )
    a = resolve_eval_set(warehouse, v1, None)
    b = resolve_eval_set(load_eval_set(edited), v1, None)
    assert a.resolutions == b.resolutions
    assert a.version_hash != b.version_hash


def test_version_is_immutable(warehouse: EvalSet, v1: IndexSnapshot) -> None:
    version = resolve_eval_set(warehouse, v1, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        version.index_version = 7  # type: ignore[misc]
    with pytest.raises(TypeError):
        version.resolutions["r1"] = version.resolutions["r2"]  # type: ignore[index]


def test_stored_resolutions_round_trip_as_the_previous_version(
    warehouse: EvalSet, base_docs: dict[str, tuple[str, ...]], v1: IndexSnapshot
) -> None:
    first = resolve_eval_set(warehouse, v1, None)
    stored = first.as_json()["resolutions"]
    previous = {r["item_id"]: ItemResolution.from_json(r) for r in stored}
    assert previous == dict(first.resolutions)
    second = resolve_eval_set(warehouse, snapshot(2, base_docs, previous=v1), previous)
    assert {r.status for r in second.resolutions.values()} == {"unchanged"}


def test_active_items_refuse_a_version_of_other_eval_set_content(
    warehouse: EvalSet, v1: IndexSnapshot, tmp_path: Path
) -> None:
    version = resolve_eval_set(warehouse, v1, None)
    edited = tmp_path / "warehouse.jsonl"
    edited.write_text(
        (FIXTURES / "warehouse.jsonl").read_text(encoding="utf-8").replace("30 calendar", "31 calendar")
    )
    with pytest.raises(EvalResolutionError, match="re-resolve"):
        active_items(version, load_eval_set(edited))


def test_orphaned_detail_names_the_index_version(warehouse: EvalSet) -> None:
    version = resolve_eval_set(warehouse, snapshot(4, {SAFETY: SAFETY_CHUNKS}), None)
    assert version.resolutions["r1"].status == "orphaned"
    assert f"{RETURNS} not indexed at index v4" in version.resolutions["r1"].detail
