"""The Dagster layer's own code, called the way Dagster calls it but without a run (a run is a
`dagster` test): the eval assets and the index metadata show a person what the ledger holds."""

import json
from pathlib import Path

import dagster as dg

from pipelines.defs.evals.assets import eval_baselines, eval_set_versions
from pipelines.defs.index.assets import index_metadata
from pipelines.defs.index.checks import ledger_index_reconciliation
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.embedding.model import Embedder
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

EMBEDDER = FakeEmbedder()


class _FakeEmbedderResource(EmbedderResource):
    def embedder(self, settings: Settings) -> Embedder:
        return EMBEDDER


def _project_with_an_eval_set(project: Path) -> Settings:
    for topic in ("receiving", "returns"):
        write_doc(project / "corpus", f"{topic}.md", procedure_text(topic))
    item = {
        "id": "q1",
        "question": "Who handles receiving at the Northwind warehouse?",
        "gold": [
            {
                "doc_id": "docs/receiving.md",
                "passage": "This procedure explains how the operations team handles receiving at "
                "the Northwind warehouse.",
            }
        ],
        "split": "dev",
    }
    (project / "ops.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "evals:\n  sets:\n    - name: ops\n      path: ops.jsonl\n",
        encoding="utf-8",
    )
    return load_settings()


def test_the_eval_assets_bind_and_score_and_say_so(project: Path) -> None:
    settings = _project_with_an_eval_set(project)
    report = run_ingestion(settings, EMBEDDER)
    assert report.index_version is not None

    versions = eval_set_versions(corpusgov=CorpusgovResource())
    assert versions.metadata is not None
    assert versions.metadata["re_versioned"] == 1
    assert versions.metadata["ops_index_version"] == dg.MetadataValue.int(1)
    assert str(versions.metadata["ops_changelog"].value).startswith("| status | dev items |")

    baselines = eval_baselines(
        dg.build_asset_context(), corpusgov=CorpusgovResource(), embedder=_FakeEmbedderResource()
    )
    assert baselines.metadata is not None
    assert baselines.metadata["re_versioned"] == 1
    assert 0.0 <= baselines.metadata["ops_ndcg_at_5"].value <= 1.0
    assert "not measured" in str(baselines.metadata["ops_generation"].value)
    assert not [k for k in baselines.metadata if "judge" in k], "no judge configured: nothing about one"

    # Nothing changed: no new plot point (one point per index version, not one per run).
    again = eval_baselines(
        dg.build_asset_context(), corpusgov=CorpusgovResource(), embedder=_FakeEmbedderResource()
    )
    assert again.metadata is not None and again.metadata["re_versioned"] == 0
    assert "ops_ndcg_at_5" not in again.metadata and "ops_by_index_version" in again.metadata


def test_the_index_metadata_and_reconciliation_read_the_ledger(project: Path) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "stub.md", "Too short.")
    settings = load_settings()
    report = run_ingestion(settings, EMBEDDER)
    metadata = index_metadata(settings, report, unloaded=["wiki"])
    assert metadata["index_version"] == 1 and metadata["changed_this_run"] == "yes"
    assert metadata["documents_indexed"] == dg.MetadataValue.int(1)
    assert metadata["documents_quarantined"] == dg.MetadataValue.int(1)
    assert "wiki" in metadata["reload_definitions"]
    assert "contract.text_too_short" in str(metadata["reasons_not_indexed"].value)
    check = ledger_index_reconciliation(corpusgov=CorpusgovResource())
    assert check.passed
