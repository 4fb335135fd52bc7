"""Read an ODCS v3 file into a DocumentContract, or list everything wrong with it.

A file passes four gates, each reported with the field it is about:
YAML syntax, the bundled ODCS JSON schema, the bundled ODCS pydantic model, and the rules
corpusgov adds (what a document contract must declare and which values it understands).
lint_contract reports every problem; load_contract raises the first. lint_contract_set also
checks contracts against each other.
"""

import functools
import hashlib
import importlib.resources
import json
import math
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import yaml
from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

from contracts.document_contract import (
    DETECTION_POLICIES,
    PII_POLICIES,
    SEVERITIES,
    ChunkingPolicy,
    ContractProblem,
    DocumentContract,
    FileLimits,
)
from contracts.errors import (
    ContractError,
    ContractSchemaError,
    ContractSemanticError,
    ContractSyntaxError,
)
from corpus_quality.vocabulary import Grade, ProvenanceLabel

DOCUMENTS_SCHEMA = "documents"
# Properties the pipeline always fills itself; "required" on them is not a metadata check.
_INTRINSIC_PROPERTIES = ("doc_id", "text")
# Properties whose allowed values may be declared with an invalidValues quality rule.
_VALUE_SET_PROPERTIES = ("mime_type", "language")
_FIELD_LOGICAL_TYPES = ("string", "date", "timestamp", "time", "integer", "number", "boolean")
_VECTOR = "vector"
# semver.org's reference expression, so "1.0" or "v1.0.0" are refused like any semver tool would.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_CHUNKING_KEYS = {
    "maxCharacters": "max_characters",
    "newAfterNChars": "new_after_n_chars",
    "combineTextUnderNChars": "combine_text_under_n_chars",
}
_LIMIT_KEYS = {
    "maxFileBytes": "max_file_bytes",
    "maxUnpackedBytes": "max_unpacked_bytes",
    "maxCompressionRatio": "max_compression_ratio",
    "maxTextChars": "max_text_chars",
    "maxParseSeconds": "max_parse_seconds",
    "maxParseMemoryBytes": "max_parse_memory_bytes",
}
_FRACTIONAL_LIMITS = frozenset({"maxCompressionRatio", "maxParseSeconds"})
_CUSTOM_PROPERTIES = (
    "minimumGrade",
    "injectionPolicy",
    "aiGeneratedPolicy",
    "piiPolicy",
    "declaredProvenance",
    "maxViolationRate",
    "chunking",
    "limits",
    "severity",
    "maxAge",
    "noDuplicateContent",
    "maxAiGeneratedShare",
    "maxGenerationDepth",
)
# ISO 8601 durations as ODCS uses them (P365D, P2Y, P1Y6M, PT12H). A timedelta has no calendar,
# so a year counts as 365 days and a month as 30: close enough for a freshness rule.
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
# Which key names a list item in a field path, so paths read "properties[title]" not "[1]".
_ITEM_NAME_KEYS = {
    "schema": "name",
    "properties": "name",
    "servers": "server",
    "customProperties": "property",
}


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
            problems.append(ContractProblem(
                path=path, field=f"servers[{_local_server_name(contract)}].path",
                message=f"servers[].path {contract.source_path!r} is the same folder ({folder}) as the local "
                        f"server of {first.path}. Give each contract its own folder, or let the sources "
                        "share one contract file."))
    return problems


def _local_server_name(contract: DocumentContract) -> str:
    """The local server's name as field paths show it; only called for a file that loaded cleanly."""
    document = yaml.safe_load(contract.path.read_text(encoding="utf-8"))
    servers = document.get("servers") or []
    index = next(i for i, server in enumerate(servers) if server.get("type") == "local")
    return (_field_path(document, ["servers", index]) or "servers[?]")[len("servers["):-1]


def _inspect(path: Path) -> tuple[DocumentContract | None, list[ContractError]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, [
            ContractSyntaxError(path, None, f"cannot read the contract file ({reason})",
                                "Check the contract path in your config")
        ]
    document, syntax_problem = _parse_yaml(path, raw)
    if syntax_problem is not None:
        return None, [syntax_problem]

    problems = _json_schema_problems(path, document)
    model: OpenDataContractStandard | None = None
    try:
        model = OpenDataContractStandard.model_validate(document)
    except pydantic.ValidationError as exc:
        _merge(problems, _pydantic_problems(path, document, exc))
    if model is None:
        return None, problems

    reader = _ContractReader(path, hashlib.sha256(raw).hexdigest(), model)
    contract = reader.read()
    _merge(problems, reader.problems)
    return (None if problems else contract), problems


def _parse_yaml(path: Path, raw: bytes) -> tuple[dict[str, Any], ContractError | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, ContractSyntaxError(path, None, f"the file is not UTF-8 (byte {exc.start})",
                                       "Save the contract as UTF-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return {}, ContractSyntaxError(path, None, f"invalid YAML{where}: {problem}",
                                       "Fix the YAML syntax there")
    if not isinstance(document, dict):
        return {}, ContractSyntaxError(
            path, None, f"the file holds a YAML {type(document).__name__}, not a mapping",
            "Write an ODCS v3 contract: a mapping with apiVersion, kind, id, version and schema")
    return document, None


@functools.cache
def _odcs_validator() -> jsonschema.protocols.Validator:
    schema_text = (importlib.resources.files("open_data_contract_standard") / "schema.json").read_text(
        encoding="utf-8")
    schema = json.loads(schema_text)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def _json_schema_problems(path: Path, document: dict[str, Any]) -> list[ContractError]:
    errors = sorted(_odcs_validator().iter_errors(document), key=lambda e: [str(s) for s in e.absolute_path])
    located = [list(e.absolute_path) for e in errors if e.validator != "unevaluatedProperties"]
    problems: list[ContractError] = []
    for error in errors:
        location = list(error.absolute_path)
        if error.validator == "required":
            missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
            for key in missing:
                problems.append(ContractSchemaError(
                    path, _field_path(document, [*location, key]),
                    "required by the ODCS v3 schema but missing", f"Add {key}"))
        elif error.validator in ("additionalProperties", "unevaluatedProperties"):
            # A failed if/then branch leaves its fields "unevaluated": that report repeats the
            # real error at or below this location, so only a lone one is a stray field.
            if error.validator == "unevaluatedProperties" and any(o[: len(location)] == location for o in located):
                continue
            for key in _unexpected_keys(error.message):
                problems.append(ContractSchemaError(
                    path, _field_path(document, [*location, key]), "ODCS v3 does not define this field here",
                    "Remove it or fix its spelling"))
        else:
            problem, action = _describe_schema_error(error)
            problems.append(ContractSchemaError(path, _field_path(document, location), problem, action))
    unique: dict[tuple[str | None, str], ContractError] = {}
    for found in problems:
        unique.setdefault((found.field, found.message), found)
    return list(unique.values())


def _unexpected_keys(message: str) -> list[str]:
    listed = message.rsplit("(", 1)[-1]
    return re.findall(r"'([^']*)'", listed) or ["?"]


def _describe_schema_error(error: jsonschema.ValidationError) -> tuple[str, str]:
    instance = _short(repr(error.instance))
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{instance} is not an ODCS v3 value here", f"Use one of: {allowed}"
    if error.validator == "type":
        wanted = error.validator_value
        return (f"{instance} is a {type(error.instance).__name__}, the ODCS v3 schema wants {wanted}",
                f"Write it as {wanted} (quote numbers and dates that are meant as text)")
    if error.validator in ("oneOf", "anyOf"):
        how_many = "several" if "each of" in error.message else "none"
        return (f"this entry matches {how_many} of the forms ODCS v3 allows here",
                "Keep exactly one form (a quality rule takes exactly one mustBe* operator)")
    return _short(error.message), "Fix the value to match the ODCS v3 schema"


def _pydantic_problems(path: Path, document: dict[str, Any], exc: pydantic.ValidationError) -> list[ContractError]:
    return [
        ContractSchemaError(path, _field_path(document, list(err["loc"])) or None,
                            f"the ODCS model refuses {_short(repr(err.get('input')))}: {err['msg']}",
                            "Fix the value to match the ODCS v3 model")
        for err in exc.errors()
    ]


def _merge(problems: list[ContractError], later: list[ContractError]) -> None:
    """Add later problems unless an earlier gate already reported that field or a parent of it."""
    for problem in later:
        if not any(_covers(earlier.field, problem.field) for earlier in problems):
            problems.append(problem)


def _covers(outer: str | None, inner: str | None) -> bool:
    if outer is None or inner is None:
        return outer == inner
    return inner == outer or inner.startswith((outer + ".", outer + "["))


def _field_path(document: Any, location: Sequence[Any]) -> str | None:
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


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _ContractReader:
    """Turns a model-valid ODCS contract into a DocumentContract, collecting corpusgov's problems."""

    def __init__(self, path: Path, content_hash: str, model: OpenDataContractStandard) -> None:
        self.path = path
        self.content_hash = content_hash
        self.model = model
        self.problems: list[ContractError] = []

    def problem(self, field: str | None, problem: str, action: str) -> None:
        self.problems.append(ContractSemanticError(self.path, field, problem, action))

    def read(self) -> DocumentContract:
        model = self.model
        if model.apiVersion is not None and not model.apiVersion.startswith("v3."):
            self.problem("apiVersion", f"{model.apiVersion} is not an ODCS v3 version",
                         "Use apiVersion v3.2.0 and the v3 contract layout")
        version = model.version or ""
        if model.version is not None and not _SEMVER.match(model.version):
            self.problem("version", f"{model.version!r} is not a semantic version",
                         "Write MAJOR.MINOR.PATCH, e.g. 1.0.0, and bump it when the contract changes")
        if not model.name:
            self.problem("name", "the contract has no name", "Add a human-readable name")

        documents = self._documents_schema()
        properties = self._properties(documents) if documents is not None else {}
        min_chars, max_chars = self._text_bounds(properties.get("text"))
        embedding_model, embedding_dimensions = self._embedding(properties)
        settings = self._custom_properties()

        field_types = {name: prop.logicalType for name, prop in properties.items()
                       if prop.logicalType in _FIELD_LOGICAL_TYPES}
        required = tuple(name for name, prop in properties.items()
                         if prop.required and name not in _INTRINSIC_PROPERTIES and prop.logicalType != _VECTOR)
        return DocumentContract(
            path=self.path,
            id=model.id or "",
            name=model.name or "",
            version=version,
            content_hash=self.content_hash,
            source_path=self._source_path(),
            required_fields=required,
            field_types=field_types,
            min_text_chars=min_chars,
            max_text_chars=max_chars,
            allowed_mime_types=self._value_set(properties.get("mime_type")),
            allowed_languages=self._value_set(properties.get("language")),
            embedding_model=embedding_model,
            embedding_dimensions=embedding_dimensions,
            **self._team(),
            **settings,
        )

    def _team(self) -> dict[str, Any]:
        """ODCS 3.1+ `team: {name, members}`, or 3.0's bare list of members."""
        team = self.model.team
        if team is None:
            return {}
        members = team if isinstance(team, list) else (team.members or [])
        owners = tuple(
            m.username for m in members if m.username and (m.role or "").strip().lower() == "owner"
        )
        name = None if isinstance(team, list) else (team.name or None)
        return {"team": name, "owners": owners}

    def _source_path(self) -> str | None:
        local = [(i, s) for i, s in enumerate(self.model.servers or []) if s.type == "local"]
        if len(local) > 1:
            self.problem("servers", f"{len(local)} servers have type local",
                         "Keep one local server: it is where this contract's documents are read from")
            return None
        if not local:
            return None
        index, server = local[0]
        if not server.path or not server.path.strip():
            self.problem(f"servers[{server.server or index}].path", "the local server has no path",
                         "Set path to the corpus folder or glob, e.g. examples/corpus")
            return None
        return server.path

    def _documents_schema(self) -> SchemaObject | None:
        matches = [o for o in self.model.schema_ or [] if o.name == DOCUMENTS_SCHEMA]
        if not matches:
            self.problem("schema", f"no schema object named {DOCUMENTS_SCHEMA!r}",
                         f"Add a schema entry with name: {DOCUMENTS_SCHEMA} describing one document")
            return None
        if len(matches) > 1:
            self.problem(f"schema[{DOCUMENTS_SCHEMA}]", f"{len(matches)} schema objects are named {DOCUMENTS_SCHEMA!r}",
                         "Merge them into one")
        documents = matches[0]
        if documents.quality:
            self.problem(f"schema[{DOCUMENTS_SCHEMA}].quality", "corpusgov does not enforce object-level quality rules",
                         "Move value rules to the mime_type or language property, or remove them")
        return documents

    def _properties(self, documents: SchemaObject) -> dict[str, SchemaProperty]:
        base = f"schema[{DOCUMENTS_SCHEMA}].properties"
        properties: dict[str, SchemaProperty] = {}
        for index, prop in enumerate(documents.properties or []):
            name = prop.name or ""
            field = f"{base}[{name or index}]"
            if not name:
                self.problem(field, "a property has no name", "Name it after the document field it describes")
                continue
            if name in properties:
                self.problem(field, f"property {name!r} is declared twice", "Keep one declaration")
                continue
            properties[name] = prop
            if prop.logicalType is None:
                self.problem(f"{field}.logicalType", "the property has no logicalType",
                             f"Set one of: {', '.join((*_FIELD_LOGICAL_TYPES, _VECTOR))}")
            elif prop.logicalType not in (*_FIELD_LOGICAL_TYPES, _VECTOR):
                self.problem(f"{field}.logicalType", f"documents cannot carry {prop.logicalType} fields",
                             f"Use one of: {', '.join((*_FIELD_LOGICAL_TYPES, _VECTOR))}")
            if prop.enum:
                self.problem(f"{field}.enum", "corpusgov does not enforce enum",
                             "Declare allowed values as a quality rule (metric: invalidValues, "
                             "arguments.validValues, mustBe: 0) on mime_type or language")
            if prop.logicalTypeOptions and name != "text" and prop.logicalType != _VECTOR:
                self.problem(f"{field}.logicalTypeOptions",
                             "corpusgov enforces logicalTypeOptions only on text and the vector property",
                             "Remove them so the contract claims nothing that is not checked")
            if prop.quality and name not in _VALUE_SET_PROPERTIES:
                self.problem(f"{field}.quality", f"corpusgov does not enforce quality rules on {name}",
                             f"Remove them; allowed-value rules go on {' or '.join(_VALUE_SET_PROPERTIES)}")
        if "doc_id" not in properties:
            self.problem(base, "no doc_id property",
                         "Declare doc_id (logicalType: string, primaryKey: true, required: true)")
        return properties

    def _text_bounds(self, text: SchemaProperty | None) -> tuple[int | None, int | None]:
        if text is None:
            return None, None
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[text]"
        if text.logicalType != "string":
            self.problem(f"{field}.logicalType", "text must have logicalType string", "Set logicalType: string")
        options = text.logicalTypeOptions or {}
        bounds: list[int | None] = []
        for key in ("minLength", "maxLength"):
            value = options.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                self.problem(f"{field}.logicalTypeOptions.{key}", f"{value!r} is not a character count",
                             "Use a whole number of characters, 0 or more")
                value = None
            bounds.append(value)
        low, high = bounds
        if low is not None and high is not None and low > high:
            self.problem(f"{field}.logicalTypeOptions", f"minLength {low} is above maxLength {high}",
                         "Swap or correct the bounds")
        unknown = sorted(set(options) - {"minLength", "maxLength"})
        if unknown:
            self.problem(f"{field}.logicalTypeOptions.{unknown[0]}", "corpusgov does not enforce this option on text",
                         "Keep only minLength and maxLength")
        return low, high

    def _value_set(self, prop: SchemaProperty | None) -> tuple[str, ...] | None:
        if prop is None or not prop.quality:
            return None
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[{prop.name}].quality"
        if len(prop.quality) > 1:
            self.problem(field, f"{len(prop.quality)} quality rules on {prop.name}",
                         "Keep one invalidValues rule listing every allowed value")
        return self._valid_values(f"{field}[0]", prop.quality[0])

    def _valid_values(self, field: str, rule: DataQuality) -> tuple[str, ...] | None:
        if rule.metric != "invalidValues":
            self.problem(f"{field}.metric", f"corpusgov does not enforce metric {rule.metric!r}",
                         "Use metric: invalidValues with arguments.validValues and mustBe: 0")
            return None
        values = (rule.arguments or {}).get("validValues")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            self.problem(f"{field}.arguments.validValues", "validValues must be a non-empty list of strings",
                         "List every allowed value, e.g. [en, de]")
            return None
        operators = {k: v for k, v in rule.model_dump(exclude_none=True).items() if k.startswith("must")}
        if operators != {"mustBe": 0}:
            self.problem(f"{field}.mustBe", "corpusgov enforces allowed values per document, not as a tolerance",
                         "Write mustBe: 0 and no other mustBe* operator; use maxViolationRate for a budget")
            return None
        return tuple(dict.fromkeys(values))

    def _embedding(self, properties: dict[str, SchemaProperty]) -> tuple[str | None, int | None]:
        vectors = [p for p in properties.values() if p.logicalType == _VECTOR]
        if not vectors:
            return None, None
        if len(vectors) > 1:
            self.problem(f"schema[{DOCUMENTS_SCHEMA}].properties[{vectors[1].name}]",
                         "more than one vector property", "Declare one embedding vector per contract")
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[{vectors[0].name}].logicalTypeOptions"
        options = vectors[0].logicalTypeOptions or {}
        dimensions = options.get("dimensions")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            self.problem(f"{field}.dimensions", f"{dimensions!r} is not a vector length",
                         "Set dimensions to the embedding model's output size, e.g. 384")
            dimensions = None
        model_name = options.get("embeddingModel")
        if model_name is not None and (not isinstance(model_name, str) or not model_name.strip()):
            self.problem(f"{field}.embeddingModel", f"{model_name!r} is not a model identifier",
                         "Name the model, e.g. sentence-transformers/all-MiniLM-L6-v2")
            model_name = None
        return model_name, dimensions

    def _custom_properties(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"minimum_grade": None}
        seen: set[str] = set()
        for index, custom in enumerate(self.model.customProperties or []):
            name = custom.property or ""
            field = f"customProperties[{name or index}]"
            if name in seen:
                self.problem(field, f"{name} is set twice", "Keep one value")
                continue
            seen.add(name)
            value = custom.value
            if name == "minimumGrade":
                grade = self._choice(field, value, tuple(Grade), "grade")
                settings["minimum_grade"] = Grade(grade) if grade else None
            elif name in ("injectionPolicy", "aiGeneratedPolicy"):
                key = "injection_policy" if name == "injectionPolicy" else "ai_generated_policy"
                settings[key] = self._choice(field, value, DETECTION_POLICIES, "policy")
            elif name == "piiPolicy":
                settings["pii_policy"] = self._choice(field, value, PII_POLICIES, "policy")
            elif name == "severity":
                settings["severity"] = self._choice(field, value, SEVERITIES, "severity")
            elif name == "declaredProvenance":
                label = self._choice(field, value, ProvenanceLabel.declarable(), "provenance label")
                settings["source_provenance"] = ProvenanceLabel(label) if label else None
            elif name == "maxViolationRate":
                if (isinstance(value, (int, float)) and not isinstance(value, bool)
                        and math.isfinite(value) and 0 <= value <= 1):
                    settings["max_violation_rate"] = float(value)
                else:
                    self.problem(field, f"{value!r} is not a rate between 0 and 1",
                                 "Write a number such as 0.2 (20% of documents may violate); 1.0 never blocks")
            elif name == "maxAiGeneratedShare":
                if (isinstance(value, (int, float)) and not isinstance(value, bool)
                        and math.isfinite(value) and 0 <= value <= 1):
                    settings["max_ai_generated_share"] = float(value)
                else:
                    self.problem(field, f"{value!r} is not a share between 0 and 1",
                                 "Write a number such as 0.1 (at most 10% of indexed documents AI-generated)")
            elif name == "maxGenerationDepth":
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    settings["max_generation_depth"] = value
                else:
                    self.problem(field, f"{value!r} is not a whole number >= 0",
                                 "Write 1 to admit the RAG app's own outputs but not outputs built on them")
            elif name == "chunking":
                chunking = self._chunking(field, value)
                if chunking is not None:
                    settings["chunking"] = chunking
            elif name == "limits":
                limits = self._limits(field, value)
                if limits is not None:
                    settings["limits"] = limits
            elif name == "maxAge":
                settings["max_age"] = self._duration(field, value)
            elif name == "noDuplicateContent":
                if isinstance(value, bool):
                    settings["no_duplicate_content"] = value
                else:
                    self.problem(field, f"{value!r} is not true or false",
                                 "Write true to quarantine documents whose content repeats another's in the source")
            else:
                self.problem(field, f"unknown custom property {name!r}",
                             f"Use one of: {', '.join(_CUSTOM_PROPERTIES)} (or fix its spelling)")
        return {k: v for k, v in settings.items() if v is not None or k == "minimum_grade"}

    def _duration(self, field: str, value: Any) -> timedelta | None:
        match = _ISO_DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            self.problem(field, f"{_short(repr(value))} is not an ISO 8601 duration",
                         "Write a duration such as P365D, P2Y or P18M (a year counts as 365 days, a month as 30)")
            return None
        parts = {k: float(v) for k, v in match.groupdict(default="0").items()}
        age = timedelta(days=parts["years"] * 365 + parts["months"] * 30 + parts["weeks"] * 7 + parts["days"],
                        hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"])
        if age <= timedelta(0):
            self.problem(field, f"{value!r} is zero: every document would be stale",
                         "Write a positive duration such as P365D, or remove maxAge")
            return None
        return age

    def _choice(self, field: str, value: Any, allowed: tuple[str, ...], what: str) -> str | None:
        if isinstance(value, str) and value in allowed:
            return value
        self.problem(field, f"{value!r} is not a {what} corpusgov knows", f"Use one of: {', '.join(allowed)}")
        return None

    def _positive_numbers(
        self,
        field: str,
        value: Any,
        keys: dict[str, str],
        what: str,
        example: str,
        fractional: frozenset[str] = frozenset(),
    ) -> dict[str, float] | None:
        """A mapping of known keys to positive numbers (whole unless the key is in `fractional`),
        as attribute -> number; None after reporting every problem."""
        if not isinstance(value, dict):
            self.problem(field, f"{_short(repr(value))} is not a mapping",
                         f"Write a mapping with any of {', '.join(keys)}")
            return None
        ok = True
        for key in sorted(set(value) - set(keys)):
            self.problem(f"{field}.{key}", f"unknown {what} {key!r}", f"Use {', '.join(keys)}")
            ok = False
        arguments: dict[str, float] = {}
        for key, attribute in keys.items():
            if key not in value:
                continue
            number = value[key]
            whole = isinstance(number, int) and not isinstance(number, bool)
            real = key in fractional and isinstance(number, float) and math.isfinite(number)
            if not (whole or real) or number <= 0:
                kind = "positive number" if key in fractional else "positive whole number"
                self.problem(f"{field}.{key}", f"{number!r} is not a {kind}", f"Write e.g. {example}")
                ok = False
                continue
            arguments[attribute] = number
        return arguments if ok else None

    def _limits(self, field: str, value: Any) -> FileLimits | None:
        arguments = self._positive_numbers(
            field, value, _LIMIT_KEYS, "limit",
            "maxFileBytes: 67108864 (64 MiB) or maxParseSeconds: 60", _FRACTIONAL_LIMITS,
        )
        return None if arguments is None else FileLimits(**arguments)  # type: ignore[arg-type]

    def _chunking(self, field: str, value: Any) -> ChunkingPolicy | None:
        arguments = self._positive_numbers(
            field, value, _CHUNKING_KEYS, "chunking setting", "maxCharacters: 800"
        )
        ok = True
        if arguments is None:
            return None
        policy = ChunkingPolicy(**arguments)  # type: ignore[arg-type]
        for key, attribute in (("newAfterNChars", "new_after_n_chars"),
                               ("combineTextUnderNChars", "combine_text_under_n_chars")):
            if getattr(policy, attribute) > policy.max_characters:
                self.problem(f"{field}.{key}", f"{getattr(policy, attribute)} is above maxCharacters "
                             f"{policy.max_characters}", "Keep it at or below maxCharacters")
                ok = False
        return policy if ok else None
