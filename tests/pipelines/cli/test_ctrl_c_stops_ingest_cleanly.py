"""Ctrl-C at random moments of a real `corpusgov ingest`: SIGINT to the program's process group,
as a terminal sends it. Each time the program exits 130 with one line that says whether the run
committed (or 0, when it had finished), no traceback from it or its parser worker, no abort; the
line is true of the ledger, the languages it recorded are right (no half-loaded detector), and
the next run starts from a consistent data dir."""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.governance.ingest import ingest
from pipelines.index.commit_protocol import STOP_POINTS
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from pipelines.stop_points import STOP_AT_ENV, STOP_MODE_ENV
from tests.conftest import REPO_ROOT, FakeEmbedder, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants, ledger_records

pytestmark = pytest.mark.fleet

# Interrupts that must land in a running program. Each costs a run of a few seconds (the
# program's start, its parser worker's, a walk of a few files) and a recovery check.
INTERRUPTS = 20
# Python's own start (before corpusgov's first line runs) is not corpusgov's to handle.
INTERPRETER_START_SECONDS = 0.15
NOTHING_COMMITTED = "Error: Interrupted; nothing of this run was committed."
COMMITTED_AS = "Error: Interrupted after the commit: committed as index version "

# One document per language a half-loaded detector got wrong (French read as English, Spanish and
# Italian as Romanian), added in turns: each run assesses one.
TEXTS: dict[str, Callable[[str], str]] = {
    "en": procedure_text,
    "fr": lambda topic: (
        f"# Procédure {topic}\n\nCette procédure explique comment l'équipe des opérations gère le "
        "quai de chargement de l'entrepôt. Elle s'applique à chaque équipe et a été relue par le "
        "responsable de la sécurité du site.\n\n"
        + "".join(
            f"{i}. Vérifiez le registre pour les points ouverts, confirmez le responsable de l'étape "
            f"{i} et notez le résultat dans le rapport avant la réunion de relève.\n"
            for i in range(1, 7)
        )
    ),
    "es": lambda topic: (
        f"# Procedimiento {topic}\n\nEste procedimiento explica cómo el equipo de operaciones gestiona "
        "el muelle de carga del almacén. Se aplica a todos los turnos y fue revisado por el "
        "responsable de seguridad del centro.\n\n"
        + "".join(
            f"{i}. Revise el registro de los puntos abiertos, confirme el responsable del paso {i} "
            "y anote el resultado en el informe del turno antes de la reunión de relevo.\n"
            for i in range(1, 7)
        )
    ),
    "it": lambda topic: (
        f"# Procedura {topic}\n\nQuesta procedura spiega come la squadra delle operazioni gestisce la "
        "banchina di carico del magazzino. Si applica a ogni turno ed è stata rivista dal "
        "responsabile della sicurezza del sito.\n\n"
        + "".join(
            f"{i}. Controllate il registro dei punti aperti, confermate il responsabile del passo {i} "
            "e annotate il risultato nel rapporto del turno prima della riunione di consegna.\n"
            for i in range(1, 7)
        )
    ),
}


def _mutate(corpus: Path, rng: random.Random, attempt: int) -> None:
    """Some work for the next run: one file changed, one removed, one added in a language."""
    present = sorted(p.name for p in corpus.glob("en_*.md"))
    if present:
        changed = rng.choice(present)
        write_doc(corpus, changed, procedure_text(changed[3:-3], steps=rng.randint(3, 12)))
    if len(present) > 4:
        (corpus / rng.choice(present)).unlink()
    language = list(TEXTS)[attempt % len(TEXTS)]
    write_doc(corpus, f"{language}_{attempt}.md", TEXTS[language](f"dock {attempt}"))


def _corpusgov_ingest(project: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pipelines.cli.fake_embedder_cli", "ingest"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,  # as a shell starts a job: the terminal's Ctrl-C goes to this group
    )


def _latest_index_version() -> int | None:
    latest = Ledger.of(load_settings()).latest_index_version()
    return None if latest is None else latest.index_version


def _check_languages() -> None:
    """Every document's recorded language is the one its file was written in."""
    rows = ledger_records(load_settings(), "SELECT doc_id, language FROM documents WHERE state <> 'removed'")
    wrong = {r["doc_id"]: r["language"] for r in rows if r["language"] != str(r["doc_id"])[5:7]}
    assert not wrong, f"languages recorded wrong: {wrong}"


def test_ctrl_c_at_random_moments_stops_ingest_cleanly(project: Path) -> None:
    corpus = project / "corpus"
    for i in range(4):
        write_doc(corpus, f"en_topic{i}.md", procedure_text(f"topic{i}"))
    rng = random.Random(20261207)
    # How long an uninterrupted run takes, to spread the interrupts over it (and a bit past it).
    durations = []
    for attempt in range(2):
        _mutate(corpus, rng, attempt)
        started = time.monotonic()
        done = _corpusgov_ingest(project)
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
        durations.append(time.monotonic() - started)
    duration = max(durations)
    interrupted = attempts = 0
    outcomes: list[str] = []
    while interrupted < INTERRUPTS and attempts < 2 * INTERRUPTS:
        attempts += 1
        _mutate(corpus, rng, attempts + 1)
        before = _latest_index_version()
        delay = rng.uniform(INTERPRETER_START_SECONDS, duration * 1.05)
        program = _corpusgov_ingest(project)
        time.sleep(delay)
        try:
            os.killpg(program.pid, signal.SIGINT)
        except ProcessLookupError:
            pass  # it had ended
        out, err = program.communicate(timeout=300)
        said = (
            f"attempt {attempts}, Ctrl-C at {delay:.2f}s of a {duration:.2f}s run: exit {program.returncode}"
        )
        assert "Traceback" not in out + err, f"{said}\n{err}"
        assert program.returncode in (0, 130), f"{said} (a negative code is a signal: -6 SIGABRT)\n{err}"
        lines = [line for line in (out + err).splitlines() if "Interrupted" in line]
        after = _latest_index_version()
        if program.returncode == 0:
            assert not lines, f"{said}: {lines}"
            outcomes.append("finished")
        else:
            interrupted += 1
            assert len(lines) == 1, f"{said}: {lines}\n{err}"
            if lines[0] == NOTHING_COMMITTED:
                assert after == before, f"{said}: said nothing committed, the ledger went {before} -> {after}"
                outcomes.append("nothing committed")
            else:
                assert lines[0].startswith(COMMITTED_AS), f"{said}: {lines[0]}"
                assert after is not None and after != before
                assert lines[0].startswith(f"{COMMITTED_AS}{after}."), f"{said}: the ledger holds {after}"
                outcomes.append("after the commit")
        _check_languages()
        # The next run starts from what the interrupted one left, and leaves every invariant.
        settings = load_settings()
        ingest(settings, FakeEmbedder())
        assert_invariants(settings, corpus)
        _check_languages()
        again = run_ingestion(settings, FakeEmbedder())
        assert not again.changed and again.index_version is None, said
    assert interrupted == INTERRUPTS, f"only {interrupted} of {attempts} interrupts hit a running program"
    # The moments covered both sides of the commit.
    assert "nothing committed" in outcomes, outcomes


# The points a first run passes, in order (pipelines/index/commit_protocol.py): the ledger's
# transaction is the commit.
RUN_POINTS = [p for p in STOP_POINTS if p.startswith(("commit.", "publish."))]
COMMITTED_FROM = RUN_POINTS.index("commit.after_ledger_commit")


def _wait_until_stopped(program: subprocess.Popen[str], point: str) -> None:
    """Until the program has suspended itself at `point` (state T in /proc)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if program.poll() is not None:
            raise AssertionError(f"the run ended (exit {program.returncode}) before {point}")
        with open(f"/proc/{program.pid}/stat", encoding="ascii") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach {point}")


@pytest.mark.parametrize("point", RUN_POINTS[: COMMITTED_FROM + 1] + ["publish.after_tag"])
def test_the_line_says_whether_the_interrupted_run_committed(project: Path, point: str) -> None:
    """A Ctrl-C exactly at each step of the commit: the program stops itself there, the terminal's
    SIGINT arrives, and it goes on to meet it."""
    write_doc(project / "corpus", "en_receiving.md", procedure_text("receiving"))
    program = _corpusgov_ingest(project, **{STOP_AT_ENV: point, STOP_MODE_ENV: "pause"})
    _wait_until_stopped(program, point)
    os.killpg(program.pid, signal.SIGINT)
    os.killpg(program.pid, signal.SIGCONT)
    out, err = program.communicate(timeout=300)
    assert program.returncode == 130, err
    assert "Traceback" not in out + err, err
    lines = [line for line in (out + err).splitlines() if "Interrupted" in line]
    if RUN_POINTS.index(point) < COMMITTED_FROM:
        assert lines == [NOTHING_COMMITTED]
        assert _latest_index_version() is None
    else:
        assert lines == [
            f"{COMMITTED_AS}1. Run `corpusgov ingest` again to finish what follows the commit "
            "(the eval sets, the publication)."
        ]
        assert _latest_index_version() == 1
    settings = load_settings()
    ingest(settings, FakeEmbedder())
    assert_invariants(settings, project / "corpus")
    assert _latest_index_version() == 1
