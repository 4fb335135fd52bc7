"""Staging: a source's prepared part of a run, handed from its Dagster asset to `chunk_index`.

The source assets and `chunk_index` may run in different processes; what passes between them are
files under `<data_dir>/staging/<run id>/`, written atomically, read once and removed with the run:
the prepared part (each document's outcome: state, reasons, grade, provenance, chunk ids; a few
hundred bytes a document) and, by path, the spool of its chunks' texts and the vectors the source
asset embedded while it prepared (Parquet, pipelines/chunk_spool.py). A `chunk_index` that finds no
part for a source (it was materialized on its own from the UI) prepares that source itself.
"""

import os
import pickle
import re
from pathlib import Path

from pipelines.chunk_spool import staging_dir
from pipelines.ingestion import PreparedIngestion
from pipelines.settings import Settings

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _staged_file(settings: Settings, run_id: str, source: str, suffix: str) -> Path:
    return staging_dir(settings, run_id) / f"{_SAFE.sub('_', source)}{suffix}"


def stage_part(settings: Settings, run_id: str, part: PreparedIngestion) -> Path:
    """Write one source's part; a reader never sees half a file."""
    (source,) = part.sources
    path = _staged_file(settings, run_id, source, ".pickle")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        pickle.dump(part, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)
    return path


def staged_part(settings: Settings, run_id: str, source: str) -> PreparedIngestion | None:
    path = _staged_file(settings, run_id, source, ".pickle")
    if not path.is_file():
        return None
    with path.open("rb") as staged:
        part = pickle.load(staged)  # noqa: S301 - written by this run, under the data dir
    return part if isinstance(part, PreparedIngestion) else None
