"""Staging: a source's prepared part of a run, handed from its Dagster asset to `chunk_index`.

The source assets and `chunk_index` may run in different processes; what passes between them are
files under `<staging_uri>/<run id>/` (by default `<data_dir>/staging/<run id>/`; `staging_uri`
may be an S3 prefix), each appearing whole or not at all, read once and removed with the run:
- `<source>.outcomes.parquet`: each document's outcome (state, reasons, grade, provenance,
  evidence, chunk references; a few hundred bytes to a KB a document), one row each;
- `<source>.part.json`, written last: the run's counts, the source's contract check with its
  evidence, and the paths of the spools that hold the chunks' texts and the vectors the source
  asset embedded while it prepared (Parquet, pipelines/run/spool.py).
Plain Parquet and JSON, not a pickle: any Python (or a person) can read a staged part, and a part
written by another corpusgov version fails loudly instead of unpickling into the wrong class.
A `chunk_index` that finds no part for a source (it was materialized on its own from the UI)
prepares that source itself.

Before the part, a source's steps stage their own records the same way: `<source>.plan.json` (the
plan: the files to assess and their shards), then each shard's `<source>.shard-<k>.json` and
`<source>.shard-<k>.outcomes.parquet`, which the source's merge step reads
(pipelines/run/shards.py).
"""

import dataclasses
import hashlib
import json
import re
import types
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin, get_type_hints

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.contract.checks import ContractCheck
from pipelines.document.outcome import DocumentOutcome
from pipelines.errors import IngestionConflictError, StorageError
from pipelines.run.records import PreparedIngestion
from pipelines.run.shards import ShardPart, SourcePlan
from pipelines.run.spool import PARQUET_OPTIONS, staging_dir, staging_writes
from pipelines.settings import Settings
from pipelines.storage import (
    file_exists,
    folder_of,
    input_file,
    join,
    name_of,
    output_file,
    read_text,
    reading,
)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _staged_file(settings: Settings, run_id: str, source: str, suffix: str) -> str:
    return join(staging_dir(settings, run_id), f"{_SAFE.sub('_', source)}{suffix}")


def stage_part(settings: Settings, run_id: str, part: PreparedIngestion) -> str:
    """Write one source's part; a reader never sees half of it (the JSON is written last)."""
    (source,) = part.sources
    outcomes = _staged_file(settings, run_id, source, ".outcomes.parquet")
    _write_table(outcomes, outcomes_table(part.outcomes))
    header = _staged_file(settings, run_id, source, ".part.json")
    _write_json(header, _header(part, name_of(outcomes)))
    return header


def staged_part(settings: Settings, run_id: str, source: str) -> PreparedIngestion | None:
    """The part a source asset of this run staged, or None (then the caller prepares it)."""
    header_path = _staged_file(settings, run_id, source, ".part.json")
    if not file_exists(header_path):
        return None
    header = json.loads(read_text(header_path))
    if header.get("layout") != _LAYOUT:
        return None
    table = _read_table(join(folder_of(header_path), header["outcomes"]))
    return PreparedIngestion(
        run_id=header["run_id"],
        started_at=datetime.fromisoformat(header["started_at"]),
        sources=tuple(header["sources"]),
        base_index_version=header["base_index_version"],
        embedding_model=header["embedding_model"],
        outcomes=outcomes_from_table(table),
        discovered=header["discovered"],
        unchanged=header["unchanged"],
        contract_checks=tuple(ContractCheck.from_json(c) for c in header["contract_checks"]),
        config_hashes=dict(header["config_hashes"]),
        spools=tuple(header["spools"]),
    )


def stage_plan(settings: Settings, run_id: str, plan: SourcePlan) -> str:
    """A source's plan, for its shard steps and its merge step."""
    path = _staged_file(settings, run_id, plan.source, ".plan.json")
    _write_json(path, {"layout": _LAYOUT, **plan.as_json()})
    return path


def staged_plan(settings: Settings, run_id: str, source: str) -> SourcePlan:
    path = _staged_file(settings, run_id, source, ".plan.json")
    data = _read_header(path, f"the plan of source '{source}'")
    data.pop("layout")
    return SourcePlan.from_json(data)


def stage_shard(settings: Settings, run_id: str, shard: ShardPart) -> str:
    """What one shard assessed: its outcomes as Parquet, then the header that points at them."""
    stem = f".shard-{shard.shard}"
    outcomes = _staged_file(settings, run_id, shard.source, f"{stem}.outcomes.parquet")
    _write_table(outcomes, outcomes_table(shard.outcomes))
    header = {
        "layout": _LAYOUT,
        "source": shard.source,
        "shard": shard.shard,
        "positions": list(shard.positions),
        "spool": shard.spool,
        "vanished": list(shard.vanished),
        "outcomes": name_of(outcomes),
    }
    path = _staged_file(settings, run_id, shard.source, f"{stem}.json")
    _write_json(path, header)
    return path


def staged_shard(settings: Settings, run_id: str, source: str, shard: int) -> ShardPart:
    path = _staged_file(settings, run_id, source, f".shard-{shard}.json")
    header = _read_header(path, f"shard {shard} of source '{source}'")
    return ShardPart(
        source=header["source"],
        shard=header["shard"],
        positions=tuple(header["positions"]),
        outcomes=outcomes_from_table(_read_table(join(folder_of(path), header["outcomes"]))),
        spool=header["spool"],
        vanished=tuple(header["vanished"]),
    )


def _read_header(path: str, what: str) -> dict[str, Any]:
    """A staged header this run's earlier step wrote; missing or from another layout, the run
    cannot go on (a retry of the whole run starts over)."""
    try:
        data: dict[str, Any] = json.loads(read_text(path))
    except (OSError, ValueError, StorageError) as err:
        raise IngestionConflictError(
            f"The run's staged {what} cannot be read ({err}). Run the ingestion again."
        ) from err
    if data.get("layout") != _LAYOUT:
        raise IngestionConflictError(
            f"The run's staged {what} was written by another corpusgov version. Run the ingestion again."
        )
    return data


def _header(part: PreparedIngestion, outcomes_name: str) -> dict[str, Any]:
    return {
        "layout": _LAYOUT,
        "run_id": part.run_id,
        "started_at": part.started_at.isoformat(),
        "sources": list(part.sources),
        "base_index_version": part.base_index_version,
        "embedding_model": part.embedding_model,
        "discovered": part.discovered,
        "unchanged": part.unchanged,
        "contract_checks": [c.as_json() for c in part.contract_checks],
        "config_hashes": part.config_hashes,
        "spools": list(part.spools),
        "outcomes": outcomes_name,
    }


def _write_json(uri: str, body: dict[str, Any]) -> None:
    with staging_writes(folder_of(uri)), output_file(uri) as out:
        out.write(json.dumps(body).encode("utf-8"))


def _write_table(uri: str, table: pa.Table) -> None:
    with staging_writes(folder_of(uri)), output_file(uri) as out:
        pq.write_table(table, out, **PARQUET_OPTIONS)


def _read_table(uri: str) -> pa.Table:
    with reading(uri), input_file(uri) as stored:
        return pq.read_table(stored)


def outcomes_table(outcomes: Sequence[DocumentOutcome]) -> pa.Table:
    """Every field of every outcome, one row each; `outcomes_from_table` reads it back."""
    return pa.Table.from_pylist(
        [
            {name: field.to_arrow(getattr(o, name)) for name, field in _OUTCOME_FIELDS.items()}
            for o in outcomes
        ],
        schema=_OUTCOME_SCHEMA,
    )


def outcomes_from_table(table: pa.Table) -> tuple[DocumentOutcome, ...]:
    return tuple(
        DocumentOutcome(**{name: field.from_arrow(row[name]) for name, field in _OUTCOME_FIELDS.items()})
        for row in table.to_pylist()
    )


def _same(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True)
class _Staged:
    """How a field of one type is staged: its Arrow type, and its value to and from Arrow."""

    type: pa.DataType
    to_arrow: Callable[[Any], Any] = _same
    from_arrow: Callable[[Any], Any] = _same


def _staged(hint: Any) -> _Staged:
    """The one mapping from an outcome field's type to its staged column; a type it does not know
    fails at import, so a new field cannot be staged wrongly."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = (_staged(a) for a in args if a is not type(None))
        return _Staged(
            inner.type,
            lambda v: None if v is None else inner.to_arrow(v),
            lambda v: None if v is None else inner.from_arrow(v),
        )
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _Staged(pa.string(), lambda v: v.value, hint)
    plain = {str: pa.string(), int: pa.int64(), float: pa.float64(), bytes: pa.binary()}
    if hint in plain:
        return _Staged(plain[hint])
    if origin is dict:
        # Free-form evidence whose keys differ by detector: JSON text.
        return _Staged(pa.string(), json.dumps, json.loads)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if get_origin(args[0]) is dict:
            return _Staged(pa.string(), lambda v: json.dumps(list(v)), lambda v: tuple(json.loads(v)))
        element = _staged(args[0])
        return _Staged(
            pa.list_(element.type),
            lambda v: [element.to_arrow(x) for x in v],
            lambda v: tuple(element.from_arrow(x) for x in v),
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        parts = _fields_staged(hint)
        return _Staged(
            pa.struct([(name, part.type) for name, part in parts.items()]),
            lambda v: {name: part.to_arrow(getattr(v, name)) for name, part in parts.items()},
            lambda v: hint(**{name: part.from_arrow(v[name]) for name, part in parts.items()}),
        )
    raise TypeError(f"no staged column for the outcome field type {hint!r}: add it to _staged")


def _fields_staged(record: type) -> dict[str, _Staged]:
    hints = get_type_hints(record)
    return {f.name: _staged(hints[f.name]) for f in dataclasses.fields(record)}


_OUTCOME_FIELDS = _fields_staged(DocumentOutcome)
_OUTCOME_SCHEMA = pa.schema([(name, field.type) for name, field in _OUTCOME_FIELDS.items()])
# The version of the staged layout, with the outcome's schema in it: a part staged by a corpusgov
# whose outcome had other fields (a run that spans a deploy) is prepared again, never misread.
_LAYOUT = f"3-{hashlib.sha256(str(_OUTCOME_SCHEMA).encode()).hexdigest()[:12]}"
