"""Provenance and corpus-level assessment in real runs: the RAG app's own outputs are recognised,
near-copies of the existing corpus are scored, and budgets watch the mix."""

import json
from pathlib import Path

from corpus_quality.registry import RegisteredOutput
from pipelines.governance.budgets import ai_generated_shares, quality_floor
from pipelines.governance.catalog import list_documents
from pipelines.governance.outputs import register_outputs
from pipelines.index.table import ChunkIndex
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.contract_files import use_contract, write_contract
from tests.pipelines.store_invariants import ledger_records

ANSWER = (
    "To return a damaged parcel, photograph the damage before you open the inner packaging, then "
    "file a claim in the customer portal within seven days of delivery. The carrier collects the "
    "parcel from the delivery address at no cost, and the refund is issued to the original payment "
    "method within five working days of the parcel reaching the returns centre in Leeds."
)


def doc(settings, doc_id: str) -> dict:
    return next(r for r in list_documents(settings) if r["doc_id"] == doc_id)


def test_a_registered_output_reingested_is_labelled_with_lineage(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "returns.md", procedure_text("returns"))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    register_outputs(settings, [RegisteredOutput("answer-1", ANSWER, ("docs/returns.md",))])
    write_doc(
        corpus, "wiki/damaged-parcels.md", "# Damaged parcels\n\n" + ANSWER.replace("seven", "7") + "\n"
    )

    run_ingestion(settings, fake_embedder)

    row = doc(settings, "docs/wiki/damaged-parcels.md")
    assert row["provenance"] == "ai_generated"
    detail = ledger_records(
        settings,
        "SELECT generation_depth, derived_from FROM documents WHERE doc_id = ?",
        ["docs/wiki/damaged-parcels.md"],
    )[0]
    assert detail["generation_depth"] == 1 and detail["derived_from"] == ["docs/returns.md"]
    evidence = json.loads(
        ledger_records(
            settings,
            "SELECT provenance_evidence FROM assessments WHERE doc_id = ? ORDER BY recorded_at DESC LIMIT 1",
            ["docs/wiki/damaged-parcels.md"],
        )[0]["provenance_evidence"]
    )
    assert evidence[0]["kind"] == "self_output_registry"
    labels = set(ChunkIndex(settings.lancedb_uri).table().to_arrow().column("provenance").to_pylist())
    assert "ai_generated" in labels, "the label reaches the index, where a RAG app filters on it"


def test_registering_an_output_relabels_documents_already_indexed(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    write_doc(project / "corpus", "wiki/damaged-parcels.md", "# Damaged parcels\n\n" + ANSWER + "\n")
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    assert doc(settings, "docs/wiki/damaged-parcels.md")["provenance"] == "unknown"

    registration = register_outputs(settings, [RegisteredOutput("answer-1", ANSWER, ())])
    assert registration.documents_to_relabel == ("docs/wiki/damaged-parcels.md",)
    run_ingestion(settings, fake_embedder)

    assert doc(settings, "docs/wiki/damaged-parcels.md")["provenance"] == "ai_generated"


def test_generation_depth_beyond_the_contract_is_quarantined(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"maxGenerationDepth": 1}))
    corpus = project / "corpus"
    write_doc(corpus, "wiki/answer.md", "# Answer\n\n" + ANSWER + "\n")
    settings = load_settings()
    register_outputs(settings, [RegisteredOutput("answer-1", ANSWER, ())])
    run_ingestion(settings, fake_embedder)
    assert doc(settings, "docs/wiki/answer.md")["state"] == "indexed"
    second = ANSWER.replace("Leeds", "Leeds, as the earlier answer explained") + " Keep the claim number."
    register_outputs(settings, [RegisteredOutput("answer-2", second, ("docs/wiki/answer.md",))])
    write_doc(corpus, "wiki/answer-of-answer.md", "# Answer again\n\n" + second + "\n")

    run_ingestion(settings, fake_embedder)

    row = doc(settings, "docs/wiki/answer-of-answer.md")
    assert row["state"] == "quarantined" and "policy.generation_depth_exceeded" in row["reasons"]


def test_a_near_copy_of_an_indexed_document_is_scored_against_the_existing_corpus(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving", steps=10))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    write_doc(
        corpus,
        "receiving-copy.md",
        procedure_text("receiving", steps=10).replace("Northwind", "Northwind Ltd"),
    )

    run_ingestion(settings, fake_embedder)

    signals = json.loads(
        ledger_records(
            settings, "SELECT quality_signals FROM assessments WHERE doc_id = ?", ["docs/receiving-copy.md"]
        )[0]["quality_signals"]
    )
    assert signals["near_duplicate"] < 0.3
    original = json.loads(
        ledger_records(
            settings, "SELECT quality_signals FROM assessments WHERE doc_id = ?", ["docs/receiving.md"]
        )[0]["quality_signals"]
    )
    assert original["near_duplicate"] == 1.0


def test_ai_share_budget_and_quality_floor(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"maxAiGeneratedShare": 0.25}))
    corpus = project / "corpus"
    write_doc(corpus, "human.md", procedure_text("receiving"))
    write_doc(corpus, "bot.md", "---\ngenerator: ChatGPT\n---\n" + procedure_text("returns"))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    [share] = ai_generated_shares(settings)
    assert (share.indexed, share.ai_generated, share.budget) == (2, 1, 0.25)
    assert not share.within_budget
    assert quality_floor(settings).holds
