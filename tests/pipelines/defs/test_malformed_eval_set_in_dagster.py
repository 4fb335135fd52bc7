"""The Dagster ingestion job refuses a malformed eval set as `corpusgov ingest` does: `chunk_index`,
the first step that would commit, fails with the one-line error naming the file, the line and the
problem, and nothing is committed."""

from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.failures import failure_message
from pipelines.ledger import Ledger
from pipelines.settings import load_settings
from tests.conftest import ONE_ITEM_EVAL_SET, add_eval_set, dagster_definitions, procedure_text, write_doc

pytestmark = pytest.mark.dagster


def test_the_ingestion_job_fails_on_a_malformed_eval_set_and_commits_nothing(project: Path) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    add_eval_set(
        project, ONE_ITEM_EVAL_SET + ONE_ITEM_EVAL_SET.replace('"split"', '"colour": "red", "split"')
    )
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    [failed] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failed.step_key == "chunk_index"
    message = failure_message(failed)
    assert message is not None
    assert message.startswith("Eval set 'sample' cannot be loaded:")
    assert "sample.jsonl: line 2 (id 'q01'): unknown key(s) colour." in message
    assert "Nothing of this run was committed." in message
    settings = load_settings()
    assert Ledger.of(settings).latest_index_version() is None
    assert not Path(settings.lancedb_uri).exists(), "LanceDB was not opened"
