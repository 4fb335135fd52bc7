"""Failed runs on record, so the alert sinks hear of every one (a `run_failed` alert).

A run can fail because the ledger is what failed (PostgreSQL down, the disk full): then there is
nowhere to record it. Such a failure waits in a local spool, one JSON file per run under
`<data_dir>/failed-runs/`, and goes into the ledger the next time anything records a failure or
sends alerts (`flush_failed_runs`), so it still alerts, once, when the ledger is back.
"""

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.errors import CorpusgovError, first_line
from pipelines.ledger import Ledger
from pipelines.ledger.records import RunFailure
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


def record_failed_run(
    settings: Settings,
    run_id: str,
    step: str,
    error: BaseException | str,
    sources: tuple[str, ...] = (),
) -> None:
    """Put a failed run on record, whichever path ran it: in the ledger, or in the local spool
    when the ledger cannot be written."""
    failure = {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(),
        "sources": list(sources),
        "failed": RunFailure(
            step,
            first_line(error) if isinstance(error, BaseException) else error,
            type(error).__name__ if isinstance(error, BaseException) else "error",
        ).as_json(),
    }
    flush_failed_runs(settings)
    try:
        _record(settings, failure)
    except CorpusgovError as err:
        _spool(settings, failure, err)


def flush_failed_runs(settings: Settings) -> int:
    """Move the spooled failures into the ledger; those it still cannot take stay. Returns how
    many went in."""
    folder = _folder(settings)
    try:
        files = sorted(folder.glob("*.json"))
    except OSError:
        return 0
    moved = 0
    for path in files:
        try:
            failure = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # half-written by a process killed while spooling: nothing to send
        try:
            _record(settings, failure)
        except CorpusgovError:
            return moved  # the ledger is still away: the rest wait too
        path.unlink(missing_ok=True)
        moved += 1
    return moved


def _record(settings: Settings, failure: dict[str, Any]) -> None:
    Ledger.of(settings, busy_retry_seconds=5).record_run_without_changes(
        failure["run_id"],
        datetime.fromisoformat(failure["started_at"]),
        tuple(failure["sources"]),
        {"failed": failure["failed"], "sources": failure["sources"]},
    )


def _spool(settings: Settings, failure: dict[str, Any], err: CorpusgovError) -> None:
    folder = _folder(settings)
    target = folder / f"{_safe(failure['run_id'])}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".json.partial")
        partial.write_text(json.dumps(failure))
        os.replace(partial, target)
    except OSError as spool_err:
        logger.warning(
            "The failed run %s could not be recorded for alerts (%s), nor kept for later (%s)",
            failure["run_id"],
            err,
            spool_err.strerror or spool_err,
        )
        return
    logger.warning(
        "The failed run %s could not be recorded for alerts (%s); kept in %s until the ledger is back",
        failure["run_id"],
        err,
        target,
    )


def _folder(settings: Settings) -> Path:
    return settings.data_dir / "failed-runs"


def _safe(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
