"""Named stop points on the commit path, so tests can stop a writer exactly there.

`CORPUSGOV_STOP_AT=<point>` stops the process when it reaches that point: by raising
`StopRequested` (`CORPUSGOV_STOP_MODE=raise`, the default), by exiting at once as a kill -9 would
(`CORPUSGOV_STOP_MODE=exit`), or by suspending itself with SIGSTOP (`CORPUSGOV_STOP_MODE=pause`:
its state is `T` in /proc, where a test finds it and kills it from outside, as the OOM killer or a
container stop would). Unset, a stop point costs one dictionary lookup. The points and the
order a run reaches them are listed in pipelines/index/commit_protocol.py (an erasure's in
pipelines/governance/erasure.py). Before the commit, each shard
of a source stops at `prepare.shard_<n>.assessed` once its files are assessed, before its staging
files are written (pipelines/run/ingestion.py `prepare_shard`). The parser worker stops at
`parse.<file name>` when it receives that file, before it parses it
(pipelines/document/extraction_worker.py).
"""

import os
import signal

STOP_AT_ENV = "CORPUSGOV_STOP_AT"
STOP_MODE_ENV = "CORPUSGOV_STOP_MODE"


class StopRequested(BaseException):
    """Raised at a stop point: a BaseException, like KeyboardInterrupt, so no `except Exception`
    on the way out can swallow it."""


def stop_point(name: str) -> None:
    if os.environ.get(STOP_AT_ENV) != name:
        return
    if os.environ.get(STOP_MODE_ENV, "raise") == "exit":
        # As abrupt as a kill -9: no finally blocks, no atexit handlers, no flushing.
        os._exit(137)
    if os.environ.get(STOP_MODE_ENV) == "pause":
        os.kill(os.getpid(), signal.SIGSTOP)
        return  # resumed by SIGCONT: carry on
    raise StopRequested(name)
