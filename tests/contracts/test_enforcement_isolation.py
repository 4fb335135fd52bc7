import socket
import subprocess
import sys

import numpy
import pandas

from contracts import STRICT_CONTRACT_PATH, load_contract
from contracts.enforcement import _validation_runtime, enforce_contract


def corpus(rows: int) -> pandas.DataFrame:
    rng = numpy.random.default_rng(7)
    return pandas.DataFrame(
        {
            "doc_id": [f"doc-{i}" for i in range(rows)],
            "mime_type": rng.choice(["text/plain", "application/zip"], rows, p=[0.95, 0.05]),
            "text_chars": rng.integers(100, 600_000, rows),
            "language": rng.choice(["en", "de", "fr", None], rows, p=[0.6, 0.3, 0.05, 0.05]),
            "grade": rng.choice(["A", "B", "C", "F"], rows),
            "title": rng.choice(["T", None], rows, p=[0.95, 0.05]),
            "author": "A",
            "modified": "2024-01-01",
            "duplicate_of": None,
        }
    )


def test_enforcement_opens_no_network_connection_and_prints_no_progress(monkeypatch, capfd) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network connection attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _validation_runtime.cache_clear()  # context creation is covered too

    verdict = enforce_contract(load_contract(STRICT_CONTRACT_PATH), corpus(50))

    assert verdict.checked == 50
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err


def test_context_is_created_once_per_process() -> None:
    contract = load_contract(STRICT_CONTRACT_PATH)
    enforce_contract(contract, corpus(5))
    first = _validation_runtime()
    enforce_contract(contract, corpus(5))
    assert _validation_runtime() is first


def test_contracts_package_imports_neither_dagster_nor_pipelines() -> None:
    probe = (
        "import sys, contracts, contracts.enforcement; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'pipelines'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
