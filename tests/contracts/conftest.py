from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "contracts"


@pytest.fixture
def fixture_contract() -> Callable[[str], Path]:
    """Path of a contract under tests/fixtures/contracts, by stem."""

    def path_of(stem: str) -> Path:
        path = FIXTURES / f"{stem}.odcs.yaml"
        assert path.exists(), path
        return path

    return path_of
