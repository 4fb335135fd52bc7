"""The Dagster path publishes like the CLI: the `publication_gate` check on `chunk_index` runs after
the eval sets are scored and publishes a version that passes; a version it holds back stays a
candidate, warns and alerts once; under `serving.publish: gated` it waits for the
`promote_index_version` job, which fails with the one-line reason on a version it cannot promote."""

from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.automation.sensors import publication_sensor
from pipelines.defs.index.checks import PUBLICATION_GATE, publication_gate
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.embedding.model import Embedder
from pipelines.governance.alerts import PROMOTION_BLOCKED, collect_alerts
from pipelines.governance.ingest import ingest
from pipelines.ledger import Ledger
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, dagster_definitions, procedure_text, write_doc

pytestmark = pytest.mark.dagster


def _gate(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [gate] = [e for e in result.get_asset_check_evaluations() if e.check_name == PUBLICATION_GATE]
    return gate


def _publications_shown(cursor: str | None) -> tuple[list[dg.AssetObservation], str | None]:
    """One evaluation of `publication_sensor` from `cursor`: the observations it records, its cursor."""
    context = dg.build_sensor_context(cursor=cursor)
    result = publication_sensor(context, corpusgov=CorpusgovResource())
    if isinstance(result, dg.SkipReason):
        return [], cursor
    assert isinstance(result, dg.SensorResult)
    return [e for e in result.asset_events or [] if isinstance(e, dg.AssetObservation)], result.cursor


def _served_and_latest(settings: Settings) -> tuple[int | None, int | None]:
    ledger = Ledger.of(settings)
    served, latest = ledger.serving_version(), ledger.latest_index_version()
    return (served.index_version if served else None, latest.index_version if latest else None)


def test_the_ingestion_job_publishes_the_first_version_after_the_evals(project: Path) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        gate = _gate(result)
        assert gate.passed
        assert gate.metadata["published"].value is True
        assert gate.metadata["served_version"].value == 1 and gate.metadata["candidate"].value == 1
        assert gate.metadata["failures"].value == "none"
        assert isinstance(gate.metadata["docs chunks/doc"], dg.FloatMetadataValue)
        assert isinstance(gate.metadata["docs p95 chars"], dg.FloatMetadataValue)
        assert gate.metadata["docs AI share"].value == 0.0
        # The gate reads the eval baselines: its step runs after eval_baselines.
        started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
        assert started.index(f"chunk_index_{PUBLICATION_GATE}") > started.index("eval_baselines")
        index = next(m for m in result.asset_materializations_for_node("chunk_index"))
        assert index.metadata["serving_version"].value == "none yet", "chunk_index runs before the gate"
    assert _served_and_latest(load_settings()) == (1, 1)


class _FakeEmbedderResource(EmbedderResource):
    def embedder(self, settings: Settings) -> Embedder:
        return FakeEmbedder()


def test_a_version_the_gate_holds_back_stays_a_candidate_and_alerts_once(project: Path) -> None:
    config = project / "corpusgov.yaml"
    # Any change in the number of documents is over the limit; even one chunk is judged.
    config.write_text(
        config.read_text(encoding="utf-8")
        + "serving:\n  limits:\n    min_chunks: 1\n    documents_change: 0.1\n",
        encoding="utf-8",
    )
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    assert ingest(load_settings(), FakeEmbedder()).publication.published is not None  # the CLI path
    write_doc(project / "corpus", "returns.md", procedure_text("returns"))
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success, "a held-back version is not a failed run"
        gate = _gate(result)
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN
    assert "Index version 2 held back" in (gate.description or "")
    assert "docs: documents 1 -> 2" in gate.metadata["failures"].value
    assert "| docs | documents | 1 | 2 | ±10% | **no** |" in gate.metadata["drift"].value
    assert gate.metadata["published"].value is False
    assert "`index_version: 2`" in gate.metadata["next_step"].value
    settings = load_settings()
    assert _served_and_latest(settings) == (1, 2)

    # Evaluated again (the next run with nothing new): still held back, still one alert.
    again = publication_gate(corpusgov=CorpusgovResource(), embedder=_FakeEmbedderResource())
    assert not again.passed
    blocked = [a for a in collect_alerts(settings) if a.kind == PROMOTION_BLOCKED]
    assert [a.key for a in blocked] == [f"{PROMOTION_BLOCKED}:2"]
    assert "index version 2 held back" in blocked[0].message


def test_gated_waits_for_the_promote_job(project: Path) -> None:
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "serving:\n  publish: gated\n", encoding="utf-8")
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    defs = dagster_definitions()
    promote_job = defs.resolve_job_def("promote_index_version")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("ingestion").execute_in_process(instance=instance)
        assert result.success
        gate = _gate(result)
        assert gate.passed and gate.metadata["published"].value is False
        assert "waits for a promote" in (gate.description or "")
        assert "serving.publish is gated" in gate.metadata["waiting"].value
        assert _served_and_latest(load_settings()) == (None, 1)

        refused = promote_job.execute_in_process(
            instance=instance, run_config={"index_version": 99}, raise_on_error=False
        )
        assert not refused.success
        [failure] = refused.get_step_failure_events()
        user_failure = failure.step_failure_data.user_failure_data
        assert user_failure is not None
        assert user_failure.description == "There is no index version 99 to promote. Index versions: 1."
        assert _served_and_latest(load_settings()) == (None, 1)

        promoted = promote_job.execute_in_process(instance=instance, run_config={"index_version": 1})
        assert promoted.success
    assert _served_and_latest(load_settings()) == (1, 1)
    [publication] = Ledger.of(load_settings()).publications()
    assert publication.how == "promote"
    [observation] = _publications_shown(None)[0]
    assert observation.asset_key == dg.AssetKey(["chunk_index"])
    assert observation.metadata["serving_version"].value == 1
    assert observation.metadata["how"].value == "promote"


def test_the_rollback_job_serves_earlier_content_without_what_the_corpus_let_go(project: Path) -> None:
    corpus = project / "corpus"
    for topic in ("receiving", "returns"):
        write_doc(corpus, f"{topic}.md", procedure_text(topic))
    settings = load_settings()
    ingest(settings, FakeEmbedder())  # v1, published
    (corpus / "returns.md").unlink()
    write_doc(corpus, "receiving.md", procedure_text("receiving", steps=9))
    ingest(settings, FakeEmbedder())  # v2, published
    rollback_job = dagster_definitions().resolve_job_def("rollback_index_version")
    with dg.instance_for_test() as instance:
        refused = rollback_job.execute_in_process(
            instance=instance, run_config={"index_version": 2}, raise_on_error=False
        )
        assert not refused.success
        [failure] = refused.get_step_failure_events()
        assert failure.step_failure_data.user_failure_data is not None
        assert failure.step_failure_data.user_failure_data.description == (
            "Index version 2 is already the current version."
        )
        result = rollback_job.execute_in_process(instance=instance, run_config={"index_version": 1})
        assert result.success
    # The publication sensor shows every publication on chunk_index once: the two the CLI's
    # ingests made, then the rollback's; evaluated again, nothing new.
    shown, cursor = _publications_shown(None)
    assert [(o.metadata["serving_version"].value, o.metadata["how"].value) for o in shown] == [
        (1, "auto"),
        (2, "auto"),
        (3, "rollback"),
    ]
    observation = shown[-1]
    assert observation.metadata["restored_from"].value == 1
    assert "docs/returns.md: removed: no longer at its source" in observation.metadata["not_readmitted"].value
    assert _publications_shown(cursor) == ([], cursor)
    ledger = Ledger.of(settings)
    assert _served_and_latest(settings) == (3, 3)
    assert ledger.publications()[0].how == "rollback"
    assert ledger.documents()["docs/returns.md"].state.value == "removed"
    # A refused rollback is a person's mistake, not a failed pipeline: no run_failed alert.
    assert not [a for a in collect_alerts(settings) if a.kind == "run_failed"]
