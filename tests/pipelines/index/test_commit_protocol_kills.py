"""Real processes, really killed: an ingestion that exits at each named step of the commit
protocol, and ingestions SIGKILLed at random moments (20 on DuckDB, 10 on PostgreSQL). After
every kill the next run restores every invariant, and the data dir ends where an uninterrupted
run would have put it."""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.governance.ingest import ingest
from pipelines.index.commit_protocol import SERVING_TAG, STOP_POINTS
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import REPO_ROOT, FakeEmbedder, procedure_text, write_doc
from tests.pipelines.store_invariants import assert_invariants, wipe_data_dir

# Every test here runs on both ledger backends: the DuckDB file and a shared PostgreSQL.
pytestmark = [pytest.mark.fleet, pytest.mark.usefixtures("ledger_backend")]

# Kills that land in a running ingestion: 20 on the DuckDB file; 10 on PostgreSQL, where a killed
# writer's transaction and locks end with its connection. The exits at every named step (above)
# cover each point of the protocol on both backends; the random kills add the moments between
# them. 20 + 10 keep the suite within its time budget (each kill costs a run of about 8 s).
KILLS = {"duckdb": 20, "postgres": 10}
TOPICS = (
    "loading dock",
    "cold storage",
    "forklift charging",
    "night shift",
    "returns desk",
    "hazmat cage",
    "yard check",
    "pallet wrap",
)


class Zygote:
    """tests/pipelines/ingest_zygote.py, driven line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.pipelines.ingest_zygote"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def start(self, stop_at: str | None = None) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"ingest {stop_at or ''}\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def wait(self) -> int:
        assert self.process.stdout is not None
        return int(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=30)


@pytest.fixture
def zygote(project: Path) -> Iterator[Zygote]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    warm = Zygote(env)
    yield warm
    warm.close()


def _mutate(corpus: Path, rng: random.Random) -> None:
    """Some work for the next run: a new version of one file, a deletion, an addition."""
    present = sorted(p.name for p in corpus.glob("*.md"))
    if present:
        changed = rng.choice(present)
        write_doc(corpus, changed, procedure_text(changed[:-3].replace("_", " "), steps=rng.randint(3, 12)))
    if len(present) > 3:
        (corpus / rng.choice(present)).unlink()
    topic = rng.choice(TOPICS)
    write_doc(corpus, f"{topic.replace(' ', '_')}_{rng.randint(0, 99)}.md", procedure_text(topic))


def _served_chunk_ids(settings: Settings) -> frozenset[str] | None:
    """What a RAG app reading `serving` sees, read the README's way (plain LanceDB, no
    corpusgov code, no recovery): None when nothing is published."""
    table = ChunkIndex(settings.lancedb_uri).table()
    if table is None or SERVING_TAG not in table.tags.list():
        return None
    table.checkout(SERVING_TAG)
    return frozenset(read_columns(table, ["chunk_id"]).column("chunk_id").to_pylist())


def _check_what_is_served(settings: Settings, served_before: frozenset[str] | None, point: str) -> None:
    """A stopped writer never shows a reader of `serving` rows that were not published: it sees
    what it saw before the run, or, once the run's publication moved the tag, the published
    version, which the ledger commits before the tag moves."""
    served = _served_chunk_ids(settings)
    if served == served_before:
        return
    assert point == "publish.after_tag", f"{point}: `serving` moved before the publication was done"
    published = Ledger.of(settings).serving_version()
    assert published is not None and served == frozenset(Ledger.of(settings).chunk_ids())


def _recover_and_check(corpus: Path) -> None:
    settings = load_settings()
    ingest(settings, FakeEmbedder())
    assert_invariants(settings, corpus)
    # Recovered and published: `serving` holds exactly the ledger's committed rows.
    assert _served_chunk_ids(settings) == frozenset(Ledger.of(settings).chunk_ids())
    again = run_ingestion(settings, FakeEmbedder())
    assert not again.changed and again.index_version is None


def _seed_corpus(corpus: Path) -> None:
    for topic in TOPICS[:5]:
        write_doc(corpus, f"{topic.replace(' ', '_')}.md", procedure_text(topic))


@pytest.mark.parametrize("first_run", [True, False], ids=["first-run", "later-run"])
def test_a_process_exiting_at_any_step_is_recovered(project: Path, zygote: Zygote, first_run: bool) -> None:
    corpus = project / "corpus"
    _seed_corpus(corpus)
    rng = random.Random(7)
    if not first_run:
        run_ingestion(load_settings(), FakeEmbedder())
    for point in (p for p in STOP_POINTS if p.startswith(("commit.", "publish."))):
        if not first_run:
            _mutate(corpus, rng)
        served_before = _served_chunk_ids(load_settings())
        zygote.start(point)
        status = zygote.wait()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 137, f"{point}: not stopped there"
        _check_what_is_served(load_settings(), served_before, point)
        _recover_and_check(corpus)
        if first_run:
            # The next point starts from an empty data dir again.
            wipe_data_dir(load_settings())


def test_sigkills_at_random_moments_never_brick_the_data_dir(
    project: Path, zygote: Zygote, ledger_backend: str
) -> None:
    kills = KILLS[ledger_backend]
    corpus = project / "corpus"
    _seed_corpus(corpus)
    rng = random.Random(20261202)
    # How long an unkilled run takes (the median of three), to spread the kills over it.
    durations = []
    for _ in range(3):
        _mutate(corpus, rng)
        started = time.monotonic()
        zygote.start()
        assert zygote.wait() == 0
        durations.append(time.monotonic() - started)
    duration = sorted(durations)[1]
    killed_mid_run = attempts = 0
    # A kill that lands after the child finished is not a kill: keep going until enough landed.
    while killed_mid_run < kills and attempts < 3 * kills:
        attempts += 1
        _mutate(corpus, rng)
        # Half the kills anywhere in the run, half late in it, where the stores are written.
        delay = (
            rng.uniform(0, duration * 0.95) if attempts % 2 else rng.uniform(duration * 0.6, duration * 0.98)
        )
        pid = zygote.start()
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        status = zygote.wait()
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            killed_mid_run += 1
        else:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"attempt {attempts}: child failed"
        try:
            _recover_and_check(corpus)
        except AssertionError as err:
            raise AssertionError(
                f"attempt {attempts} killed at {delay:.2f}s of a {duration:.2f}s run: {err}"
            ) from err
    assert killed_mid_run == kills, (
        f"only {killed_mid_run} kills in {attempts} attempts hit a running ingestion"
    )
    # And the result is what an uninterrupted run of the same files gives.
    reference = load_settings()
    reference.data_dir = project / "reference-data"
    reference.ledger_url = None  # a data dir of its own, ledger included
    run_ingestion(reference, FakeEmbedder())
    ours = assert_invariants(load_settings(), corpus)
    theirs = assert_invariants(reference, corpus)
    assert set(ours["ledger_chunks"]) == set(theirs["ledger_chunks"])  # type: ignore[arg-type]
    current = {d: s for d, s in ours["documents"].items() if s != "removed"}  # type: ignore[attr-defined]
    assert current == theirs["documents"]
