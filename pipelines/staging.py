"""Staging: a source's prepared part of a run, handed from its Dagster asset to `chunk_index`.

The source assets and `chunk_index` may run in different processes; what passes between them is a
file under `<data_dir>/staging/<run id>/`, written atomically, read once and removed with its run.
A `chunk_index` that finds no part for a source (it was materialized on its own from the UI)
prepares that source itself.
"""

import os
import pickle
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

from pipelines.ingestion import PreparedIngestion
from pipelines.settings import Settings

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
STALE_AFTER = timedelta(days=1)


def staging_dir(settings: Settings, run_id: str) -> Path:
    return settings.data_dir / "staging" / _SAFE.sub("_", run_id)


def stage_part(settings: Settings, run_id: str, part: PreparedIngestion) -> Path:
    """Write one source's part; a reader never sees half a file."""
    folder = staging_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (source,) = part.sources
    path = folder / f"{_SAFE.sub('_', source)}.pickle"
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        pickle.dump(part, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)
    return path


def staged_part(settings: Settings, run_id: str, source: str) -> PreparedIngestion | None:
    path = staging_dir(settings, run_id) / f"{_SAFE.sub('_', source)}.pickle"
    if not path.is_file():
        return None
    with path.open("rb") as staged:
        part = pickle.load(staged)  # noqa: S301 - written by this run, under the data dir
    return part if isinstance(part, PreparedIngestion) else None


def clear_staging(settings: Settings, run_id: str) -> None:
    """Remove this run's parts, and any left by runs that never reached `chunk_index` (a source
    asset materialized on its own) more than `STALE_AFTER` ago."""
    shutil.rmtree(staging_dir(settings, run_id), ignore_errors=True)
    root = settings.data_dir / "staging"
    if not root.is_dir():
        return
    cutoff = time.time() - STALE_AFTER.total_seconds()
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
