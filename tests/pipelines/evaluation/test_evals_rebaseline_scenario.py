"""The failure corpusgov prevents: an index change silently invalidating a benchmark.

Baseline on index v1; then near-duplicates of three gold passages enter, two gold documents change,
one is deleted → v2. The eval set is re-versioned with exactly those items contested / stale /
orphaned, a plain comparison is refused, and the decomposition attributes the change.
"""

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from evals import IncomparableResultsError
from pipelines.evaluation import (
    DEV,
    HOLDOUT,
    compare_index_versions,
    eval_results,
    eval_versions,
    holdout_exposures,
    item_resolutions,
    rebaseline,
    reversion_eval_sets,
)
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import REPO_ROOT, FakeEmbedder, prepared, write_doc

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = pytest.mark.usefixtures("ledger_backend")


EVAL_SET = REPO_ROOT / "examples" / "evals" / "sample.jsonl"
CONTESTED = ("q01", "q02", "q03")
STALE = {"q04": None, "q05": None}
ORPHANED = "q06"


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO_ROOT / "examples" / "corpus", tmp_path / "corpus")
    shutil.copyfile(EVAL_SET, tmp_path / "sample.jsonl")
    (tmp_path / "corpusgov.yaml").write_text(
        "data_dir: data\nsources:\n  - name: sample\n    path: corpus\n"
        f"    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
        "evals:\n  sets:\n    - name: sample\n      path: sample.jsonl\n  k: 5\n"
    )
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(tmp_path / "corpusgov.yaml"))
    return tmp_path


def first_ingest(sample: Path, embedder: FakeEmbedder) -> None:
    """A test's first `run_ingestion` of the sample corpus (27 files, PDFs and DOCX among them, a
    few seconds of parsing): on DuckDB, run once and copied into the next test that starts there."""
    prepared(sample, "sample-ingested", lambda: run_ingestion(load_settings(), embedder))


def items() -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, EVAL_SET.read_text().splitlines())}


def text_gold_items() -> list[str]:
    """Dev items whose gold document is Markdown or text: easy to edit in place."""
    return [
        i
        for i, row in items().items()
        if row["split"] == "dev" and row["gold"][0]["doc_id"].endswith((".md", ".txt"))
    ]


def remove_passage(path: Path, passage: str) -> None:
    pattern = r"\s+".join(re.escape(word) for word in passage.split())
    text, count = re.subn(pattern, "This paragraph was rewritten and no longer says that.", path.read_text())
    assert count == 1, f"passage not found in {path}"
    path.write_text(text)


def test_index_change_reversions_the_eval_set_and_nothing_reports_a_silent_regression(
    sample: Path, fake_embedder: FakeEmbedder
) -> None:
    settings = load_settings()
    first_ingest(sample, fake_embedder)
    first = reversion_eval_sets(settings, fake_embedder)
    assert len(first) == 1 and first[0].version.number == 1
    assert first[0].result is not None and first[0].result.index_version == 1
    assert "hit@5" in first[0].result.metrics

    catalogue = items()
    editable = text_gold_items()
    stale, orphaned = editable[:2], editable[2]
    contested = [i for i in catalogue if catalogue[i]["split"] == "dev" and i not in (*stale, orphaned)][:3]
    for item_id in contested:
        passage = catalogue[item_id]["gold"][0]["passage"]
        write_doc(
            sample / "corpus",
            f"copies/{item_id}.md",
            f"# Reposted note {item_id}\n\nFrom the team wiki: {passage}\n\nPosted for convenience.\n",
        )
    for item_id in stale:
        gold = catalogue[item_id]["gold"][0]
        remove_passage(sample / "corpus" / gold["doc_id"].removeprefix("sample/"), gold["passage"])
    (sample / "corpus" / catalogue[orphaned]["gold"][0]["doc_id"].removeprefix("sample/")).unlink()

    report = run_ingestion(settings, fake_embedder)
    assert report.index_version.index_version == 2
    second = reversion_eval_sets(settings, fake_embedder)

    version = second[0].version
    assert version.number == 2 and version.index_version == 2
    assert sorted(version.changelog["contested"]) == sorted(contested)
    assert sorted(version.changelog["stale"]) == sorted(stale)
    assert version.changelog["orphaned"] == [orphaned]
    assert version.active_items == 15 - 3
    rows = {r.item_id: r for r in item_resolutions(Ledger.of(settings), version.version_hash)}
    assert all(rows[i].contested_by for i in contested)

    with pytest.raises(IncomparableResultsError, match="eval set version"):
        compare_index_versions(settings, fake_embedder, "sample", 1, 2, split_delta=False)
    split = compare_index_versions(settings, fake_embedder, "sample", 1, 2, split_delta=True)
    delta = split.deltas["hit@5"]
    assert delta.eval_set_changed + delta.index_changed == pytest.approx(delta.total)

    # 6 of 15 items changed status (40% > 20%): the v1 baseline is superseded, and said so.
    assert second[0].superseded_previous
    results = eval_results(Ledger.of(settings), "sample", DEV)
    assert [r.index_version for r in results] == [2, 1]
    assert results[1].superseded_reason and "changed status" in results[1].superseded_reason
    assert second[0].event and "re-baselined" in second[0].event


def test_a_no_op_ingest_creates_no_eval_set_version(sample: Path, fake_embedder: FakeEmbedder) -> None:
    settings = load_settings()
    first_ingest(sample, fake_embedder)
    reversion_eval_sets(settings, fake_embedder)
    run_ingestion(settings, fake_embedder)
    assert reversion_eval_sets(settings, fake_embedder) == []
    assert len(eval_versions(Ledger.of(settings), "sample")) == 1


def test_small_change_reuses_unaffected_items(sample: Path, fake_embedder: FakeEmbedder) -> None:
    settings = load_settings()
    first_ingest(sample, fake_embedder)
    reversion_eval_sets(settings, fake_embedder)
    write_doc(
        sample / "corpus",
        "misc/parking.md",
        "# Parking\n\nVisitor parking is behind building C; staff park in the north lot after 7am.\n",
    )
    run_ingestion(settings, fake_embedder)
    again = reversion_eval_sets(settings, fake_embedder)[0]
    assert not again.superseded_previous
    assert again.version.changelog["unchanged"], "nothing about the gold passages changed"
    assert again.reused_items > 0
    assert again.reused_items + again.rescored_items == 12


def test_holdout_stays_out_of_routine_results_and_exposures_are_counted(
    sample: Path, fake_embedder: FakeEmbedder
) -> None:
    settings = load_settings()
    first_ingest(sample, fake_embedder)
    reversion_eval_sets(settings, fake_embedder)
    ledger = Ledger.of(settings)
    dev = eval_results(ledger, "sample", DEV)[0]
    holdout_ids = {i for i, row in items().items() if row["split"] == "holdout"}
    assert not holdout_ids & {row.item_id for row in dev.per_item}
    assert eval_results(ledger, "sample", HOLDOUT) == []
    assert holdout_exposures(ledger, "sample") == {}

    rebaseline(settings, fake_embedder, "sample", split=HOLDOUT)
    rebaseline(settings, fake_embedder, "sample", split=HOLDOUT)
    assert holdout_exposures(ledger, "sample") == {i: 2 for i in holdout_ids}


def test_cli_evals_commands(
    sample: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import pipelines.cli.evals as cli_evals
    import pipelines.cli.ingest as cli_ingest
    from pipelines.cli.app import app

    monkeypatch.setattr(cli_ingest, "embedder_from_settings", lambda *_: fake_embedder)
    monkeypatch.setattr(cli_evals, "embedder_from_settings", lambda *_: fake_embedder)
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", "--json"])
    assert first.exit_code == 0, first.stdout
    assert json.loads(first.stdout)["eval_sets"][0]["version"] == 1
    gold = items()["q06"]["gold"][0]["doc_id"].removeprefix("sample/")
    (sample / "corpus" / gold).unlink()
    assert runner.invoke(app, ["ingest"]).exit_code == 0

    status_text = runner.invoke(app, ["evals", "status", "--json"]).stdout
    status = json.loads(status_text)
    assert status["latest_version"]["version"] == 2
    assert status["latest_version"]["changelog"]["orphaned"] == ["q06"]
    holdout_ids = {i for i, row in items().items() if row["split"] == "holdout"}
    assert holdout_ids and not any(f'"{i}"' in status_text for i in holdout_ids), "holdout ids never shown"
    assert sum(status["latest_version"]["holdout_by_status"].values()) == len(holdout_ids)
    plain = runner.invoke(app, ["evals", "status"]).stdout
    assert not any(f" {i}," in plain or plain.rstrip().endswith(i) for i in holdout_ids)
    assert all(r["split"] == "dev" for r in status["baselines"])
    diff = json.loads(runner.invoke(app, ["evals", "diff", "1", "2", "--json"]).stdout)
    assert {r["item_id"]: r["status"] for r in diff["items"]}["q06"] == "orphaned"
    assert all(r["split"] == "dev" for r in diff["items"]), "holdout never appears in routine output"
    refused = runner.invoke(app, ["evals", "compare", "1", "2"])
    assert refused.exit_code == 1
    decomposed = runner.invoke(app, ["evals", "compare", "1", "2", "--decompose", "--json"])
    assert decomposed.exit_code == 0 and json.loads(decomposed.stdout)["decomposed"] is True


def test_a_rebaseline_is_alerted_with_its_reason(sample: Path, fake_embedder: FakeEmbedder) -> None:
    from pipelines.governance.alerts import dispatch_alerts

    config = sample / "corpusgov.yaml"
    config.write_text(config.read_text() + f"alerts:\n  - kind: file\n    path: {sample / 'alerts.jsonl'}\n")
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    reversion_eval_sets(settings, fake_embedder)
    for item_id in text_gold_items()[:4]:
        (sample / "corpus" / items()[item_id]["gold"][0]["doc_id"].removeprefix("sample/")).unlink()
    run_ingestion(settings, fake_embedder)
    reversion_eval_sets(settings, fake_embedder)

    dispatch_alerts(settings)

    lines = [json.loads(line) for line in (sample / "alerts.jsonl").read_text().splitlines()]
    rebaselines = [line for line in lines if line["kind"] == "eval_rebaseline"]
    assert len(rebaselines) == 1
    assert "orphaned" in rebaselines[0]["message"] and "superseded" in rebaselines[0]["message"]


def test_an_eval_question_copied_into_the_corpus_is_flagged(
    sample: Path, fake_embedder: FakeEmbedder
) -> None:
    settings = load_settings()
    first_ingest(sample, fake_embedder)
    first = reversion_eval_sets(settings, fake_embedder)[0]
    assert first.contaminated == {}
    question = items()["q07"]["question"]
    write_doc(
        sample / "corpus",
        "faq/leaked.md",
        f"# Team quiz\n\nQuiz question of the week: {question}\n\nAnswers on Friday.\n",
    )
    run_ingestion(settings, fake_embedder)
    second = reversion_eval_sets(settings, fake_embedder)[0]
    assert list(second.contaminated) == ["q07"]
    rows = {r.item_id: r for r in item_resolutions(Ledger.of(settings), second.version.version_hash)}
    assert rows["q07"].contaminated_by


def test_amplification_compares_ai_share_in_results_with_the_corpus(
    sample: Path, fake_embedder: FakeEmbedder
) -> None:
    from pipelines.evaluation import amplification

    settings = load_settings()
    first_ingest(sample, fake_embedder)
    result = reversion_eval_sets(settings, fake_embedder)[0].result
    amp = amplification(settings, result)
    # The sample corpus has two AI-declared documents among ~27 indexed ones.
    assert 0.0 < amp.corpus_share < 0.2
    assert 0.0 <= amp.retrieved_share <= 1.0
    assert amp.ratio == pytest.approx(amp.retrieved_share / amp.corpus_share)


def test_cleanup_keeps_versions_a_live_baseline_needs(sample: Path, fake_embedder: FakeEmbedder) -> None:
    from datetime import timedelta

    from pipelines.governance.catalog import search_corpus
    from pipelines.governance.versions import cleanup_index
    from pipelines.index.reconciliation import reconcile

    settings = load_settings()
    first_ingest(sample, fake_embedder)  # v1: baseline, then superseded below
    reversion_eval_sets(settings, fake_embedder)
    time.sleep(1)  # versions apart by more than the cleanup's clock margin
    for item_id in text_gold_items()[:4]:
        (sample / "corpus" / items()[item_id]["gold"][0]["doc_id"].removeprefix("sample/")).unlink()
    run_ingestion(settings, fake_embedder)  # v2: live baseline
    reversion_eval_sets(settings, fake_embedder)
    write_doc(
        sample / "corpus", "misc/parking.md", "# Parking\n\nVisitors park behind building C near the gate.\n"
    )
    run_ingestion(settings, fake_embedder)  # v3: latest, not yet baselined

    result = cleanup_index(settings, timedelta(0))

    assert result.cleaned == (1,), "v1's baseline is superseded: its version may go"
    assert set(result.kept) == {2, 3}
    assert search_corpus(settings, fake_embedder, "parking", k=1, as_of=2) is not None
    assert reconcile(settings).consistent
    report = run_ingestion(settings, fake_embedder)
    assert not report.changed, "compaction is not a change"
