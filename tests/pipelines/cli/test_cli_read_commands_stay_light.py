"""Read commands start fast: they never import Great Expectations, torch, unstructured or ragas
(seconds each), and `status` does not even import LanceDB. Checked on what a command loads, not on
the clock (bench/startup.py times them)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.governance.ingest import ingest
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, prepared, procedure_text, write_doc

HEAVY = ("great_expectations", "torch", "unstructured", "ragas", "sentence_transformers", "transformers")
_PROBE = """
import json, sys
sys.argv = ["corpusgov", *json.loads(sys.argv[1])]
from pipelines.cli.app import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


def _loaded(args: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["documents", "--json"],
        ["quarantine", "list"],
        ["index", "versions"],
        ["evals", "status"],
        ["evals", "lint"],
        ["--help"],
        ["doctor", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_read_commands_load_nothing_heavy(project: Path, args: list[str]) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    prepared(project, "receiving-ingested", lambda: run_ingestion(load_settings(), FakeEmbedder()))
    loaded = _loaded(args)
    assert not loaded & set(HEAVY), f"{' '.join(args)} imported {sorted(loaded & set(HEAVY))}"
    if args == ["status"]:
        assert "lancedb" not in loaded, "status reads manifest names, not the table"


def test_a_no_op_ingest_opens_neither_the_model_nor_lancedb(project: Path) -> None:
    """What a schedule runs most: nothing changed, so no torch, no GE, and no LanceDB import (the
    ledger and the table's file names show no interrupted writer)."""
    from pipelines.embedding.backends import embedder_from_settings

    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()
    # The model id the CLI's default backend records, with the fake's vectors; committed and
    # published, as `corpusgov ingest` leaves it.
    ingest(settings, FakeEmbedder(model_id=embedder_from_settings(settings).model_id))
    loaded = _loaded(["ingest"])
    assert not loaded & {*HEAVY, "lancedb"}, sorted(loaded & {*HEAVY, "lancedb"})
    assert "openvino" in loaded, "the probe ran the ingest (it resolved the backend's precision)"
