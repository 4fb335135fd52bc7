"""The `erase_document` job does what `corpusgov erase` does, through a real job execution: the
document leaves the served index and every retained version, its bytes are tombstoned, the run's
log names it by its pseudonym only, and a mistaken name fails the run with one line."""

from pathlib import Path

import dagster as dg
import pytest

from pipelines.governance.ingest import ingest
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.ledger.erasures import pseudonym
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, dagster_definitions, procedure_text, write_doc


@pytest.mark.dagster
def test_the_erase_job_erases_and_names_the_document_by_its_pseudonym(project: Path) -> None:
    corpus = project / "corpus"
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "hr/case-114.md", procedure_text("case handling for Jordan Whitfield"))
    settings = load_settings()
    ingest(settings, FakeEmbedder())  # v1
    write_doc(corpus, "notes.md", procedure_text("notes"))
    ingest(settings, FakeEmbedder())  # v2
    job = dagster_definitions().resolve_job_def("erase_document")
    with dg.instance_for_test() as instance:
        refused = job.execute_in_process(
            instance=instance,
            run_config={"ops": {"erase": {"config": {"document": "docs/nope.md", "reason": "request 114"}}}},
            raise_on_error=False,
        )
        assert not refused.success
        [failure] = refused.get_step_failure_events()
        assert failure.step_failure_data.user_failure_data is not None
        assert failure.step_failure_data.user_failure_data.description.startswith("No document docs/nope.md")

        result = job.execute_in_process(
            instance=instance,
            run_config={
                "ops": {"erase": {"config": {"document": "docs/hr/case-114.md", "reason": "request 114"}}}
            },
        )
        assert result.success
        logged = [e.message for e in instance.all_logs(result.run_id) if e.message and "Erased" in e.message]
    assert logged and pseudonym("docs/hr/case-114.md") in logged[0] and "case-114" not in logged[0]
    table = ChunkIndex(settings.lancedb_uri).require_table()
    for ref in ("serving", "index-v1", "index-v2"):
        table.checkout(ref)
        assert "docs/hr/case-114.md" not in read_columns(table, ["doc_id"]).column("doc_id").to_pylist(), ref
    ledger = Ledger.of(settings)
    assert ledger.serving_version() is not None and ledger.serving_version().index_version == 3
    assert ledger.tombstoned() and ledger.erasures()[0].completed_at is not None
