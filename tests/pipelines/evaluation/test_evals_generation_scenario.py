"""Generation metrics bound to the same keys as retrieval, judged by a fake OpenAI-compatible
server on 127.0.0.1 (tests/evals/judge_server.py), on the sample corpus.

- A phantom faithfulness drop: faithful items go stale, the mean over the rest falls, and the
  decomposition puts all of it on the eval set change; no regression is alerted.
- A real drop: chunks that outrank the gold evidence enter the index, the app's answers lose
  their support, and the decomposition puts it on the index: a regression is alerted.
- A small change re-asks the judge only about the items it touched; another judge makes results
  incomparable; a judge that is down or refuses leaves generation "not measured", never 0.
"""

import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals import IncomparableResultsError
from evals.comparison import Decomposition
from evals.generation import GenerationSummary
from pipelines.evaluation import (
    DEV,
    StoredResult,
    compare_index_versions,
    eval_results,
    rebaseline,
    reversion_eval_sets,
)
from pipelines.ledger import Ledger
from pipelines.ledger.alerts import alert_inputs
from pipelines.ledger.evals import LedgerJudgeCache
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import REPO_ROOT, FakeEmbedder, write_doc
from tests.evals.judge_server import FakeJudgeServer
from tests.pipelines.evaluation.test_evals_rebaseline_scenario import EVAL_SET, items, remove_passage

KEY_VARIABLE = "CORPUSGOV_TEST_JUDGE_KEY"
INVENTED = "Requests of this kind are approved by the regional director within one quarter."
# Faithful answers (the gold passage) to these; an invented answer to the rest.
EDITABLE = ("q01", "q02", "q03", "q06", "q07", "q08")


@pytest.fixture
def judge_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as server:
        monkeypatch.setenv(KEY_VARIABLE, server.api_key)
        yield server


def project(root: Path, server: FakeJudgeServer, k: int = 5, base_url: str | None = None) -> Settings:
    """The sample corpus with a judge and a JSONL of the app's answers."""
    if not (root / "corpus").exists():
        shutil.copytree(REPO_ROOT / "examples" / "corpus", root / "corpus")
        shutil.copyfile(EVAL_SET, root / "sample.jsonl")
        lines = [
            json.dumps({"id": i, "answer": row["gold"][0]["passage"] if i in EDITABLE else INVENTED})
            for i, row in items().items()
        ]
        (root / "answers.jsonl").write_text("\n".join(lines) + "\n")
    (root / "corpusgov.yaml").write_text(
        "data_dir: data\nsources:\n  - name: sample\n    path: corpus\n"
        f"    contract: {REPO_ROOT / 'contracts' / 'default.odcs.yaml'}\n"
        f"evals:\n  sets:\n    - name: sample\n      path: sample.jsonl\n  k: {k}\n  rebaseline_share: 0.5\n"
        f"  judge:\n    base_url: {base_url or server.base_url}\n    model: {server.model}\n"
        f"    api_key: ${{{KEY_VARIABLE}}}\n    retry_base_seconds: 0.01\n    max_retries: 1\n"
        "  answers: answers.jsonl\n"
    )
    return load_settings(root / "corpusgov.yaml")


def faithfulness_by_item(result: StoredResult) -> dict[str, float]:
    return {
        row.item_id: row.generation.scores["faithfulness"]
        for row in result.per_item
        if row.generation is not None and "faithfulness" in row.generation.scores
    }


def baseline(settings: Settings, embedder: FakeEmbedder) -> StoredResult:
    reversions = reversion_eval_sets(settings, embedder)
    assert reversions and reversions[0].result is not None
    return reversions[0].result


def events(settings: Settings) -> list[tuple[str, str, dict]]:
    return [(e.kind, e.message, e.details) for e in alert_inputs(Ledger.of(settings)).eval_events]


@pytest.mark.usefixtures("ledger_backend")
def test_a_phantom_faithfulness_drop_is_put_on_the_eval_set_change(
    tmp_path: Path, judge_server: FakeJudgeServer, fake_embedder: FakeEmbedder
) -> None:
    settings = project(tmp_path, judge_server)
    run_ingestion(settings, fake_embedder)
    first = baseline(settings, fake_embedder)
    assert first.generation.measured and first.judge.startswith("fake-judge@")
    assert first.answers_fingerprint.startswith("jsonl:")
    assert set(first.generation.means) == {
        "faithfulness",
        "answer_relevancy",
        "llm_context_precision_with_reference",
        "llm_context_recall",
    }
    before = faithfulness_by_item(first)
    faithful = [i for i in EDITABLE if before.get(i) == 1.0]
    assert len(faithful) >= 3 and min(before.values()) == 0.0, before

    catalogue = items()
    for item_id in faithful[:3]:
        gold = catalogue[item_id]["gold"][0]
        remove_passage(tmp_path / "corpus" / gold["doc_id"].removeprefix("sample/"), gold["passage"])
    run_ingestion(settings, fake_embedder)
    second = baseline(settings, fake_embedder)

    drop = second.metrics["faithfulness"] - first.metrics["faithfulness"]
    assert drop < -settings.evals.regression_threshold, (first.metrics, second.metrics)
    kinds = {kind: (message, details) for kind, message, details in events(settings)}
    assert "regression" not in kinds
    message, details = kinds["index_change_delta"]
    split = details["decomposition"]["faithfulness"]
    assert split["eval_set_changed"] == pytest.approx(drop, abs=1e-4)
    assert split["index_changed"] == pytest.approx(0.0, abs=1e-4)
    assert "explained by the eval set changing, not a regression" in message
    assert "faithfulness" in message

    outcome = compare_index_versions(settings, fake_embedder, "sample", 1, 2, split_delta=True)
    assert isinstance(outcome, Decomposition)
    assert outcome.deltas["faithfulness"].eval_set_changed == pytest.approx(drop, abs=1e-4)


def next_sentence(root: Path, item_id: str) -> tuple[Path, str]:
    """The gold document and the sentence that follows the gold passage in it."""
    gold = items()[item_id]["gold"][0]
    path = root / "corpus" / gold["doc_id"].removeprefix("sample/")
    flat = " ".join(path.read_text().split())
    after = flat[flat.index(" ".join(gold["passage"].split())) + len(" ".join(gold["passage"].split())) :]
    found = re.match(r"\s*([A-Z][^.!?]{20,}[.!?])", after)
    assert found, f"no sentence after the passage of {item_id}"
    return path, found.group(1)


def test_a_drop_the_index_causes_is_alerted_as_a_regression(
    tmp_path: Path, judge_server: FakeJudgeServer, fake_embedder: FakeEmbedder
) -> None:
    """The app's answers quote the gold passage and the sentence after it; the index loses that
    sentence (the passage stays, retrieval does not move): faithfulness alone falls."""
    settings = project(tmp_path, judge_server)
    extended = {i: next_sentence(tmp_path, i) for i in ("q01", "q02", "q03", "q07", "q08")}
    lines = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    for line in lines:
        if line["id"] in extended:
            line["answer"] = f"{line['answer']} {extended[line['id']][1]}"
    (tmp_path / "answers.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    run_ingestion(settings, fake_embedder)
    first = baseline(settings, fake_embedder)
    supported = [i for i, score in faithfulness_by_item(first).items() if i in extended and score == 1.0]
    assert len(supported) >= 3, faithfulness_by_item(first)
    for item_id in supported:
        path, sentence = extended[item_id]
        remove_passage(path, sentence)
    run_ingestion(settings, fake_embedder)
    second = baseline(settings, fake_embedder)

    assert abs(second.metrics["ndcg@5"] - first.metrics["ndcg@5"]) <= settings.evals.regression_threshold
    assert second.metrics["faithfulness"] < first.metrics["faithfulness"] - 0.1
    regressions = [(m, d) for kind, m, d in events(settings) if kind == "regression"]
    assert len(regressions) == 1
    message, details = regressions[0]
    assert "regression caused by the index" in message and "faithfulness" in message
    assert "ndcg" not in message, "retrieval did not move"
    split = details["decomposition"]["faithfulness"]
    assert split["eval_set_changed"] == pytest.approx(0.0, abs=1e-4)
    assert split["index_changed"] < -0.1


def test_a_small_change_re_asks_the_judge_only_about_the_items_it_touched(
    tmp_path: Path, judge_server: FakeJudgeServer, fake_embedder: FakeEmbedder
) -> None:
    settings = project(tmp_path, judge_server)
    run_ingestion(settings, fake_embedder)
    first = baseline(settings, fake_embedder)
    assert first.generation.calls["made"] == judge_server.answered > 0
    gold = items()["q08"]["gold"][0]["doc_id"].removeprefix("sample/")
    with (tmp_path / "corpus" / gold).open("a") as doc:
        doc.write("\nIf the VPN client still fails after these steps, open a ticket with the service desk.\n")
    run_ingestion(settings, fake_embedder)
    second = baseline(settings, fake_embedder)

    retrieved_before = {row.item_id: row.retrieved for row in first.per_item}
    touched = [row.item_id for row in second.per_item if row.retrieved != retrieved_before.get(row.item_id)]
    calls = second.generation.calls
    per_item = 2 + 1 + settings.evals.k + 1  # faithfulness, relevancy, precision per context, recall
    assert 1 <= len(touched) < len(second.per_item)
    assert 0 < calls["made"] <= per_item * len(touched)
    assert calls["cached"] >= per_item * (len(second.per_item) - len(touched)) - per_item
    assert calls["made"] < first.generation.calls["made"] / 3


def test_another_judge_makes_results_incomparable_but_retrieval_still_decomposes(
    tmp_path: Path,
    judge_server: FakeJudgeServer,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = project(tmp_path, judge_server)
    run_ingestion(settings, fake_embedder)
    baseline(settings, fake_embedder)
    # The same server under another name: another judge as far as any result can tell.
    settings = project(
        tmp_path, judge_server, base_url=judge_server.base_url.replace("127.0.0.1", "localhost")
    )
    write_doc(
        tmp_path / "corpus", "misc/parking.md", "# Parking\n\nVisitors park behind building C after 7am.\n"
    )
    run_ingestion(settings, fake_embedder)
    second = baseline(settings, fake_embedder)
    first = eval_results(Ledger.of(settings), "sample", DEV)[-1]
    assert second.judge != first.judge

    with pytest.raises(IncomparableResultsError, match="judge differs"):
        compare_index_versions(settings, fake_embedder, "sample", 1, 2, split_delta=False)
    outcome = compare_index_versions(settings, fake_embedder, "sample", 1, 2, split_delta=True)
    assert isinstance(outcome, Decomposition)
    assert "hit@5" in outcome.deltas and "faithfulness" not in outcome.deltas
    assert "judge changed" in outcome.refused["faithfulness"]

    # The same, as the CLI says it.
    from typer.testing import CliRunner

    import pipelines.cli.evals as cli_evals
    from pipelines.cli.app import app

    monkeypatch.setattr(cli_evals, "embedder_from_settings", lambda *_: fake_embedder)
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(tmp_path / "corpusgov.yaml"))
    runner = CliRunner()
    refused = runner.invoke(app, ["evals", "compare", "1", "2"])
    assert refused.exit_code != 0 and "judge differs" in refused.output
    split = runner.invoke(app, ["evals", "compare", "1", "2", "--decompose"])
    assert split.exit_code == 0, split.output
    assert "faithfulness" in split.output and "not decomposed: the judge changed" in split.output
    status = runner.invoke(app, ["evals", "status"])
    assert "generation: faithfulness=" in status.output and "calls made" in status.output
    payload = json.loads(runner.invoke(app, ["evals", "status", "--json"]).stdout)
    assert payload["baselines"][0]["judge"] == second.judge
    assert payload["baselines"][0]["generation"]["calls"]["made"] == second.generation.calls["made"] > 0


@pytest.mark.parametrize("fault", ["down", "no key", "wrong key"])
def test_a_judge_that_cannot_judge_leaves_generation_not_measured_and_retrieval_stands(
    tmp_path: Path,
    judge_server: FakeJudgeServer,
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    if fault == "down":
        with socket.socket() as reserved:  # bound, not listening: refused, and nobody else's
            reserved.bind(("127.0.0.1", 0))
            down = f"http://127.0.0.1:{reserved.getsockname()[1]}/v1"
            settings = project(tmp_path, judge_server, base_url=down)
            run_ingestion(settings, fake_embedder)
            result = baseline(settings, fake_embedder)
        assert "cannot connect to http://127.0.0.1" in result.generation.reason
        assert "hit@5" in result.metrics and "faithfulness" not in result.metrics
        return
    settings = project(tmp_path, judge_server)
    if fault == "no key":
        monkeypatch.delenv(KEY_VARIABLE)
    else:
        monkeypatch.setenv(KEY_VARIABLE, "sk-not-the-key")
    run_ingestion(settings, fake_embedder)
    result = baseline(settings, fake_embedder)
    assert "hit@5" in result.metrics and "faithfulness" not in result.metrics
    generation = result.generation
    assert generation.status == "not measured" and generation.means == {}
    expected = {
        "no key": f"names the environment variable {KEY_VARIABLE}, which is not set",
        "wrong key": "refused the API key (HTTP 401)",
    }[fault]
    assert expected in generation.reason
    assert "sk-not-the-key" not in json.dumps(result.as_json()) + json.dumps(
        [row.as_json() for row in result.per_item]
    )


def test_configuring_a_judge_later_judges_the_current_index(
    tmp_path: Path, judge_server: FakeJudgeServer, fake_embedder: FakeEmbedder
) -> None:
    settings = project(tmp_path, judge_server)
    config = tmp_path / "corpusgov.yaml"
    with_judge = config.read_text()
    config.write_text(with_judge[: with_judge.index("  judge:")])
    run_ingestion(load_settings(config), fake_embedder)
    assert baseline(load_settings(config), fake_embedder).generation.status == "not measured"

    config.write_text(with_judge)
    run_ingestion(settings, fake_embedder)  # nothing changed in the corpus
    judged = baseline(settings, fake_embedder)
    assert judged.index_version == 1 and judged.generation.measured
    assert reversion_eval_sets(settings, fake_embedder) == [], "judged once per index, judge and answers"


def test_a_drop_that_cannot_be_split_is_never_called_explained() -> None:
    from datetime import UTC, datetime

    from evals import MetricDelta, ResultKey
    from pipelines.evaluation.reversion import _explained_drop

    def stored(index_version: int, faithfulness: float) -> StoredResult:
        return StoredResult(
            "r", "sample", index_version, "h", index_version, "cfg", DEV, 5, datetime.now(UTC),
            {"ndcg@5": 0.9, "faithfulness": faithfulness}, (), GenerationSummary(), None, "judge@x", "jsonl:1",
        )  # fmt: skip

    key = ResultKey("h", 1, "cfg", "judge@x", "jsonl:1")
    split = Decomposition(
        key,
        key,
        key,
        {"ndcg@5": MetricDelta("ndcg@5", 0.9, 0.9, 0.9)},
        refused={"faithfulness": "the judge failed on some items in one of the results"},
    )
    kind, message = _explained_drop(
        "sample", stored(1, 0.9), stored(2, 0.5), split, {"ndcg@5": 0.0, "faithfulness": -0.4}, 0.05
    )
    assert kind == "unexplained_drop"
    assert "faithfulness -0.400 cannot be split: the judge failed" in message
    assert "explained by the eval set" not in message


def test_a_judge_outage_in_one_result_is_not_a_regression_in_the_next(
    tmp_path: Path, judge_server: FakeJudgeServer, fake_embedder: FakeEmbedder
) -> None:
    """The judge failed on the invented answers (all scoring 0) in the first baseline; a
    re-baseline on the same key measures them: the mean over all items is lower, no item is."""
    settings = project(tmp_path, judge_server)
    judge_server.fail_when("regional director", 500)
    run_ingestion(settings, fake_embedder)
    first = baseline(settings, fake_embedder)
    assert first.generation.failures, "the invented answers were not judged"
    judge_server.clear_faults()
    again = rebaseline(settings, fake_embedder, "sample")
    assert again.key == first.key
    assert again.metrics["faithfulness"] < first.metrics["faithfulness"] - 0.1, "the plain means differ"
    assert [kind for kind, _, _ in events(settings) if kind == "regression"] == []


def test_a_reply_forgotten_then_stored_again_replaces_the_bad_one(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.duckdb")
    cache = LedgerJudgeCache(ledger, "m")
    cache.put("k", "m", ["not json"])
    cache.flush()
    again = LedgerJudgeCache(ledger, "m")
    assert again.get("k") == ["not json"]
    again.forget(["k"])
    again.put("k", "m", ['{"verdict": 1}'])
    again.flush()
    assert LedgerJudgeCache(ledger, "m").get("k") == ['{"verdict": 1}']
