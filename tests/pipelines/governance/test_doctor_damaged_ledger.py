"""A damaged or empty ledger file as an operator meets it: every command that reads it says it is
damaged and names `corpusgov doctor --repair`, the doctor then finds the damage (never "healthy"
after an ingest told the user to run it), its repair rebuilds the ledger and says what the sources
cannot give back, and an empty file a failed first run left never blocks the next run."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli.app import app
from pipelines.embedding.backends import embedder_from_settings
from pipelines.errors import IndexDamagedError, LedgerBusyError, StorageError
from pipelines.governance.doctor import examine_data_dir, repair_data_dir
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, prepared, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants
from tests.pipelines.test_storage_faults import _cli, _corpus, _one_error_line


def _cli_embedder(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """The fake embedder, under the model id the CLI's default backend records, for the CLI
    commands that embed (run in this process)."""
    embedder = FakeEmbedder(model_id=embedder_from_settings(settings).model_id)
    for module in ("doctor", "ingest"):
        monkeypatch.setattr(f"pipelines.cli.{module}.embedder_from_settings", lambda *a, **k: embedder)
    return embedder


@pytest.mark.fleet  # five real corpusgov processes on the damaged ledger (~20 s)
def test_a_ledger_cut_to_half_is_damaged_for_every_command_and_doctor_rebuilds_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(project)
    settings = load_settings()
    embedder = _cli_embedder(settings, monkeypatch)
    run_ingestion(settings, embedder)
    size = settings.ledger_path.stat().st_size
    os.truncate(settings.ledger_path, size // 2)

    # The reads that used to serve from the first half of the file, and the ingest, all refuse it.
    for command in (["status"], ["documents", "--json"], ["search", "receiving"], ["ingest"]):
        _one_error_line(_cli(*command), "is damaged", "cut short", "doctor --repair")
    doctor = _cli("doctor")
    assert doctor.returncode == 1, doctor.stdout
    assert "FAIL ledger: damaged: the file is cut short" in doctor.stdout.replace("\n", " ")

    repaired = CliRunner().invoke(app, ["doctor", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    said = repaired.output.replace("\n", " ")
    assert "the ledger is damaged" in said and "Not rebuilt:" in said
    set_aside = next((settings.data_dir / "damaged").iterdir()) / settings.ledger_path.name
    assert set_aside.stat().st_size == size // 2, "the damaged ledger is kept as it was"
    assert_invariants(settings, corpus)
    assert _cli("doctor").returncode == 0
    again = CliRunner().invoke(app, ["ingest"])
    assert again.exit_code == 0 and "No changes" in again.output, again.output


# Damage done to the ledger file.
DamageFn = Callable[[Path], None]


def _cut(fraction: float) -> DamageFn:
    def damage(path: Path) -> None:
        os.truncate(path, int(path.stat().st_size * fraction))

    return damage


def _zero_block_at(fraction: float) -> DamageFn:
    """Overwrite one 256 KiB DuckDB block with zeros, the file's length unchanged."""

    def damage(path: Path) -> None:
        block = 262144
        start = 3 * 4096 + int(path.stat().st_size * fraction) // block * block
        with path.open("r+b") as ledger:
            ledger.seek(start)
            ledger.write(b"\0" * block)

    return damage


CUTS = (0.25, 0.5, 0.6, 0.75, 0.9, 0.97)
ZEROED = (0.1, 0.3, 0.6, 0.9)


@pytest.mark.fleet  # ten damaged ledgers, each ingested, examined and repaired
@pytest.mark.parametrize(
    "damage",
    [*(_cut(f) for f in CUTS), *(_zero_block_at(f) for f in ZEROED)],
    ids=[*(f"cut-to-{f:.0%}" for f in CUTS), *(f"zeroed-block-at-{f:.0%}" for f in ZEROED)],
)
def test_when_ingest_advises_doctor_repair_the_doctor_finds_something_to_repair(
    project: Path, damage: DamageFn
) -> None:
    corpus = _corpus(project)

    def two_runs() -> None:
        run_ingestion(load_settings(), FakeEmbedder())
        write_doc(corpus, "receiving.md", procedure_text("receiving", steps=20))
        run_ingestion(load_settings(), FakeEmbedder())

    # The two runs are the same for every damage: made once, copied into the next test.
    prepared(project, "two-runs-before-the-damage", two_runs)
    settings = load_settings()
    damage(settings.ledger_path)
    write_doc(corpus, "night_shift.md", procedure_text("night shift", steps=8))
    try:
        run_ingestion(settings, FakeEmbedder())
    except IndexDamagedError as err:
        assert "doctor --repair" in str(err)
    else:
        # Damage the run never read: nothing to advise, and nothing the doctor may call broken.
        assert examine_data_dir(settings).healthy
        return
    examined = examine_data_dir(settings)
    assert not examined.healthy, examined.as_json()
    assert examined.findings[0].check == "ledger" and "damaged" in examined.findings[0].detail
    report = repair_data_dir(settings, FakeEmbedder())
    assert report.healthy, report.as_json()
    assert report.repairs[0].startswith("the ledger is damaged"), report.repairs
    assert_invariants(settings, corpus)
    assert not run_ingestion(settings, FakeEmbedder()).changed


def test_an_empty_ledger_file_counts_as_no_ledger_and_the_first_run_replaces_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(project)
    settings = load_settings()
    settings.ledger_path.parent.mkdir(parents=True)
    settings.ledger_path.write_bytes(b"")  # what a first open leaves when the disk is full
    status = _cli("status")
    assert status.returncode == 0 and "none yet" in status.stdout, status.stderr
    doctor = _cli("doctor")
    assert doctor.returncode == 0 and "an empty ledger file" in doctor.stdout.replace("\n", " "), (
        doctor.stdout
    )
    _cli_embedder(settings, monkeypatch)
    first = CliRunner().invoke(app, ["ingest"])
    assert first.exit_code == 0 and "Index version 1" in first.output, first.output
    assert_invariants(settings, corpus)


def test_an_empty_ledger_file_with_a_write_ahead_log_is_never_replaced(project: Path) -> None:
    """An empty file beside a log of writes may hold data: it is damage to repair, not a file to
    replace, and the repair keeps both."""
    corpus = _corpus(project)
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    wal = settings.ledger_path.with_name(settings.ledger_path.name + ".wal")
    wal.write_bytes(b"\1" * 4096)
    os.truncate(settings.ledger_path, 0)
    with pytest.raises(IndexDamagedError, match="doctor --repair"):
        run_ingestion(settings, FakeEmbedder())
    assert settings.ledger_path.exists() and wal.stat().st_size == 4096
    assert not examine_data_dir(settings).healthy
    report = repair_data_dir(settings, FakeEmbedder())
    assert report.healthy, report.as_json()
    assert report.set_aside is not None
    assert (Path(report.set_aside) / wal.name).stat().st_size == 4096
    assert_invariants(settings, corpus)


def test_an_empty_ledger_file_another_process_holds_is_left_alone(tmp_path: Path) -> None:
    """A 0-byte file locked as DuckDB locks the file it is creating: another process is writing
    its header this instant, so it is waited for, never removed from under it."""
    path = tmp_path / "ledger.duckdb"
    path.write_bytes(b"")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        inode = path.stat().st_ino
        with pytest.raises(LedgerBusyError), Ledger(path, busy_retry_seconds=0.5).connect():
            pass
        assert path.stat().st_ino == inode and path.stat().st_size == 0
    finally:
        holder.communicate("", timeout=30)


@pytest.mark.server  # mounts a real small tmpfs (root only; skipped elsewhere)
def test_a_disk_full_before_the_first_run_then_freed_lets_the_next_run_succeed(
    project: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(project)
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("data_dir: data", f"data_dir: {small_disk / 'data'}"),
        encoding="utf-8",
    )
    settings = load_settings()
    filler = small_disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    _cli_embedder(settings, monkeypatch)
    with pytest.raises(StorageError, match="Free space"):
        CliRunner().invoke(app, ["ingest"], catch_exceptions=False)
    assert settings.ledger_path.stat().st_size == 0, "the failed first open left its empty file"
    filler.unlink()
    # The advice was "free space and run the command again": that alone is enough.
    again = CliRunner().invoke(app, ["ingest"])
    assert again.exit_code == 0 and "Index version 1" in again.output, again.output
    assert_invariants(settings, corpus)
    assert examine_data_dir(settings).healthy
