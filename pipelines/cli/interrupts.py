"""Ctrl-C in the CLI: one clean stop, said in one line, whatever the command was doing.

Python raises a SIGINT as a KeyboardInterrupt wherever the main thread is, and code on its way
out can catch it: Typer turns it into exit code 130 without a word, and a library's bare
`except:` can swallow it and let the run go on. So the CLI's handler notes each SIGINT before
raising it: once a command ends, by the interrupt or despite it, `app.main` and the command
know it was interrupted and say so. The parser worker is out of reach of a terminal's Ctrl-C
(its own process group, pipelines/document/extraction.py): this process stops it.
"""

import atexit
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

# The line for an interrupt before a command did anything (while the program loads), and for
# an `ingest` stopped before its commit (pipelines/cli/ingest.py says when it came after).
NOTHING_COMMITTED = "Interrupted; nothing of this run was committed."
# The line for any other command: each one commits at its end or not at all.
INTERRUPTED = "Interrupted. Nothing half-written: a command commits at its end or not at all."

_received = False


def _note_and_raise(_signum: int, _frame: FrameType | None) -> None:
    _note(_signum, _frame)
    raise KeyboardInterrupt


def _note(_signum: int, _frame: FrameType | None) -> None:
    global _received
    _received = True


def listen_for_interrupts() -> None:
    """From now on a Ctrl-C is noted, then raised as KeyboardInterrupt. A process started with
    SIGINT ignored (a shell's background job) keeps ignoring it."""
    if _in_main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _note_and_raise)


def was_interrupted() -> bool:
    return _received


def ignore_interrupts() -> None:
    """The command has ended, or is saying why it stopped: a second Ctrl-C while the process
    winds down (the parser worker stopped, the stores closed) would only print a traceback."""
    if _in_main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def end_without_finalizing(code: int) -> NoReturn:
    """End an interrupted program once its line is printed and its exit handlers (the parser
    worker's stop) have run, without the interpreter's finalization. An interrupt can leave a
    native thread still computing (OpenVINO's inference threads, which call back into Python);
    Python 3.11 ends such a thread with pthread_exit when it next takes the GIL during
    finalization, the library's `catch (...)` swallows the unwinding, and glibc aborts the
    process ("FATAL: exception not rethrown", SIGABRT). Every `finally` of the run has run by
    now; what is skipped is what a kill would skip, and the commit protocol survives a kill -9 at
    any point (pipelines/index/commit_protocol.py)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said
    os._exit(code)


@contextmanager
def interrupts_noted() -> Iterator[None]:
    """Run the block with a Ctrl-C noted but not raised (`was_interrupted` says whether one
    came), then put the previous handler back."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_main_thread() -> bool:
    # Only the main thread may set a handler, and Python runs handlers only there.
    return threading.current_thread() is threading.main_thread()
