"""The index in S3-compatible object storage (`index_uri: s3://bucket/prefix`), against a real S3
server on 127.0.0.1 (moto's server mode): ingestion, status, search, rollback and the CLI read
and write it there, a writer
stopped after writing the bucket is recovered, the doctor sets a damaged table aside in the bucket
and rebuilds it, and the Dagster job with 2 shards commits there. With `staging_uri` in the
bucket too, the steps hand each other their files there: a killed shard's run resumes from what
the bucket holds, and nothing of it is left in the local data dir. The ledger and the lock stay
in the data dir."""

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

from pipelines.governance.catalog import corpus_status, search_corpus
from pipelines.governance.doctor import examine_data_dir, repair_data_dir
from pipelines.governance.ingest import follow_index, ingest
from pipelines.governance.versions import rollback_index
from pipelines.index.commit_protocol import SERVING_TAG
from pipelines.index.reconciliation import reconcile
from pipelines.index.table import ChunkIndex
from pipelines.run.ingestion import run_ingestion
from pipelines.run.spool import STALE_AFTER, clear_staging
from pipelines.settings import Settings, load_settings
from pipelines.stop_points import STOP_AT_ENV, StopRequested
from pipelines.storage import output_file
from tests.conftest import ONE_ITEM_EVAL_SET, REPO_ROOT, FakeEmbedder, add_eval_set, procedure_text, write_doc
from tests.pipelines.run.test_sharded_sources import sharded_ingestion_job
from tests.pipelines.s3_server import S3Server, s3_server
from tests.pipelines.store_invariants import assert_invariants

# Against an S3-compatible server (moto) started on 127.0.0.1.
pytestmark = pytest.mark.server

TOPICS = ("loading dock", "cold storage", "forklift charging")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def on_s3(
    project: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Settings:
    """The `project` fixture's corpusgov.yaml with its index in the bucket, under a prefix of
    this test's own."""
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    prefix = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text() + f"index_uri: s3://{s3.bucket}/{prefix}\n", encoding="utf-8")
    for topic in TOPICS:
        write_doc(project / "corpus", f"{topic.replace(' ', '_')}.md", procedure_text(topic))
    write_doc(project / "corpus", "empty.md", b"")
    return load_settings()


def prefix_of(settings: Settings) -> str:
    return settings.lancedb_uri.split("/", 3)[3]


def test_every_command_reads_and_writes_the_index_in_the_bucket(on_s3: Settings, s3: S3Server) -> None:
    settings, corpus = on_s3, on_s3.config_path.parent / "corpus"
    first = ingest(settings, FakeEmbedder()).report  # committed and published
    assert first.index_version is not None and first.index_version.index_version == 1
    assert not (settings.data_dir / "lancedb").exists(), "nothing of the index on the local disk"
    keys = s3.keys(prefix_of(settings))
    assert any("/chunks.lance/_versions/" in k for k in keys) and any(
        "/chunks.lance/data/" in k for k in keys
    )
    assert_invariants(settings, corpus)
    status = corpus_status(settings)
    assert (status.index_version, status.documents["indexed"]) == (1, 3)
    [hit, *_] = search_corpus(settings, FakeEmbedder(), "forklift charging procedure", k=3)
    assert hit.doc_id == "docs/forklift_charging.md"

    again = run_ingestion(settings, FakeEmbedder())
    assert not again.changed and again.index_version is None, "a no-op run commits nothing"
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock", steps=9))
    (corpus / "cold_storage.md").unlink()
    second = ingest(settings, FakeEmbedder()).report
    assert second.index_version is not None and second.index_version.index_version == 2
    assert_invariants(settings, corpus)
    table = ChunkIndex(settings.lancedb_uri).require_table()
    assert table.tags.list()[SERVING_TAG]["version"] == second.index_version.lance_version
    assert examine_data_dir(settings).healthy

    # The CLI in a process of its own, configured by the environment alone.
    shown = subprocess.run(
        [sys.executable, "-c", "from pipelines.cli.app import main; main()", "status", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    assert json.loads(shown.stdout)["index_version"] == 2

    # Rollback restores a version in the bucket, as a new version, without the document deleted
    # at its source since; the next run puts the sources' state back.
    rolled = rollback_index(settings, 1)
    assert rolled.version.index_version == 3 and "docs/cold_storage.md" not in rolled.version.added
    assert [h.doc_id for h in rolled.held_out] == ["docs/cold_storage.md"]
    assert reconcile(settings).consistent
    assert run_ingestion(settings, FakeEmbedder()).index_version is not None
    assert_invariants(settings, corpus)


def test_a_writer_stopped_after_writing_the_bucket_is_recovered(
    on_s3: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, corpus = on_s3, on_s3.config_path.parent / "corpus"
    run_ingestion(settings, FakeEmbedder())
    write_doc(corpus, "night_shift.md", procedure_text("night shift"))
    (corpus / "cold_storage.md").unlink()
    # As if the process died: no in-process undo, the bucket is left one version ahead.
    monkeypatch.setattr("pipelines.run.ingestion.undo_interrupted_write", lambda _settings: None)
    monkeypatch.setenv(STOP_AT_ENV, "commit.after_index_write")
    with pytest.raises(StopRequested):
        run_ingestion(settings, FakeEmbedder())
    monkeypatch.delenv(STOP_AT_ENV)
    assert not examine_data_dir(settings).healthy, "the index is ahead of the ledger"
    recovered = run_ingestion(settings, FakeEmbedder())
    assert recovered.index_version is not None and recovered.index_version.index_version == 2
    state = assert_invariants(settings, corpus)
    assert "docs/night_shift.md" in state["index_docs"] and "docs/cold_storage.md" not in state["index_docs"]  # type: ignore[operator]
    assert not run_ingestion(settings, FakeEmbedder()).changed
    assert examine_data_dir(settings).healthy


def test_the_doctor_sets_a_damaged_index_aside_in_the_bucket_and_rebuilds_it(
    on_s3: Settings, s3: S3Server
) -> None:
    settings, corpus = on_s3, on_s3.config_path.parent / "corpus"
    run_ingestion(settings, FakeEmbedder())
    table = f"{prefix_of(settings)}/chunks.lance/"
    for key in s3.keys(table + "_versions/"):
        s3.delete(key)  # the table's manifests lost: LanceDB cannot open it
    assert not examine_data_dir(settings).healthy
    report = repair_data_dir(settings, FakeEmbedder())
    assert report.healthy, report
    assert report.set_aside is not None and f"{settings.lancedb_uri}/damaged/" in report.set_aside
    assert any(k.startswith(f"{prefix_of(settings)}/damaged/") for k in s3.keys(prefix_of(settings)))
    assert_invariants(settings, corpus)


def test_a_lost_bucket_prefix_repaired_leaves_a_working_pipeline(on_s3: Settings, s3: S3Server) -> None:
    """Every object of the index gone from the bucket: the doctor rebuilds it there, the eval sets
    follow the rebuilt version though their last results' versions can no longer be read, and the
    next ingest commits and re-versions them."""
    corpus = on_s3.config_path.parent / "corpus"
    add_eval_set(on_s3.config_path.parent, ONE_ITEM_EVAL_SET.replace("receiving.md", "loading_dock.md"))
    settings = load_settings()
    embedder = FakeEmbedder()
    ingest(settings, embedder)
    write_doc(corpus, "night_shift.md", procedure_text("night shift", steps=9))
    ingest(settings, embedder)  # v2: the eval set's last baseline is on it
    for key in s3.keys(prefix_of(settings)):
        s3.delete(key)

    report = repair_data_dir(settings, embedder)
    assert report.healthy, report
    assert [r.version.index_version for r in follow_index(settings, embedder)] == [3]
    write_doc(corpus, "loading_dock.md", procedure_text("loading dock", steps=11))
    after = ingest(settings, embedder)
    assert after.report.index_version is not None and after.report.index_version.index_version == 4
    assert [r.version.index_version for r in after.reversions] == [4]
    assert after.publication.published is not None
    assert_invariants(settings, corpus)


@pytest.mark.dagster
def test_the_dagster_job_with_shards_commits_to_the_bucket(on_s3: Settings, tmp_path: Path) -> None:
    settings = on_s3
    config = settings.config_path
    config.write_text(config.read_text() + "shards:\n  max: 2\n  documents_per_shard: 1\n", encoding="utf-8")
    (tmp_path / "dagster_home").mkdir()
    with (
        dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance,
        dg.execute_job(dg.reconstructable(sharded_ingestion_job), instance=instance) as result,
    ):
        assert result.success
        shards = {
            e.step_key
            for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
            if e.step_key and "_shard[" in e.step_key
        }
    assert shards == {"sources__docs.docs_shard[0]", "sources__docs.docs_shard[1]"}
    assert not (settings.data_dir / "lancedb").exists()
    assert_invariants(load_settings(config), config.parent / "corpus")
    assert corpus_status(settings).index_version == 1


def _staging_in_the_bucket(settings: Settings, s3: S3Server) -> str:
    """Point `staging_uri` at a prefix of the bucket; returns the prefix."""
    prefix = prefix_of(settings) + "-staging"
    config = settings.config_path
    config.write_text(config.read_text() + f"staging_uri: s3://{s3.bucket}/{prefix}\n", encoding="utf-8")
    return prefix


def _files(s3: S3Server, prefix: str) -> list[str]:
    """The objects under `prefix`, without the empty folder markers pyarrow leaves."""
    return [key for key in s3.keys(prefix) if not key.endswith("/")]


def test_the_cli_keeps_what_it_reads_itself_local_and_the_bucket_clean(on_s3: Settings, s3: S3Server) -> None:
    """One process writes and reads its own spool: it stays in the local scratch folder, and the
    staging prefix of the bucket is never written."""
    prefix = _staging_in_the_bucket(on_s3, s3)
    settings = load_settings()
    report = run_ingestion(settings, FakeEmbedder())
    assert report.index_version is not None and report.chunks_embedded > 0
    assert_invariants(settings, settings.config_path.parent / "corpus")
    assert s3.keys(prefix) == []
    assert not (settings.data_dir / "staging").exists() or not any((settings.data_dir / "staging").iterdir())


def test_stale_cleanup_removes_old_run_folders_only(on_s3: Settings, s3: S3Server) -> None:
    """staging_uri is the user's: only folders named like a run, and older than a day, are
    removed by a later run's cleanup."""
    prefix = _staging_in_the_bucket(on_s3, s3)
    settings = load_settings()
    for name in ("20260101T000000-0123abcd/docs.plan.json", "keep-me/notes.txt"):
        with output_file(f"{settings.staging_root}/{name}") as out:
            out.write(b"{}")
    two_days_later = time.time() + 2 * STALE_AFTER.total_seconds()
    with mock.patch("pipelines.run.spool.time.time", return_value=two_days_later):
        clear_staging(settings, "20260202T000000-89abcdef")
    assert _files(s3, prefix) == [f"{prefix}/keep-me/notes.txt"]


def test_a_killed_shard_resumes_from_the_files_it_staged_in_the_bucket(
    on_s3: Settings, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = _staging_in_the_bucket(on_s3, s3)
    config = on_s3.config_path
    config.write_text(config.read_text() + "shards:\n  max: 2\n  documents_per_shard: 1\n", encoding="utf-8")
    settings = load_settings()
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv(STOP_AT_ENV, "prepare.shard_1.assessed")
    monkeypatch.setenv("CORPUSGOV_STOP_MODE", "exit")
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        with dg.execute_job(dg.reconstructable(sharded_ingestion_job), instance=instance) as failed:
            assert not failed.success
            failed_run = failed.run_id
        staged = {key.rsplit("/", 1)[-1] for key in s3.keys(prefix)}
        # The plan and the finished shard 0 are in the bucket: its outcomes, header and spool.
        assert {"docs.plan.json", "docs.shard-0.json", "docs.shard-0.outcomes.parquet"} <= staged
        assert any(name.startswith("chunks-") for name in staged), staged
        assert not any(name.endswith(".partial") for name in staged)
        assert "docs.shard-1.json" not in staged, "the killed shard published nothing"
        local = settings.data_dir / "staging"
        assert not local.exists() or not any(local.rglob("*.json")), "nothing staged locally"
        monkeypatch.delenv(STOP_AT_ENV)
        options = dg.ReexecutionOptions.from_failure(failed_run, instance)
        with dg.execute_job(
            dg.reconstructable(sharded_ingestion_job), instance=instance, reexecution_options=options
        ) as resumed:
            assert resumed.success
            rerun = {
                e.step_key for e in instance.all_logs(resumed.run_id, of_type=dg.DagsterEventType.STEP_START)
            }
    assert "sources__docs.docs_shard[0]" not in rerun, "shard 0 was read back from the bucket"
    assert_invariants(settings, config.parent / "corpus")
    assert _files(s3, prefix) == [], "the staging folder is removed once the run committed"


def test_erase_reaches_every_object_in_the_bucket(on_s3: Settings, s3: S3Server, project: Path) -> None:
    """`corpusgov erase` with the index and the staging in the bucket: no object under the
    index's prefix holds the document's rows afterwards (every data file read whole, hidden rows
    included), rewritten versions are still readable there, and the stores agree."""
    from lance.file import LanceFileReader

    from pipelines.governance.erasure import erase_document
    from pipelines.storage import lancedb_storage_options

    corpus = project / "corpus"
    write_doc(corpus, "hr/case.md", procedure_text("case handling for Jordan Whitfield"))
    ingest(on_s3, FakeEmbedder())
    write_doc(corpus, "hr/case.md", procedure_text("case handling for Jordan Whitfield", steps=8))
    ingest(on_s3, FakeEmbedder())
    prefix = prefix_of(on_s3)
    options = lancedb_storage_options(on_s3.lancedb_uri) or None

    def holding() -> list[str]:
        found = []
        for key in s3.keys(prefix):
            if "/data/" in key and key.endswith(".lance"):
                reader = LanceFileReader(
                    f"s3://{s3.bucket}/{key}", storage_options=options, columns=["doc_id"]
                )
                if "docs/hr/case.md" in reader.read_all().to_table().column("doc_id").to_pylist():
                    found.append(key)
        return found

    assert holding(), "the bucket holds the document before the erasure"
    (corpus / "hr" / "case.md").unlink()
    erasure = erase_document(on_s3, "docs/hr/case.md", "request 114")
    assert holding() == []
    assert erasure.certificate["index"]["files_deleted"]
    assert_invariants(on_s3, corpus)
    table = ChunkIndex(on_s3.lancedb_uri).require_table()
    for ref in ("index-v1", "index-v2", "serving"):
        table.checkout(ref)
        assert "docs/hr/case.md" not in set(table.to_arrow().column("doc_id").to_pylist())
