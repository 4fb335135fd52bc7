"""The publication gate: a chunking change that doubles the chunks a document becomes stays a
candidate under `publish: auto`, alerts `promotion_blocked` naming the limit, and is served only
when a person promotes it; ordinary edits pass and are published at once."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipelines.governance.publication as publication
from pipelines.cli.app import app
from pipelines.embedding.model import Embedder
from pipelines.governance.alerts import PROMOTION_BLOCKED, collect_alerts
from pipelines.governance.ingest import ingest
from pipelines.ledger import Ledger
from pipelines.ledger.evals import StoredResult
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, add_eval_set, procedure_text, write_doc
from tests.pipelines.contract_files import use_contract, write_contract


def _long_procedure(topic: str) -> str:
    return "\n\n".join(procedure_text(f"{topic} part {n}", steps=8) for n in range(4))


def _use_chunking(project: Path, max_characters: int) -> None:
    contract = write_contract(
        project / f"contract-{max_characters}.odcs.yaml",
        version=f"1.{max_characters}.0",
        custom={
            "chunking": {
                "maxCharacters": max_characters,
                "newAfterNChars": max_characters,
                "combineTextUnderNChars": 100,
            }
        },
    )
    use_contract(project, contract)


def _project(project: Path, max_characters: int) -> None:
    _use_chunking(project, max_characters)
    config = project / "corpusgov.yaml"
    # Judge even a small source: the default leaves sources under 50 chunks alone.
    config.write_text(
        config.read_text(encoding="utf-8") + "serving:\n  limits:\n    min_chunks: 1\n", encoding="utf-8"
    )


def test_a_chunking_change_is_held_back_and_alerted_until_promoted(project: Path) -> None:
    for topic in ("receiving", "returns", "cycle counts", "dock safety"):
        write_doc(project / "corpus", f"{topic.replace(' ', '-')}.md", _long_procedure(topic))
    _project(project, 1000)
    embedder = FakeEmbedder()
    first = ingest(load_settings(), embedder)
    assert first.publication.published is not None

    write_doc(project / "corpus", "receiving.md", _long_procedure("receiving and unloading"))
    edited = ingest(load_settings(), embedder)
    assert edited.publication.published is not None, "an ordinary edit passes the gate"
    assert edited.publication.verdict is not None and edited.publication.verdict.passed

    _project(project, 300)  # a chunker change: every document becomes three times the chunks
    settings = load_settings()
    held = ingest(settings, embedder)
    assert held.report.index_version is not None
    candidate = held.report.index_version.index_version
    assert held.publication.published is None and held.publication.candidate == candidate
    verdict = held.publication.verdict
    assert verdict is not None and not verdict.passed
    failed = {(c.source, c.stat) for c in verdict.drift if not c.passed}
    assert ("docs", "chunks_per_document") in failed
    assert Ledger.of(settings).serving_version().index_version == candidate - 1  # type: ignore[union-attr]

    [alert] = [a for a in collect_alerts(settings) if a.kind == PROMOTION_BLOCKED]
    assert f"index version {candidate} held back" in alert.message
    assert "chunks_per_document" in alert.message and "×2" in alert.message
    assert f"corpusgov index promote {candidate}" in alert.message

    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["index", "versions", "--json"]).stdout)
    assert [(v["index_version"], v["status"]) for v in listed] == [
        (candidate, "candidate"),
        (candidate - 1, "serving"),
        (candidate - 2, "earlier"),
    ]
    refused = runner.invoke(app, ["index", "promote", "99"])
    assert refused.exit_code != 0
    promoted = runner.invoke(app, ["index", "promote", str(candidate)])
    assert promoted.exit_code == 0, promoted.output
    assert "The publication gate had held it back" in promoted.stdout
    assert Ledger.of(settings).serving_version().index_version == candidate  # type: ignore[union-attr]
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert status["serving_version"] == candidate


def test_a_drop_the_index_causes_holds_back_even_when_the_change_superseded_the_baseline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunker change remaps every eval item, so the served version's baseline is superseded:
    the gate still compares with what the served version scored (the decomposition takes the
    eval set's own change out), since that is the change it exists to catch."""
    for topic in ("receiving", "returns"):
        write_doc(project / "corpus", f"{topic}.md", _long_procedure(topic))
    _use_chunking(project, 1000)
    add_eval_set(project)
    embedder = FakeEmbedder()
    assert ingest(load_settings(), embedder).publication.published is not None
    compared: list[tuple[StoredResult, StoredResult]] = []

    def index_made_it_fall(
        settings: Settings, embedder: Embedder, before: StoredResult, after: StoredResult
    ) -> list[str]:
        compared.append((before, after))
        return ["ndcg@5 -0.300 from the index changing (of -0.300)"]

    monkeypatch.setattr(publication, "drops_caused_by_the_index", index_made_it_fall)
    _use_chunking(project, 600)  # within the drift limits (a source this small is not judged)
    add_eval_set(project)  # the same eval set: `use_contract` wrote corpusgov.yaml afresh
    held = ingest(load_settings(), embedder)

    [(before, after)] = compared
    assert before.index_version == 1 and after.index_version == 2
    assert before.superseded_reason is not None, "the chunker change superseded the served baseline"
    assert held.publication.published is None
    verdict = held.publication.verdict
    assert verdict is not None and all(c.passed for c in verdict.drift)
    assert verdict.regressions == ("sample: ndcg@5 -0.300 from the index changing (of -0.300)",)
