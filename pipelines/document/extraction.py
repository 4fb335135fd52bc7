"""Bounded extraction: everything that reads a file's bytes runs in a worker process, within limits.

Parsers are where a hostile file costs the most: a 263 KB DOCX that unzips to 77 MB of XML, a
200 MB text file, a PDF that makes pdfminer spin. So the work on raw bytes (parse, declared
metadata, C2PA, safety scan, PII redaction, chunking) happens in a worker process that the run
can time and measure, and kill without losing anything else:

- before parsing: the bytes on disk (in discovery), the unpacked size and compression ratio of a
  DOCX's zip members, the length of a text file once decoded;
- while parsing: a wall-clock budget and a memory ceiling for the worker; the extracted text
  length after parsing.

A file over a limit becomes a rejected document with `parse.limit_exceeded`, never a failed run.
A text longer than the contract's maxLength stops right after the parse (`OverContractLength`):
the run quarantines it with `contract.text_too_long` without scanning, chunking, assessing or
embedding it, so it costs its parse, not minutes and gigabytes.

The worker stays up for a whole run (and for the next runs of a long-lived process), so the import
of unstructured is paid once; a worker killed over a limit is replaced on the next file. A process
that runs one ingest (the CLI's, a Dagster shard step) stops it after its last file
(pipelines/run/ingestion.py `prepare_shard`): its 200 to 700 MB are then free for the embedding's
peak and the commit, and a later parse would start a new one.
"""

import atexit
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from io import BytesIO
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from contracts import ChunkingPolicy
from contracts.document_contract import FileLimits
from pipelines.document.chunking import Chunk
from pipelines.document.discovery import DOCX, MARKDOWN, PLAIN_TEXT, decode_text
from pipelines.errors import CorpusgovError

LIMIT_EXCEEDED = "parse.limit_exceeded"
PARSE_FAILED = "parse.failed"
# The worker was killed from outside while it held the file (the OOM killer, a container stop):
# nothing is known of the file, so the next run reads it again, up to PARSE_ATTEMPTS times.
PARSE_INTERRUPTED = "parse.interrupted"
PARSE_ATTEMPTS = 3
WORKER_READY = "ready"  # the worker's first message: the parsers are imported
_POLL_SECONDS = 0.05
_STARTUP_SECONDS = 180.0  # importing unstructured on a loaded 2-core machine
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ExtractionUnavailableError(CorpusgovError):
    """The parser process cannot start at all (as opposed to one file it cannot read)."""


@dataclass(frozen=True)
class ExtractionRequest:
    doc_id: str
    data: bytes
    mime_type: str
    file_name: str
    limits: FileLimits
    chunking: ChunkingPolicy
    redact_pii: bool
    # The contract's text maxLength (None: not set, or a recorded release overrides it): a longer
    # text is decided on its length alone, before the work whose cost grows with it.
    max_contract_chars: int | None = None


@dataclass(frozen=True)
class Extraction:
    """What the worker read from one file."""

    text: str
    title: str | None
    declared: dict[str, str]
    c2pa: Any  # corpus_quality.c2pa_evidence.C2paEvidence | None
    safety_flags: tuple[Any, ...]  # corpus_quality.safety.SafetyFlag
    chunks: tuple[Chunk, ...]
    redacted: int = 0
    # Under `piiPolicy: redact`: (kind, spans redacted) for each kind redacted, for the record.
    redacted_kinds: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ExtractionRefused:
    """A file that could not be read within its limits, or at all: a rejected document."""

    reason: str  # parse.limit_exceeded | parse.failed | parse.interrupted
    detail: str


@dataclass(frozen=True)
class OverContractLength:
    """A file whose extracted text is longer than its contract accepts (the text's maxLength).
    The worker stops there: no safety scan, redaction or chunking, and the run neither assesses
    nor embeds it. What comes back is what its quarantine record shows."""

    text_chars: int
    title: str | None
    declared: dict[str, str]
    language: str | None


# What the worker answers for one file.
ExtractionResult = Extraction | ExtractionRefused | OverContractLength


@dataclass
class _Worker:
    process: Any
    connection: Connection
    stderr: "_StderrTail"
    ready: bool = False


class ExtractionWorker:
    """One worker process, reused file after file, replaced when it is killed or dies."""

    def __init__(self) -> None:
        self._worker: _Worker | None = None

    def extract(self, request: ExtractionRequest) -> Extraction | ExtractionRefused:
        refused = check_before_parsing(request)
        if refused is not None:
            return refused
        worker = self._ensure_worker()
        try:
            worker.connection.send(request)
        except (BrokenPipeError, EOFError, OSError):
            self._discard()
            worker = self._ensure_worker()
            worker.connection.send(request)
        deadline = time.monotonic() + request.limits.max_parse_seconds
        while True:
            try:
                if worker.connection.poll(_POLL_SECONDS):
                    answer: Extraction | ExtractionRefused = worker.connection.recv()
                    return answer
            except (EOFError, OSError):
                return self._died(worker)
            if worker.process.poll() is not None:
                return self._died(worker)
            if time.monotonic() > deadline:
                self._discard()
                return ExtractionRefused(
                    LIMIT_EXCEEDED,
                    f"parsing took longer than {request.limits.max_parse_seconds:g} s "
                    "(limits.maxParseSeconds in the contract); the parser was stopped",
                )
            rss = _resident_bytes(worker.process.pid)
            if rss is not None and rss > request.limits.max_parse_memory_bytes:
                self._discard()
                return ExtractionRefused(
                    LIMIT_EXCEEDED,
                    f"parsing needed more than {_megabytes(request.limits.max_parse_memory_bytes)} "
                    "of memory (limits.maxParseMemoryBytes in the contract); the parser was stopped",
                )

    def close(self) -> None:
        if self._worker is not None:
            try:
                self._worker.connection.send(None)
                self._worker.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._discard()

    def _died(self, worker: _Worker) -> ExtractionRefused:
        """The worker ended while it held a file, and not over a limit (those kill it in
        `extract` and say which). Killed by a signal, it says nothing certain of the file: the
        OOM killer, a container stop or a stray kill do that to any file, so the file is read
        again at the next run (pipelines/run/source.py caps the attempts). A worker that exits
        by itself (a parser calling exit) failed on this file."""
        try:
            code = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._discard()
        if code is not None and code < 0:
            return ExtractionRefused(
                PARSE_INTERRUPTED,
                f"the parser process was {_exit_description(code)} while reading the file (out of "
                "memory, a container stop, an interrupt?); the file is read again at the next run",
            )
        return ExtractionRefused(
            PARSE_FAILED, f"the parser process {_exit_description(code)} while reading the file"
        )

    def start(self) -> bool:
        """Start the worker without waiting for it: its import of the parsers then overlaps
        with the caller's own start-up. True when it started one (none was running)."""
        if self._worker is None or self._worker.process.poll() is not None:
            self._discard()
            self._worker = self._spawn()
            return True
        return False

    def _ensure_worker(self) -> _Worker:
        self.start()
        assert self._worker is not None
        worker = self._worker
        if not worker.ready:
            # A new worker imports the parsers first (seconds); a file's clock starts after.
            try:
                ready = worker.connection.poll(_STARTUP_SECONDS) and worker.connection.recv() == WORKER_READY
            except (EOFError, OSError):
                ready = False
            if not ready:
                raise self._not_started(worker)
            worker.ready = True
            worker.stderr.ready()
        return worker

    def _not_started(self, worker: _Worker) -> ExtractionUnavailableError:
        """The error of a worker that never said it was ready: its own first error when it
        ended (an ImportError, a broken install), else the time it was given."""
        try:
            code = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None  # still importing after _STARTUP_SECONDS
        self._discard()
        if code is None:
            return ExtractionUnavailableError(
                f"The parser process did not start within {_STARTUP_SECONDS:g} s. Check that the "
                "machine has free memory and CPU, and that unstructured is installed (make install)."
            )
        error = worker.stderr.error_line()
        return ExtractionUnavailableError(
            f"The parser process {_exit_description(code)} before it was ready"
            + (f": {error}" if error else " (it printed no error)")
            + ". Fix what it names (an incomplete install: make install) and run again."
        )

    def _spawn(self) -> _Worker:
        # A plain child process running the worker module: unlike multiprocessing's start
        # methods it never re-imports the caller's __main__ (a console script, `python -`,
        # Dagster's entry point), and it dies with its pipe when this process dies.
        ours, theirs = socket.socketpair()
        # -P: `python -m` would put the current folder first on sys.path, and a project laid out
        # as the README suggests has a `contracts/` folder there, which would shadow the
        # `contracts` package. The packages come from where this process found them instead.
        command = [sys.executable, "-P", "-m", "pipelines.document.extraction_worker", str(theirs.fileno())]
        if threading.current_thread() is threading.main_thread():
            # Tied to the thread that starts it: only the main thread lives as long as the process.
            command.append("--die-with-parent")
        process = subprocess.Popen(
            command,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_worker_environment(),
            # Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) reaches
            # this process, which stops the worker (close, or its death), never the worker halfway
            # through a file or through its imports (pipelines/cli/interrupts.py).
            process_group=0,
        )
        theirs.close()
        assert process.stderr is not None
        return _Worker(process, Connection(ours.detach()), _StderrTail(process.stderr))

    def _discard(self) -> None:
        if self._worker is None:
            return
        worker, self._worker = self._worker, None
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait(timeout=30)
        worker.connection.close()
        worker.stderr.join()


class _StderrTail:
    """The worker's stderr, passed on to this process's stderr line by line, with its last lines
    kept so that a worker that fails to start is reported by its own error. What it prints while
    it starts is held until it is ready: a worker that never is says why in one line
    (`_not_started`), not with its traceback."""

    def __init__(self, stream: Any) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=40)
        self._held: list[str] | None = []  # None once the worker is ready
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace")
                with self._lock:
                    self._lines.append(line.rstrip())
                    if self._held is not None:
                        self._held.append(line)
                        continue
                _pass_on(line)

    def ready(self) -> None:
        """The worker started: what it printed meanwhile (warnings of the parsers) is shown."""
        with self._lock:
            held, self._held = self._held or [], None
        _pass_on("".join(held))

    def join(self) -> None:
        # The pipe closes when the worker has ended; a grandchild holding it must not hang us.
        self._thread.join(timeout=2)

    def error_line(self) -> str | None:
        """The line that says what went wrong: a traceback's last `SomeError: ...` line, else the
        last line printed."""
        self.join()
        lines = [line for line in self._lines if line.strip()]
        for line in reversed(lines):
            if not line[0].isspace() and _ERROR_LINE.match(line):
                return line[:300]
        return lines[-1].strip()[:300] if lines else None


def _pass_on(text: str) -> None:
    if not text:
        return
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # this process's stderr is closed: the worker's tail is still kept


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _exit_description(code: int | None) -> str:
    """How a worker ended, for a person: `killed by SIGKILL`, `exited with code 1`."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


_shared: ExtractionWorker | None = None


def shared_worker() -> ExtractionWorker:
    """This process's worker: reused run after run, closed at exit."""
    global _shared
    if _shared is None:
        _shared = ExtractionWorker()
        atexit.register(_shared.close)
    return _shared


def extract_file(request: ExtractionRequest) -> ExtractionResult:
    """Extract one file in this process's worker."""
    return shared_worker().extract(request)


def check_before_parsing(request: ExtractionRequest) -> ExtractionRefused | None:
    """The limits that need no parser: unpacked size of a DOCX, decoded length of a text file."""
    limits = request.limits
    if request.mime_type == DOCX:
        return _check_zip(request.data, limits)
    if request.mime_type in (PLAIN_TEXT, MARKDOWN):
        # The text of a text file is the file: no need to parse 200 MB to learn it is too long.
        chars = len(decode_text(request.data))
        if chars > limits.max_text_chars:
            return ExtractionRefused(LIMIT_EXCEEDED, _too_much_text(chars, limits))
    return None


def check_extracted_text(text: str, limits: FileLimits) -> ExtractionRefused | None:
    if len(text) > limits.max_text_chars:
        return ExtractionRefused(LIMIT_EXCEEDED, _too_much_text(len(text), limits))
    return None


def _check_zip(data: bytes, limits: FileLimits) -> ExtractionRefused | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        return ExtractionRefused(PARSE_FAILED, f"the DOCX is not a readable zip archive: {err}")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        return ExtractionRefused(
            LIMIT_EXCEEDED,
            f"the DOCX unpacks to {_megabytes(unpacked)}, over {_megabytes(limits.max_unpacked_bytes)} "
            "(limits.maxUnpackedBytes in the contract)",
        )
    for member in members:
        # zipfile stops at the declared size, so declared sizes bound the work; a ratio this high
        # is a zip bomb, not a document (Office XML compresses about 10:1).
        if (
            member.file_size > _RATIO_FLOOR_BYTES
            and member.compress_size
            and (member.file_size / member.compress_size > limits.max_compression_ratio)
        ):
            return ExtractionRefused(
                LIMIT_EXCEEDED,
                f"{member.filename} unpacks {member.file_size / member.compress_size:.0f}:1, over "
                f"{limits.max_compression_ratio:g}:1 (limits.maxCompressionRatio in the contract): "
                "a zip bomb",
            )
    return None


# Small members compress extremely well (empty styles, repeated tags) and are harmless.
_RATIO_FLOOR_BYTES = 1 << 20


def _too_much_text(chars: int, limits: FileLimits) -> str:
    return (
        f"{chars:,} characters of text, over {limits.max_text_chars:,} (limits.maxTextChars in the contract)"
    )


def _megabytes(count: int) -> str:
    return f"{count / (1 << 20):,.1f} MiB"


def _resident_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _worker_environment() -> dict[str, str]:
    """This process's environment for the worker. Under -P the worker finds corpusgov's packages
    where an install put them (site-packages, or an editable install's finder). Only when this
    process found them on a path entry of its own (a source checkout run from its folder, or
    PYTHONPATH) is that folder put first on the worker's PYTHONPATH, so it finds them there too."""
    root = Path(__file__).resolve().parents[2]
    entries = {Path(p or os.curdir).resolve() for p in sys.path}
    if root.name == "site-packages" or root not in entries:
        return dict(os.environ)
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(root) + (os.pathsep + inherited if inherited else "")}
