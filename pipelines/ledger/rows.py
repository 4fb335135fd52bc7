"""Ledger rows by column name: a record type declares its columns once, as its fields, and reads
and writes are built from them.

A record type is a frozen dataclass (or a NamedTuple). Each field is the column of its name, or
of the name `column(...)` gives in its metadata; a field with `DERIVED` metadata is no column of
the record's table and is read from an expression the query gives (`select_list(..., field=sql)`).
A read maps the result's columns to fields by the names in the cursor's `description`, which
DuckDB and pipelines/ledger/postgres.py both give, and converts each value by the field's type:

- `DocumentState` and other enums from their value; `Grade` and `ProvenanceLabel` through
  `grade_of` and `label_of`, whose error names the fix;
- `tuple[...]` and `frozenset[...]` from an SQL list, NULL as empty;
- `dict[...]` from JSON text, and `list[...]` from JSON text or an SQL list, NULL as empty;
- a JSON record (a dataclass with `from_json` and `as_json`, such as `VersionCounts`) from JSON
  text through its `from_json`, NULL as `from_json({})`; `tuple[R, ...]` of one from a JSON array
  of them, NULL as empty;
- `int` and `str` NULL as 0 and "" (a column added after its rows were written);
- `X | None` keeps NULL as None; anything else is taken as it comes.

A write (`insert_statement`, `parameters`) turns them back: enums to their value, tuples to SQL
lists, dicts and lists to JSON text, JSON records to the JSON text of their `as_json()`.
"""

import dataclasses
import json
import types
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.ledger.connection import LedgerConnection
from pipelines.ledger.records import grade_of, label_of

R = TypeVar("R")

_COLUMN = "column"
# Field metadata of a value that is no column of the record's table (a query computes it).
DERIVED: Mapping[str, Any] = types.MappingProxyType({_COLUMN: None})


def column(name: str) -> Mapping[str, Any]:
    """Field metadata: the field is stored in the column `name`."""
    return types.MappingProxyType({_COLUMN: name})


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    column: str | None  # None: derived, no column of the table
    read: Callable[[Any], Any]
    write: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _json_record(hint: Any) -> bool:
    """Whether a field of type `hint` is a record kept as JSON text: a dataclass, which must then
    read and write its JSON itself (`from_json`, `as_json`)."""
    if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return False
    if not (hasattr(hint, "from_json") and hasattr(hint, "as_json")):
        raise TypeError(f"{hint.__name__} is kept as JSON in the ledger: it needs from_json and as_json")
    return True


def _json_records(hint: Any) -> type[Any] | None:
    """The record type of `tuple[R, ...]` when R is a JSON record (a JSON array of them), else None."""
    args = get_args(hint)
    if get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis and _json_record(args[0]):
        element: type[Any] = args[0]
        return element
    return None


def _reader(hint: Any) -> Callable[[Any], Any]:
    """How a value of the ledger becomes a field of type `hint`."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = (a for a in args if a is not type(None))
        return _optional(_reader(inner))
    if _json_record(hint):
        return lambda value: hint.from_json(json.loads(value) if value else {})
    element = _json_records(hint)
    if element is not None:
        return lambda value: tuple(element.from_json(item) for item in (json.loads(value) if value else []))
    if hint is Grade:
        return grade_of
    if hint is ProvenanceLabel:
        return label_of
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if hint is int:
        return lambda value: value or 0
    if hint is str:
        return lambda value: "" if value is None else value
    if origin is tuple:
        return lambda value: tuple(value or ())
    if origin is frozenset:
        return lambda value: frozenset(value or ())
    if origin is dict:
        return lambda value: json.loads(value) if value else {}
    if origin is list:
        return lambda value: (
            (json.loads(value) if value else []) if isinstance(value, str) else list(value or ())
        )
    return _same


def _writer(hint: Any) -> Callable[[Any], Any]:
    """How a field of type `hint` becomes a statement's parameter."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = (a for a in args if a is not type(None))
        return _optional(_writer(inner))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda value: value.value
    if _json_record(hint):
        return lambda value: json.dumps(value.as_json())
    if _json_records(hint) is not None:
        return lambda value: json.dumps([item.as_json() for item in value])
    if origin in (tuple, frozenset):
        return list
    if origin in (dict, list):
        return json.dumps
    return _same


# Each record type's fields, worked out on its first read or write.
_FIELDS: dict[type, tuple[_Field, ...]] = {}


def _fields(record: type) -> tuple[_Field, ...]:
    known = _FIELDS.get(record)
    if known is None:
        known = _FIELDS[record] = _fields_of(record)
    return known


def _fields_of(record: type) -> tuple[_Field, ...]:
    hints = get_type_hints(record)
    if dataclasses.is_dataclass(record):
        named = [(f.name, f.metadata.get(_COLUMN, f.name)) for f in dataclasses.fields(record)]
    else:  # a NamedTuple: every field is the column of its name
        named = [(name, name) for name in record._fields]  # type: ignore[attr-defined]
    return tuple(_Field(name, col, _reader(hints[name]), _writer(hints[name])) for name, col in named)


def select_list(record: type, prefix: str = "", **expressions: str) -> str:
    """The SELECT list that reads `record`: each field's column (qualified by `prefix`, such as
    "q.") or its expression from `expressions`, named as the field."""
    parts = []
    for f in _fields(record):
        if f.name in expressions:
            parts.append(f"{expressions[f.name]} AS {f.name}")
        elif f.column is None:
            raise TypeError(f"{record.__name__}.{f.name} is derived: the query must give its expression")
        elif prefix or f.column != f.name:
            parts.append(f"{prefix}{f.column} AS {f.name}")
        else:
            parts.append(f.name)
    return ", ".join(parts)


def named_rows(con: LedgerConnection, query: str, params: Any = None) -> list[dict[str, Any]]:
    """The rows of `query`, each a mapping of column name to value."""
    rows = con.execute(query, params).fetchall()
    names = [described[0] for described in con.description]
    return [dict(zip(names, values, strict=True)) for values in rows]


def record_of(record: type[R], row: Mapping[str, Any]) -> R:
    """`row` (column name to value) as a `record`, each field from the column of its name."""
    build: Callable[..., R] = record
    return build(**{f.name: f.read(row[f.name]) for f in _fields(record)})


def records(con: LedgerConnection, record: type[R], query: str, params: Any = None) -> list[R]:
    """The rows of `query` as `record`s (its SELECT list from `select_list(record)`)."""
    rows = con.execute(query, params).fetchall()
    position = {described[0]: i for i, described in enumerate(con.description)}
    # Each field's column found once per query, not once per row: a read of every document of a
    # large corpus converts its rows at the cost of the conversions alone.
    readers = [(position[f.name], f.read) for f in _fields(record)]
    build: Callable[..., R] = record
    return [build(*[read(row[at]) for at, read in readers]) for row in rows]


def first_record(con: LedgerConnection, record: type[R], query: str, params: Any = None) -> R | None:
    # fetchall, not fetchone: a result left half-read blocks the connection's next statement.
    found = records(con, record, query, params)
    return found[0] if found else None


def column_list(record: type) -> str:
    """`record`'s stored columns, in the order of `parameters`."""
    return ", ".join(f.column for f in _fields(record) if f.column is not None)


def insert_statement(table: str, record: type, *extra: str) -> str:
    """`INSERT INTO table (columns) VALUES (?, ...)` for `record`'s columns, then the `extra`
    ones, whose values follow `parameters(...)`."""
    names = [f.column for f in _fields(record) if f.column is not None] + list(extra)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"


def parameters(value: Any) -> list[Any]:
    """The stored columns of the record `value`, in `insert_statement`'s order."""
    return [f.write(getattr(value, f.name)) for f in _fields(type(value)) if f.column is not None]
