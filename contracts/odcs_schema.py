"""The two ODCS gates a parsed contract passes before corpusgov reads it.

First the bundled ODCS v3 JSON schema, then the bundled ODCS pydantic model. Both report
problems by field path as a user reads the file ("schema[documents].properties[title]"), and
a later gate stays quiet about a field an earlier gate already reported.
"""

import functools
import importlib.resources
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pydantic

from contracts.errors import ContractError, ContractSchemaError

# Which key names a list item in a field path, so paths read "properties[title]" not "[1]".
_ITEM_NAME_KEYS = {
    "schema": "name",
    "properties": "name",
    "servers": "server",
    "customProperties": "property",
}


@functools.cache
def _odcs_validator() -> jsonschema.protocols.Validator:
    schema_text = (importlib.resources.files("open_data_contract_standard") / "schema.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(schema_text)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def json_schema_problems(path: Path, document: dict[str, Any]) -> list[ContractError]:
    """Every way the document breaks the ODCS v3 JSON schema, one problem per field and message."""
    errors = sorted(_odcs_validator().iter_errors(document), key=lambda e: [str(s) for s in e.absolute_path])
    located = [list(e.absolute_path) for e in errors if e.validator != "unevaluatedProperties"]
    problems: list[ContractError] = []
    for error in errors:
        location = list(error.absolute_path)
        if error.validator == "required":
            missing = [
                k
                for k in error.validator_value
                if isinstance(error.instance, dict) and k not in error.instance
            ]
            for key in missing:
                problems.append(
                    ContractSchemaError(
                        path,
                        field_path(document, [*location, key]),
                        "required by the ODCS v3 schema but missing",
                        f"Add {key}",
                    )
                )
        elif error.validator in ("additionalProperties", "unevaluatedProperties"):
            # A failed if/then branch leaves its fields "unevaluated": that report repeats the
            # real error at or below this location, so only a lone one is a stray field.
            if error.validator == "unevaluatedProperties" and any(
                o[: len(location)] == location for o in located
            ):
                continue
            for key in _unexpected_keys(error.message):
                problems.append(
                    ContractSchemaError(
                        path,
                        field_path(document, [*location, key]),
                        "ODCS v3 does not define this field here",
                        "Remove it or fix its spelling",
                    )
                )
        else:
            problem, action = _describe_schema_error(error)
            problems.append(ContractSchemaError(path, field_path(document, location), problem, action))
    unique: dict[tuple[str | None, str], ContractError] = {}
    for found in problems:
        unique.setdefault((found.field, found.message), found)
    return list(unique.values())


def _unexpected_keys(message: str) -> list[str]:
    listed = message.rsplit("(", 1)[-1]
    return re.findall(r"'([^']*)'", listed) or ["?"]


def _describe_schema_error(error: jsonschema.ValidationError) -> tuple[str, str]:
    instance = shorten(repr(error.instance))
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{instance} is not an ODCS v3 value here", f"Use one of: {allowed}"
    if error.validator == "type":
        wanted = error.validator_value
        return (
            f"{instance} is a {type(error.instance).__name__}, the ODCS v3 schema wants {wanted}",
            f"Write it as {wanted} (quote numbers and dates that are meant as text)",
        )
    if error.validator in ("oneOf", "anyOf"):
        how_many = "several" if "each of" in error.message else "none"
        return (
            f"this entry matches {how_many} of the forms ODCS v3 allows here",
            "Keep exactly one form (a quality rule takes exactly one mustBe* operator)",
        )
    return shorten(error.message), "Fix the value to match the ODCS v3 schema"


def pydantic_problems(
    path: Path, document: dict[str, Any], exc: pydantic.ValidationError
) -> list[ContractError]:
    """What the ODCS pydantic model refused, one problem per refused value."""
    return [
        ContractSchemaError(
            path,
            field_path(document, list(err["loc"])) or None,
            f"the ODCS model refuses {shorten(repr(err.get('input')))}: {err['msg']}",
            "Fix the value to match the ODCS v3 model",
        )
        for err in exc.errors()
    ]


def merge_problems(problems: list[ContractError], later: list[ContractError]) -> None:
    """Add later problems unless an earlier gate already reported that field or a parent of it."""
    for problem in later:
        if not any(_covers(earlier.field, problem.field) for earlier in problems):
            problems.append(problem)


def _covers(outer: str | None, inner: str | None) -> bool:
    if outer is None or inner is None:
        return outer == inner
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def field_path(document: Any, location: Sequence[Any]) -> str | None:
    """The dotted path of a location in the document, naming list items where they have a name."""
    parts: list[str] = []
    node: Any = document
    parent_key: str | None = None
    for step in location:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if 0 <= step < len(node) else None
            key = _ITEM_NAME_KEYS.get(parent_key or "")
            name = item.get(key) if isinstance(item, dict) and key else None
            parts.append(f"[{name}]" if isinstance(name, str) and name else f"[{step}]")
            node = item
        else:
            parts.append(f".{step}" if parts else str(step))
            node = node.get(step) if isinstance(node, dict) else None
            parent_key = str(step)
    return "".join(parts) or None


def shorten(text: str, limit: int = 120) -> str:
    """The text cut to `limit` characters, so a quoted value cannot swamp the message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
