"""The `nightly_retention` schedule runs `index_retention`, which removes what `retention:` lets go,
and does nothing while no version is due."""

import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.governance.versions import removed_index_versions
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import FakeEmbedder, dagster_definitions, procedure_text, write_doc

pytestmark = pytest.mark.dagster


def test_the_retention_job_removes_what_the_policy_lets_go(
    project: Path, fake_embedder: FakeEmbedder
) -> None:
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write("retention:\n  keep_last: 1\n  keep_days: 0\n")
    settings = load_settings()
    for topic in ("receiving", "returns", "picking"):
        write_doc(project / "corpus", f"{topic}.md", procedure_text(topic))
        run_ingestion(settings, fake_embedder)  # no publication: nothing served pins a version
        time.sleep(0.6)  # versions apart by more than the cleanup's clock margin
    defs = dagster_definitions()
    assert defs.resolve_schedule_def("nightly_retention").job_name == "index_retention"
    job = defs.resolve_job_def("index_retention")
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance).success
        assert removed_index_versions(settings) == {1, 2}
        assert job.execute_in_process(instance=instance).success, "nothing due is not a failure"
    assert removed_index_versions(settings) == {1, 2}
