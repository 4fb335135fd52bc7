"""Staging: a source's prepared part of a run, handed from its Dagster asset to `chunk_index`.

The source assets and `chunk_index` may run in different processes; what passes between them are
files under `<data_dir>/staging/<run id>/`, written atomically, read once and removed with the run:
the prepared part, and the vectors the source asset embedded while it prepared (Parquet: chunk id
and vector, the model id in the file's metadata). A `chunk_index` that finds no part for a source
(it was materialized on its own from the UI) prepares that source itself.
"""

import os
import pickle
import re
import shutil
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingestion import PreparedIngestion
from pipelines.settings import Settings

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
STALE_AFTER = timedelta(days=1)


def staging_dir(settings: Settings, run_id: str) -> Path:
    return settings.data_dir / "staging" / _SAFE.sub("_", run_id)


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


def stage_vectors(
    settings: Settings, run_id: str, source: str, model_id: str, vectors: Mapping[str, np.ndarray]
) -> Path | None:
    """Write the vectors a source asset embedded; `chunk_index` writes them to the index. A
    source that embedded nothing stages nothing."""
    if not vectors:
        return None
    path = _staged_file(settings, run_id, source, ".vectors.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = list(vectors)
    dimensions = len(vectors[ids[0]])
    matrix = np.stack([vectors[i] for i in ids]).astype(np.float32)
    table = pa.table(
        {"chunk_id": pa.array(ids, pa.string()),
         "vector": pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), pa.float32()), dimensions)},
    ).replace_schema_metadata({"model_id": model_id})
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def staged_vectors(settings: Settings, run_id: str, source: str, model_id: str) -> dict[str, np.ndarray]:
    """The vectors staged for `source` by this run, if they come from `model_id`; else none."""
    path = _staged_file(settings, run_id, source, ".vectors.parquet")
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    if (table.schema.metadata or {}).get(b"model_id", b"").decode() != model_id or not table.num_rows:
        return {}
    dimensions = table.schema.field("vector").type.list_size
    matrix = table.column("vector").combine_chunks().values.to_numpy().reshape(-1, dimensions)
    return dict(zip(table.column("chunk_id").to_pylist(), matrix, strict=True))


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
