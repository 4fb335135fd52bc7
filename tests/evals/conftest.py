"""Fixtures for the eval tests: the warehouse eval set and its first index snapshot."""

import pytest

from evals.resolution import IndexSnapshot
from evals.sets import EvalSet, load_eval_set
from tests.evals.index_snapshots import FIXTURES, RETURNS, RETURNS_CHUNKS, SAFETY, SAFETY_CHUNKS, snapshot


@pytest.fixture
def warehouse() -> EvalSet:
    return load_eval_set(FIXTURES / "warehouse.jsonl")


@pytest.fixture
def base_docs() -> dict[str, tuple[str, ...]]:
    return {RETURNS: RETURNS_CHUNKS, SAFETY: SAFETY_CHUNKS}


@pytest.fixture
def v1(base_docs: dict[str, tuple[str, ...]]) -> IndexSnapshot:
    return snapshot(1, base_docs)
