"""Shared test fixtures: a deterministic fake embedder, throwaway projects, and no network."""

import atexit
import hashlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    import dagster as dg

    from tests.pipelines.postgres_server import PostgresServer

import pipelines  # noqa: F401 - sets the offline switches before anything else imports the libraries

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTRACT = REPO_ROOT / "contracts" / "default.odcs.yaml"
_TOKEN = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed words, unit length: similar texts get similar vectors, and it records every
    text it was asked to embed so tests can assert what reached the model."""

    def __init__(self, dimensions: int = 384, model_id: str = "fake-embedder@test") -> None:
        self._dimensions = dimensions
        self._model_id = model_id
        self.calls: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def embedded_texts(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")
                out[row, bucket % self._dimensions] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self._dimensions)
        return out


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts the session's PostgreSQL is a `server` test however it asks for it, so
    the default selection (-m in pyproject.toml) leaves it to `make test`."""
    for item in items:
        if "shared_postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True, scope="session")
def _one_model_export_per_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The ONNX export of the bundled model takes seconds: every data dir of the session (and
    every subprocess) shares one instead of exporting into each."""
    from pipelines.embedding.model import MODEL_CACHE_ENV

    previous = os.environ.get(MODEL_CACHE_ENV)
    os.environ[MODEL_CACHE_ENV] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if previous is None:
        os.environ.pop(MODEL_CACHE_ENV, None)
    else:
        os.environ[MODEL_CACHE_ENV] = previous


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def dagster_definitions() -> "dg.Definitions":
    """The code location as Dagster loads it, with the fake embedder bound (the one place an
    embedder enters the Dagster path)."""
    from pipelines.definitions import build_definitions
    from pipelines.defs.resources import EmbedderResource

    class FakeEmbedderResource(EmbedderResource):
        def embedder(self, settings: object) -> FakeEmbedder:
            return FakeEmbedder()

    return build_definitions({"embedder": FakeEmbedderResource()})


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails the test: nothing is fetched at run time."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(self, address)
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def write_doc(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
    return path


def use_contract(project: Path, contract: str, name: str) -> None:
    """The source's contract: `contract` written to `name` in the project, in place of the default."""
    path = project / name
    path.write_text(contract, encoding="utf-8")
    config = project / "corpusgov.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(str(DEFAULT_CONTRACT), str(path)), encoding="utf-8"
    )


def corpusgov_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> "subprocess.CompletedProcess[str]":
    """`corpusgov <args>` as the program runs it (`main`: its error handling, its exit code, what
    it prints on stdout and stderr), in this process: a table of user mistakes pays the second
    of a Python start and the CLI's imports once, not once a row. Reports what a finished
    process would; the SIGINT handler `main` sets is put back for the rest of the session."""
    from pipelines.cli.app import main

    monkeypatch.setattr(sys, "argv", ["corpusgov", *args])
    capsys.readouterr()
    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        signal.signal(signal.SIGINT, previous)
    code = exited.value.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(
        ["corpusgov", *args], 0 if code is None else code if isinstance(code, int) else 1, out.out, out.err
    )


_prepared: dict[str, Path] = {}
_prepared_store: Path | None = None


def inputs_digest(root: Path) -> str:
    """Every file under `root` (path and bytes): what a build starts from."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepared(root: Path, key: str, build: Callable[[], object]) -> bool:
    """Run `build()` (an ingestion a test starts from) in `root`, or put back the copy of `root`
    an earlier test's identical build left. An ingestion costs a second or more; many tests start
    from the same one. Identical means the same `key` and the same files under `root` before the
    build (config and corpus, byte for byte), so a test that changed its inputs builds its own.
    The copy keeps file times, so discovery sees the files unchanged, as after the build itself.
    Only when the config ($CORPUSGOV_CONFIG) keeps the DuckDB ledger and the index under `root`:
    on PostgreSQL or S3 they are not in the folder, so it builds every time. True when it restored."""
    global _prepared_store
    from pipelines.settings import load_settings

    settings = load_settings()
    inside = root.resolve()
    copyable = (
        settings.ledger_url is None
        and settings.data_dir.resolve().is_relative_to(inside)
        and Path(settings.lancedb_uri).resolve().is_relative_to(inside)
        # A config naming `root` itself is this test's alone: nothing to share.
        and str(root) not in (root / "corpusgov.yaml").read_text(encoding="utf-8")
    )
    if not copyable:
        build()
        return False
    name = f"{key}-{inputs_digest(root)}"
    if name in _prepared:
        # `root` as the build left it: what the build deleted goes too.
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        shutil.copytree(_prepared[name], root, dirs_exist_ok=True)
        return True
    build()
    if _prepared_store is None:
        _prepared_store = Path(tempfile.mkdtemp(prefix="corpusgov-prepared-"))
        atexit.register(shutil.rmtree, _prepared_store, True)
    snapshot = _prepared_store / str(len(_prepared))
    shutil.copytree(root, snapshot)
    _prepared[name] = snapshot
    return False


ONE_ITEM_EVAL_SET = (
    '{"id": "q01", "question": "Who reviewed the receiving procedure?", "reference_answer": '
    '"The site safety officer.", "gold": [{"doc_id": "docs/receiving.md", "passage": "It applies '
    'to every shift and was reviewed by the site safety officer."}], "split": "dev"}\n'
)


def add_eval_set(project: Path, items: str = ONE_ITEM_EVAL_SET) -> None:
    """An eval set `sample` in the project's config (by default one item on `receiving.md`, as
    `procedure_text("receiving")` writes it)."""
    (project / "sample.jsonl").write_text(items, encoding="utf-8")
    with (project / "corpusgov.yaml").open("a", encoding="utf-8") as config:
        config.write("evals:\n  sets:\n    - name: sample\n      path: sample.jsonl\n  k: 3\n")


def procedure_text(topic: str, steps: int = 6) -> str:
    """A realistic enterprise document body that passes the default contract and grades well."""
    lines = [f"# {topic.title()} procedure", ""]
    lines.append(
        f"This procedure explains how the operations team handles {topic} at the Northwind "
        "warehouse. It applies to every shift and was reviewed by the site safety officer."
    )
    lines.append("")
    for i in range(1, steps + 1):
        lines.append(
            f"{i}. Check the {topic} log for open items, confirm the owner of step {i}, and record "
            f"the outcome in the shift report before the handover meeting starts."
        )
    lines.append("")
    lines.append(
        f"If anything about {topic} is unclear, ask the shift lead before you continue. Never skip "
        "a step because the queue is long; a missed check costs more than a late truck."
    )
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway project: corpusgov.yaml with one source `docs` under tmp_path/corpus."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / "corpusgov.yaml").write_text(
        f"data_dir: data\nsources:\n  - name: docs\n    path: corpus\n    contract: {DEFAULT_CONTRACT}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CORPUSGOV_CONFIG", str(tmp_path / "corpusgov.yaml"))
    monkeypatch.delenv("CORPUSGOV_DATA_DIR", raising=False)
    yield tmp_path


@pytest.fixture(scope="session")
def shared_postgres() -> "Iterator[PostgresServer]":
    """One throwaway PostgreSQL cluster for the session's shared-ledger tests."""
    from tests.pipelines.postgres_server import postgres_server

    with postgres_server("corpusgov") as server:
        yield server


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.server)])
def ledger_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test twice: on the DuckDB file in the data dir, and on a fresh database of a real
    PostgreSQL (ledger_url, through $CORPUSGOV_LEDGER_URL, as a pod would get it), so the
    invariant tests hold on both backends. Subprocesses inherit the variables."""
    monkeypatch.delenv("CORPUSGOV_LEDGER_URL", raising=False)
    if request.param == "postgres":
        from tests.pipelines.postgres_server import PASSWORD

        server = request.getfixturevalue("shared_postgres")
        database = f"ledger_{next(_databases)}"
        server.create_database(database)
        monkeypatch.setenv("CORPUSGOV_LEDGER_URL", server.ledger_url(database))
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return str(request.param)


_databases = itertools.count(1)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MiB tmpfs (root may mount one; elsewhere the tests skip)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
