"""Read an ODCS v3 file into a DocumentContract, or list everything wrong with it.

A file passes four gates, each reported with the field it is about:
YAML syntax, the bundled ODCS JSON schema, the bundled ODCS pydantic model, and the rules
corpusgov adds (what a document contract must declare and which values it understands).
lint_contract reports every problem; load_contract raises the first. lint_contract_set also
checks contracts against each other.

The YAML gate is here; the schema and model gates are in contracts.odcs_schema, and corpusgov's
rules in contracts.contract_reader (the document structure) and contracts.custom_properties.
"""

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from contracts.contract_reader import DOCUMENTS_SCHEMA, ContractReader
from contracts.document_contract import ContractProblem, DocumentContract
from contracts.errors import ContractError, ContractSyntaxError
from contracts.odcs_schema import field_path, json_schema_problems, merge_problems, pydantic_problems

__all__ = ["DOCUMENTS_SCHEMA", "lint_contract", "lint_contract_set", "load_contract"]


def load_contract(path: Path) -> DocumentContract:
    """Load and validate a contract; raise the first ContractError found.

    Parsed once per file version: a run, a sensor tick and every check that asks again get the
    same (immutable) contract until the file changes on disk.
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError:
        return _load_contract_uncached(path)  # reports the unreadable file
    return _load_contract_version(path.resolve(), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _load_contract_version(path: Path, mtime_ns: int, size: int) -> DocumentContract:
    return _load_contract_uncached(path)


def _load_contract_uncached(path: Path) -> DocumentContract:
    contract, problems = _inspect(path)
    if problems:
        raise problems[0]
    assert contract is not None  # _inspect returns a contract whenever it found no problem
    return contract


def lint_contract(path: Path) -> list[ContractProblem]:
    """Every problem in the contract file, in file order per gate; never raises for a bad file."""
    _, problems = _inspect(Path(path))
    return [ContractProblem(path=p.path, field=p.field, message=p.message) for p in problems]


def lint_contract_set(paths: Sequence[Path], project_dir: Path) -> list[ContractProblem]:
    """Every problem in each file and between the files, in the order given; a file given twice counts once.

    Between files: two contracts whose local servers resolve to the same folder would govern the
    same documents twice under different rules. Relative server paths resolve against project_dir
    (the folder of corpusgov.yaml), as source paths do.
    """
    problems: list[ContractProblem] = []
    linted: set[Path] = set()
    folders: dict[Path, DocumentContract] = {}
    for path in map(Path, paths):
        if path.resolve() in linted:
            continue
        linted.add(path.resolve())
        contract, errors = _inspect(path)
        problems.extend(ContractProblem(path=e.path, field=e.field, message=e.message) for e in errors)
        if contract is None or contract.source_path is None:
            continue
        folder = (project_dir / Path(contract.source_path).expanduser()).resolve()
        first = folders.setdefault(folder, contract)
        if first is not contract:
            problems.append(
                ContractProblem(
                    path=path,
                    field=f"servers[{_local_server_name(contract)}].path",
                    message=f"servers[].path {contract.source_path!r} is the same folder ({folder}) as the local "
                    f"server of {first.path}. Give each contract its own folder, or let the sources "
                    "share one contract file.",
                )
            )
    return problems


def _local_server_name(contract: DocumentContract) -> str:
    """The local server's name as field paths show it; only called for a file that loaded cleanly."""
    document = yaml.safe_load(contract.path.read_text(encoding="utf-8"))
    servers = document.get("servers") or []
    index = next(i for i, server in enumerate(servers) if server.get("type") == "local")
    return (field_path(document, ["servers", index]) or "servers[?]")[len("servers[") : -1]


def _inspect(path: Path) -> tuple[DocumentContract | None, list[ContractError]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, [
            ContractSyntaxError(
                path,
                None,
                f"cannot read the contract file ({reason})",
                "Check the contract path in your config",
            )
        ]
    document, syntax_problem = _parse_yaml(path, raw)
    if syntax_problem is not None:
        return None, [syntax_problem]

    problems = json_schema_problems(path, document)
    model: OpenDataContractStandard | None = None
    try:
        model = OpenDataContractStandard.model_validate(document)
    except pydantic.ValidationError as exc:
        merge_problems(problems, pydantic_problems(path, document, exc))
    if model is None:
        return None, problems

    reader = ContractReader(path, hashlib.sha256(raw).hexdigest(), model)
    contract = reader.read()
    merge_problems(problems, reader.problems)
    return (None if problems else contract), problems


def _parse_yaml(path: Path, raw: bytes) -> tuple[dict[str, Any], ContractError | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, ContractSyntaxError(
            path, None, f"the file is not UTF-8 (byte {exc.start})", "Save the contract as UTF-8"
        )
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return {}, ContractSyntaxError(
            path, None, f"invalid YAML{where}: {problem}", "Fix the YAML syntax there"
        )
    if not isinstance(document, dict):
        return {}, ContractSyntaxError(
            path,
            None,
            f"the file holds a YAML {type(document).__name__}, not a mapping",
            "Write an ODCS v3 contract: a mapping with apiVersion, kind, id, version and schema",
        )
    return document, None
