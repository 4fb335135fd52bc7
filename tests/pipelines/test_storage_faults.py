"""Storage faults as an operator meets them: a full disk on the first run and at the ledger commit
(a real small tmpfs), a truncated ledger, a deleted LanceDB manifest, a deleted data file. Each is
one `Error:` line that says what to do, nothing half-written stays behind, and
`corpusgov doctor --repair` brings the data dir back."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.embedding.backends import embedder_from_settings
from pipelines.errors import IndexDamagedError, StorageError
from pipelines.evaluation import eval_results
from pipelines.governance.catalog import corpus_status, list_documents, search_corpus
from pipelines.governance.doctor import examine_data_dir, repair_data_dir
from pipelines.governance.ingest import ingest
from pipelines.ledger import Ledger
from pipelines.ledger.evals import latest_eval_version
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, add_eval_set, dagster_definitions, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants

TOPICS = ("receiving", "dispatch", "returns", "cycle count", "cold chain", "yard check")


def _corpus(project: Path) -> Path:
    corpus = project / "corpus"
    for topic in TOPICS:
        write_doc(corpus, f"{topic.replace(' ', '_')}.md", procedure_text(topic, steps=12))
    return corpus


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )


def _one_error_line(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr.replace("\n", " "), result.stderr


def _repaired(settings: Settings, corpus: Path, embedder: FakeEmbedder | None = None) -> None:
    embedder = embedder or FakeEmbedder()
    report = repair_data_dir(settings, embedder)
    assert report.healthy, report.as_json()
    assert report.set_aside and Path(report.set_aside).exists(), "the damaged store is kept aside"
    assert_invariants(settings, corpus)
    assert {r["state"] for r in list_documents(settings)} == {"indexed"}
    assert not run_ingestion(settings, embedder).changed


@pytest.mark.fleet  # five real corpusgov processes on the truncated ledger (~15 s)
def test_a_truncated_ledger_is_one_error_line_and_doctor_rebuilds(project: Path) -> None:
    corpus = _corpus(project)
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    size = settings.ledger_path.stat().st_size
    with settings.ledger_path.open("r+b") as ledger:
        # A cut into the blocks every command reads (DuckDB still reads a file cut after them).
        ledger.truncate(size // 4)
    for command in (["status"], ["search", "receiving"], ["ingest"], ["documents", "--json"]):
        _one_error_line(_cli(*command), "cannot be", "doctor --repair")
    doctor = _cli("doctor")
    assert doctor.returncode == 1 and "FAIL" in doctor.stdout
    _repaired(settings, corpus)


def _delete_latest_manifest(settings: Settings) -> None:
    versions = Path(settings.lancedb_uri) / "chunks.lance" / "_versions"
    # Lance names manifests by u64::MAX - version: the smallest name is the newest version.
    newest = min(p for p in versions.iterdir() if p.suffix == ".manifest")
    newest.unlink()
    hint = versions / "latest_version_hint.json"
    if hint.exists():
        hint.unlink()


def test_a_deleted_manifest_is_noticed_by_status_and_ingest(project: Path) -> None:
    corpus = _corpus(project)
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    write_doc(corpus, "receiving.md", procedure_text("receiving", steps=3))
    run_ingestion(settings, FakeEmbedder())
    _delete_latest_manifest(settings)
    assert "behind the ledger" in (corpus_status(settings).index_problem or "")
    _one_error_line(_cli("status"), "behind the ledger", "corpusgov doctor")
    with pytest.raises(IndexDamagedError, match="doctor --repair"):
        run_ingestion(settings, FakeEmbedder())
    assert not examine_data_dir(settings).healthy
    _repaired(settings, corpus)


@pytest.mark.model  # its CLI search embeds the query with the real model
def test_a_deleted_data_file_is_noticed_by_ingest_and_search(project: Path) -> None:
    corpus = _corpus(project)
    settings = load_settings()
    # The model id the CLI's default backend records (its search runs in a subprocess below).
    embedder = FakeEmbedder(model_id=embedder_from_settings(settings).model_id)
    ingest(settings, embedder)  # committed and published: what search reads
    data_files = sorted((Path(settings.lancedb_uri) / "chunks.lance" / "data").iterdir())
    data_files[0].unlink()
    with pytest.raises(IndexDamagedError, match="cannot be read"):
        run_ingestion(settings, embedder)  # never "No changes" on an unreadable index
    with pytest.raises(IndexDamagedError, match="doctor"):
        search_corpus(settings, embedder, "receiving", k=50)
    _one_error_line(_cli("search", "receiving", "--k", "50"), "cannot be read", "doctor")
    _repaired(settings, corpus, embedder)
    assert search_corpus(settings, embedder, "receiving", k=3)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def _on_disk(project: Path, disk: Path) -> Settings:
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("data_dir: data", f"data_dir: {disk / 'data'}"),
        encoding="utf-8",
    )
    return load_settings()


def _disk_fills_at(point: str, disk: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Fill the disk when the run reaches `point` of the commit protocol."""
    import pipelines.run.ingestion as ingestion

    real_stop_point = ingestion.stop_point
    fillers: list[Path] = []

    def fill_then_go_on(name: str) -> None:
        if name == point:
            fillers.append(_fill(disk))
        real_stop_point(name)

    monkeypatch.setattr(ingestion, "stop_point", fill_then_go_on)
    return fillers


@pytest.mark.parametrize(
    ("first_run", "point"),
    [(True, "commit.after_intent"), (False, "commit.after_intent"), (False, "commit.after_index_write")],
    ids=["first-run-index-write", "index-write", "ledger-commit"],
)
def test_a_full_disk_while_committing_is_one_clear_error_and_recovered(
    project: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch, first_run: bool, point: str
) -> None:
    corpus = _corpus(project)
    settings = _on_disk(project, small_disk)
    if not first_run:
        run_ingestion(settings, FakeEmbedder())
        write_doc(corpus, "receiving.md", procedure_text("receiving", steps=30))
        write_doc(corpus, "night_shift.md", procedure_text("night shift", steps=30))
    versions_before = 0 if first_run else 1
    fillers = _disk_fills_at(point, small_disk, monkeypatch)
    with pytest.raises(StorageError, match="full") as raised:
        run_ingestion(settings, FakeEmbedder())
    assert "no transaction is active" not in str(raised.value)
    assert "Free space" in str(raised.value)
    monkeypatch.undo()
    for filler in fillers:
        filler.unlink()
    # Space is back: the next run rolls back what the failed one started, then applies it once.
    run_ingestion(settings, FakeEmbedder())
    after = assert_invariants(settings, corpus)
    assert after["versions"][-1][0] == versions_before + 1  # type: ignore[index]
    assert not run_ingestion(settings, FakeEmbedder()).changed


def test_a_full_disk_when_tagging_keeps_the_committed_run(
    project: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger committed: the run is done. The tag comes with the next writer's recovery."""
    corpus = _corpus(project)
    settings = _on_disk(project, small_disk)
    fillers = _disk_fills_at("commit.after_ledger_commit", small_disk, monkeypatch)
    report = run_ingestion(settings, FakeEmbedder())
    assert report.index_version is not None
    monkeypatch.undo()
    for filler in fillers:
        filler.unlink()
    assert not run_ingestion(settings, FakeEmbedder()).changed
    assert_invariants(settings, corpus)


@pytest.mark.parametrize("stage", ["spooling chunks", "writing index rows"])
def test_a_full_disk_while_the_run_stages_its_chunks_is_one_clear_error_and_commits_nothing(
    project: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    import pipelines.run.ingestion as ingestion
    import pipelines.run.spool as chunk_spool

    corpus = _corpus(project)
    settings = _on_disk(project, small_disk)
    monkeypatch.setattr(chunk_spool, "SPOOL_ROWS", 2)  # the spool writes while documents are prepared
    fillers: list[Path] = []
    if stage == "spooling chunks":
        real_process_file = ingestion.process_file

        def process_file(*args: object, **kwargs: object) -> object:
            if not fillers:
                fillers.append(_fill(small_disk))
            return real_process_file(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ingestion, "process_file", process_file)
    else:
        real_build = ingestion.build_index_rows

        def build_index_rows(*args: object, **kwargs: object) -> object:
            fillers.append(_fill(small_disk))
            return real_build(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ingestion, "build_index_rows", build_index_rows)
    with pytest.raises(StorageError, match="full") as raised:
        run_ingestion(settings, FakeEmbedder())
    assert "Free space" in str(raised.value) and "nothing of this run was committed" in str(raised.value)
    assert Ledger.of(settings).latest_index_version() is None
    assert not any((settings.data_dir / "staging").glob("*")), "the failed run's staging is removed"
    monkeypatch.undo()
    for filler in fillers:
        filler.unlink()
    report = run_ingestion(settings, FakeEmbedder())
    assert report.index_version is not None and report.index_version.index_version == 1
    assert_invariants(settings, corpus)


def test_a_lost_index_repaired_leaves_a_working_pipeline_with_its_eval_sets(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index lost (a deleted `lancedb/`), `doctor --repair` rebuilds it and exits 0; the eval
    sets follow the rebuilt version though the versions their last results were measured on can no
    longer be read (every item scored afresh), and the next ingest and rebaseline succeed."""
    corpus = _corpus(project)
    add_eval_set(project)
    embedder = FakeEmbedder(model_id=embedder_from_settings(load_settings()).model_id)
    for module in ("doctor", "ingest", "evals"):
        monkeypatch.setattr(f"pipelines.cli.{module}.embedder_from_settings", lambda *a, **k: embedder)
    settings = load_settings()
    ingest(settings, embedder)
    write_doc(corpus, "returns.md", procedure_text("returns", steps=14))
    ingest(settings, embedder)  # v2: the eval set's last baseline is on it
    shutil.rmtree(settings.lancedb_uri)

    runner = CliRunner()
    repaired = runner.invoke(app, ["doctor", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert_invariants(settings, corpus)
    ledger = Ledger.of(settings)
    rebuilt = ledger.latest_index_version()
    assert rebuilt is not None and rebuilt.index_version == 3
    assert latest_eval_version(ledger, "sample").index_version == 3  # type: ignore[union-attr]
    assert any(r.index_version == 3 for r in eval_results(ledger, "sample", "dev"))

    write_doc(corpus, "receiving.md", procedure_text("receiving", steps=15))
    edited = runner.invoke(app, ["ingest"])
    assert edited.exit_code == 0, edited.output
    assert "Index version 4" in edited.output
    rebaselined = runner.invoke(app, ["evals", "rebaseline"])
    assert rebaselined.exit_code == 0, rebaselined.output
    assert_invariants(settings, corpus)


@pytest.mark.dagster
def test_after_a_repaired_index_loss_the_dagster_job_succeeds(project: Path) -> None:
    corpus = _corpus(project)
    add_eval_set(project)
    settings = load_settings()
    embedder = FakeEmbedder()
    ingest(settings, embedder)
    write_doc(corpus, "returns.md", procedure_text("returns", steps=14))
    ingest(settings, embedder)
    shutil.rmtree(settings.lancedb_uri)
    assert repair_data_dir(settings, embedder).healthy

    write_doc(corpus, "receiving.md", procedure_text("receiving", steps=15))
    job = dagster_definitions().resolve_job_def("ingestion")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
    assert result.success
    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    assert latest is not None and latest.index_version == 4
    assert latest_eval_version(ledger, "sample").index_version == 4  # type: ignore[union-attr]
    assert_invariants(settings, corpus)
