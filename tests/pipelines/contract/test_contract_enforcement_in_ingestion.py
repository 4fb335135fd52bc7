"""Contracts bind in a real run: budgets block, versions re-check, policies act, models are pinned."""

from pathlib import Path

from pipelines.governance.catalog import list_documents
from pipelines.governance.quarantine import list_held_back
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc
from tests.pipelines.contract_files import use_contract, write_contract

SHORT = "# Note\n\nToo short to keep.\n"


def states(settings) -> dict[str, tuple[str, list[str]]]:
    return {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}


def seed(corpus: Path, good: int, short: int) -> None:
    for i in range(good):
        write_doc(corpus, f"good{i}.md", procedure_text(f"topic {i}"))
    for i in range(short):
        write_doc(corpus, f"short{i}.md", SHORT)


def test_within_budget_violations_are_quarantined_and_the_rest_indexed(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"maxViolationRate": 0.5}))
    seed(project / "corpus", good=3, short=1)
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    check = report.contract_checks[0]
    assert check.within_budget and check.violation_rate == 0.25
    assert check.violations_by_reason == {"contract.text_too_short": 1}
    assert states(settings)["docs/short0.md"] == ("quarantined", ["contract.text_too_short"])
    assert report.index_version is not None and len(report.index_version.added) == 3
    # The check has a self-contained report: the failing document with its numbers, no outside
    # resource (no http(s) URL and no script in the page).
    assert check.report and Path(check.report).is_relative_to(settings.data_dir)
    page = Path(check.report).read_text(encoding="utf-8")
    assert "docs/short0.md" in page and "contract.text_too_short" in page and "chars &lt; 40" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "<link" not in page and "@import" not in page


def test_over_budget_blocks_the_index_update(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"maxViolationRate": 0.2}))
    corpus = project / "corpus"
    seed(corpus, good=2, short=0)
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    version_before = ChunkIndex(settings.lancedb_uri).version()
    seed(corpus, good=0, short=2)
    write_doc(corpus, "good9.md", procedure_text("new topic"))

    report = run_ingestion(settings, fake_embedder)

    [check] = report.blocked
    assert (check.violating, check.governed) == (2, 5), "2 bad of 2 indexed + 3 checked"
    assert report.index_version is None and not report.changed
    assert ChunkIndex(settings.lancedb_uri).version() == version_before
    assert len(Ledger.of(settings).index_versions()) == 1
    assert "docs/good9.md" not in states(settings), "nothing of a blocked source is recorded as done"
    held = {r["doc_id"]: r for r in list_held_back(settings)}
    assert held["docs/good9.md"]["would_be"] == "indexed"
    assert held["docs/short0.md"]["reasons"] == ["contract.text_too_short"]
    # Still blocked next run: nothing was fixed, nothing moved.
    assert run_ingestion(settings, fake_embedder).blocked
    # Fixed at the source: the held-back changes go through and the list empties.
    for i in range(2):
        write_doc(corpus, f"short{i}.md", procedure_text(f"fixed {i}"))
    assert not run_ingestion(settings, fake_embedder).blocked
    assert states(settings)["docs/good9.md"][0] == "indexed"
    assert list_held_back(settings) == []


def test_severity_warning_never_blocks(project: Path, fake_embedder: FakeEmbedder) -> None:
    contract = write_contract(
        project / "c.odcs.yaml", custom={"maxViolationRate": 0.0, "severity": "warning"}
    )
    use_contract(project, contract)
    seed(project / "corpus", good=1, short=1)
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    assert not report.contract_checks[0].within_budget
    assert report.index_version is not None
    assert states(settings)["docs/short0.md"][0] == "quarantined"


def test_new_contract_version_rechecks_indexed_documents_in_the_same_commit(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    contract = project / "c.odcs.yaml"
    use_contract(project, write_contract(contract, version="1.0.0"))
    corpus = project / "corpus"
    write_doc(corpus, "long.md", procedure_text("receiving", steps=12))
    write_doc(corpus, "medium.md", procedure_text("returns", steps=2))
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    assert states(settings)["docs/medium.md"][0] == "indexed"

    medium_chars = len((corpus / "medium.md").read_text())
    write_contract(contract, version="1.1.0", min_length=medium_chars + 200)
    report = run_ingestion(settings, fake_embedder)

    assert report.index_version.removed == ("docs/medium.md",)
    assert states(settings)["docs/medium.md"] == ("quarantined", ["contract.text_too_short"])
    assert report.index_version.contract_versions == {"docs": "corpusgov-default@1.1.0"}
    rows = {r.doc_id: r for r in Ledger.of(settings).document_rows()}
    assert rows["docs/long.md"].contract_version == "1.1.0"
    assert fake_embedder.embedded_texts.count(fake_embedder.calls[0][0]) == 1, "unchanged chunks reused"
    assert reconcile(settings).consistent


def test_pii_redacted_before_embedding(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"piiPolicy": "redact"}))
    write_doc(
        project / "corpus",
        "contacts.md",
        procedure_text("escalation")
        + "\nCall Dana at dana.whitfield@northwind-logistics.com for approvals.\n",
    )
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    texts = ChunkIndex(settings.lancedb_uri).table().to_arrow().column("text").to_pylist()
    joined = "\n".join(texts)
    assert "dana.whitfield@northwind-logistics.com" not in joined
    assert "[REDACTED" in joined
    assert not any("dana.whitfield@" in t for t in fake_embedder.embedded_texts)


def test_pii_quarantine_policy(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", custom={"piiPolicy": "quarantine"}))
    write_doc(
        project / "corpus",
        "contacts.md",
        procedure_text("escalation") + "\nWrite to dana.whitfield@northwind-logistics.com.\n",
    )
    settings = load_settings()
    run_ingestion(settings, fake_embedder)
    assert states(settings)["docs/contacts.md"] == ("quarantined", ["policy.pii_quarantined"])


def pinned(model: str) -> list[dict]:
    return [
        {
            "name": "embedding",
            "logicalType": "vector",
            "logicalTypeOptions": {"dimensions": 384, "embeddingModel": model},
        }
    ]


def test_a_contract_pinning_another_model_fails_loudly(project: Path, fake_embedder: FakeEmbedder) -> None:
    contract = write_contract(
        project / "c.odcs.yaml", extra_properties=pinned("sentence-transformers/all-mpnet-base-v2")
    )
    use_contract(project, contract)
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    assert report.source_errors and "pins the embedding model" in report.source_errors[0].error
    assert list_documents(settings) == [] and fake_embedder.embedded_texts == []


def test_a_contract_pinning_the_index_model_ingests(project: Path, fake_embedder: FakeEmbedder) -> None:
    use_contract(project, write_contract(project / "c.odcs.yaml", extra_properties=pinned("fake-embedder")))
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    assert not report.source_errors and report.index_version is not None


def test_a_broken_contract_skips_its_source_and_others_go_on(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    broken = project / "broken.odcs.yaml"
    broken.write_text("apiVersion: v3.2.0\nkind: DataContract\nid: [unclosed\n")
    other = project / "other"
    write_doc(other, "b.md", procedure_text("dispatch"))
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    good = write_contract(project / "good.odcs.yaml")
    (project / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {broken}\n"
        f"  - name: other\n    path: other\n    contract: {good}\n"
    )
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    assert [c.source for c in report.source_errors] == ["docs"]
    assert "broken.odcs.yaml" in report.source_errors[0].error
    assert [r["doc_id"] for r in list_documents(settings)] == ["other/b.md"]


def bound_contract(path: Path, folder: str) -> Path:
    import yaml

    write_contract(path)
    data = yaml.safe_load(path.read_text())
    data["servers"] = [{"server": "local", "type": "local", "path": folder, "format": "mixed"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_contract_binds_its_source_folder(project: Path, fake_embedder: FakeEmbedder) -> None:
    contract = bound_contract(project / "c.odcs.yaml", "corpus")
    (project / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    contract: {contract}\n"
    )
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    assert not report.source_errors
    assert [r["doc_id"] for r in list_documents(settings)] == ["docs/a.md"]


def test_a_source_reading_another_folder_than_its_contract_binds_is_refused(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    contract = bound_contract(project / "c.odcs.yaml", "elsewhere")
    use_contract(project, contract)
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    report = run_ingestion(load_settings(), fake_embedder)
    assert "binds servers[].path to elsewhere" in report.source_errors[0].error


def test_two_sources_claiming_one_folder_are_both_refused(project: Path, fake_embedder: FakeEmbedder) -> None:
    first = write_contract(project / "a.odcs.yaml")
    second = write_contract(project / "b.odcs.yaml")
    (project / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: one\n    path: corpus\n    contract: {first}\n"
        f"  - name: two\n    path: corpus\n    contract: {second}\n"
    )
    write_doc(project / "corpus", "a.md", procedure_text("receiving"))
    settings = load_settings()
    report = run_ingestion(settings, fake_embedder)
    errors = {c.source: c.error for c in report.source_errors}
    assert set(errors) == {"one", "two"}
    assert "a.odcs.yaml" in errors["one"] and "b.odcs.yaml" in errors["one"]
    assert list_documents(settings) == [], "nothing is ingested under a contested folder"
