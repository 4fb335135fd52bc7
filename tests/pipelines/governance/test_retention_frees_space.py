"""Retention frees space on a stable corpus: every ingest makes a live baseline, yet after 20 small
ingests only the versions `retention:` keeps are readable, the index folder stops growing, the
served version stays readable, and a baseline on a removed version keeps its metrics and says it
can no longer be re-run."""

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipelines.governance.ingest as governance_ingest
from pipelines.cli.app import app
from pipelines.evaluation import DEV, eval_results
from pipelines.governance.ingest import ingest
from pipelines.governance.versions import removed_index_versions
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.settings import Settings, load_settings
from pipelines.storage import folder_size
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc

KEEP_LAST = 3


def _edit(corpus: Path, round_number: int) -> None:
    """One small edit of a document the eval set does not cite: its baselines stay live."""
    write_doc(
        corpus, "notes.md", procedure_text("notes") + f"\nRevision {round_number} of the shift notes.\n"
    )


@pytest.mark.fleet  # twenty runs in a row (make test runs it)
def test_twenty_small_ingests_keep_only_the_policys_versions(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    add_eval_set(project)
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write(
            f"retention:\n  keep_last: {KEEP_LAST}\n  keep_days: 0\n  live_baselines_per_eval_set: 1\n"
        )
    settings = load_settings()
    lancedb_size: dict[int, int] = {}
    for round_number in range(1, 21):
        _edit(corpus, round_number)
        outcome = ingest(settings, fake_embedder)
        assert outcome.report.index_version is not None, "each edit commits a new index version"
        lancedb_size[round_number] = folder_size(settings.lancedb_uri)

    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    assert latest is not None and latest.index_version == 20
    removed = removed_index_versions(settings)
    readable = set(range(1, 21)) - removed
    # The newest KEEP_LAST; one more may stay when it was committed within the cleanup's clock margin.
    assert {18, 19, 20} <= readable and len(readable) <= KEEP_LAST + 1, readable
    served = ledger.serving_version()
    assert served is not None and served.index_version == 20
    table = ChunkIndex(settings.lancedb_uri).require_table()
    table.checkout("serving")
    assert read_columns(table, ["chunk_id"]).num_rows > 0, "RAG apps reading `serving` still read it"
    assert lancedb_size[20] <= lancedb_size[10] * 1.2, lancedb_size

    # Every ingest left a live baseline: the one on version 1 keeps its metrics, cannot be re-run.
    first = next(r for r in eval_results(ledger, "sample", DEV) if r.index_version == 1)
    assert first.superseded_reason is None and first.metrics
    runner = CliRunner()
    shown = runner.invoke(app, ["evals", "status", "--json"])
    assert shown.exit_code == 0, shown.output
    baselines = {b["index_version"]: b for b in json.loads(shown.output)["baselines"]}
    assert baselines[1]["rerunnable"] is False and baselines[1]["metrics"] == first.metrics
    assert baselines[20]["rerunnable"] is True
    lines = runner.invoke(app, ["evals", "status"]).output.splitlines()
    first_line = next(line for line in lines if line.startswith("  index v1 /"))
    assert "index v1 removed by retention" in first_line and "cannot be re-run" in first_line
    assert "removed" not in next(line for line in lines if line.startswith("  index v20 /"))

    # `index cleanup --older-than-days 0` keeps the latest (also the newest baseline's) and says
    # what it freed.
    cleaned = runner.invoke(app, ["index", "cleanup", "--older-than-days", "0", "--json"])
    assert cleaned.exit_code == 0, cleaned.output
    report = json.loads(cleaned.output)
    assert report["kept"] == [20] and report["cleaned"], report
    assert report["bytes_freed"] > 0
    assert folder_size(settings.lancedb_uri) < lancedb_size[20]


def test_a_retention_failure_after_the_commit_is_a_warning_not_a_failed_run(
    project: Path,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def bucket_gone(settings: Settings) -> None:
        raise OSError("the bucket does not answer")

    monkeypatch.setattr(governance_ingest, "apply_retention", bucket_gone)
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    settings = load_settings()

    with caplog.at_level(logging.WARNING, logger="pipelines.governance.ingest"):
        outcome = ingest(settings, fake_embedder)

    assert outcome.report.index_version is not None and outcome.retention is None
    served = Ledger.of(settings).serving_version()
    assert served is not None and served.index_version == 1, "committed and published all the same"
    assert "Index version 1 is committed" in caplog.text and "the bucket does not answer" in caplog.text


@pytest.mark.fleet  # five runs in a row (make test runs it)
def test_a_tagged_release_outlives_the_policy(project: Path, fake_embedder: FakeEmbedder) -> None:
    """A version a person tagged in LanceDB (a release kept for audits) stays readable when
    `retention:` lets every other old version go."""
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write("retention:\n  keep_last: 1\n  keep_days: 0\n  live_baselines_per_eval_set: 0\n")
    settings = load_settings()
    ingest(settings, fake_embedder)  # v1
    ledger = Ledger.of(settings)
    first = ledger.index_versions()[0]
    ChunkIndex(settings.lancedb_uri).require_table().tags.create("release-2026-q4", first.lance_version)
    for round_number in range(2, 6):
        _edit(corpus, round_number)
        ingest(settings, fake_embedder)
    removed = removed_index_versions(settings)
    assert 1 not in removed and {2, 3} <= removed, removed
    table = ChunkIndex(settings.lancedb_uri).require_table()
    table.checkout("release-2026-q4")
    assert (
        read_columns(table, ["doc_id"]).column("doc_id").to_pylist()
        == ["docs/receiving.md"] * table.count_rows()
    )
