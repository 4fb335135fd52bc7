"""Read a model-valid ODCS contract into a DocumentContract: the gate corpusgov adds.

It checks what a document contract must declare (a "documents" schema object with a doc_id
property) and the values corpusgov understands in the contract's structure: version, name,
local server, team, properties, text bounds, allowed-value quality rules and the embedding
vector. customProperties are read by contracts.custom_properties.
"""

import re
from pathlib import Path
from typing import Any

from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

from contracts.custom_properties import CustomPropertiesReader
from contracts.document_contract import DocumentContract
from contracts.errors import ContractError, ContractSemanticError

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


class ContractReader:
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
            self.problem(
                "apiVersion",
                f"{model.apiVersion} is not an ODCS v3 version",
                "Use apiVersion v3.2.0 and the v3 contract layout",
            )
        version = model.version or ""
        if model.version is not None and not _SEMVER.match(model.version):
            self.problem(
                "version",
                f"{model.version!r} is not a semantic version",
                "Write MAJOR.MINOR.PATCH, e.g. 1.0.0, and bump it when the contract changes",
            )
        if not model.name:
            self.problem("name", "the contract has no name", "Add a human-readable name")

        documents = self._documents_schema()
        properties = self._properties(documents) if documents is not None else {}
        min_chars, max_chars = self._text_bounds(properties.get("text"))
        embedding_model, embedding_dimensions = self._embedding(properties)
        settings = CustomPropertiesReader(self.problem).read(model.customProperties or [])

        field_types = {
            name: prop.logicalType
            for name, prop in properties.items()
            if prop.logicalType in _FIELD_LOGICAL_TYPES
        }
        required = tuple(
            name
            for name, prop in properties.items()
            if prop.required and name not in _INTRINSIC_PROPERTIES and prop.logicalType != _VECTOR
        )
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
            self.problem(
                "servers",
                f"{len(local)} servers have type local",
                "Keep one local server: it is where this contract's documents are read from",
            )
            return None
        if not local:
            return None
        index, server = local[0]
        if not server.path or not server.path.strip():
            self.problem(
                f"servers[{server.server or index}].path",
                "the local server has no path",
                "Set path to the corpus folder or glob, e.g. examples/corpus",
            )
            return None
        return server.path

    def _documents_schema(self) -> SchemaObject | None:
        matches = [o for o in self.model.schema_ or [] if o.name == DOCUMENTS_SCHEMA]
        if not matches:
            self.problem(
                "schema",
                f"no schema object named {DOCUMENTS_SCHEMA!r}",
                f"Add a schema entry with name: {DOCUMENTS_SCHEMA} describing one document",
            )
            return None
        if len(matches) > 1:
            self.problem(
                f"schema[{DOCUMENTS_SCHEMA}]",
                f"{len(matches)} schema objects are named {DOCUMENTS_SCHEMA!r}",
                "Merge them into one",
            )
        documents = matches[0]
        if documents.quality:
            self.problem(
                f"schema[{DOCUMENTS_SCHEMA}].quality",
                "corpusgov does not enforce object-level quality rules",
                "Move value rules to the mime_type or language property, or remove them",
            )
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
                self.problem(
                    f"{field}.logicalType",
                    "the property has no logicalType",
                    f"Set one of: {', '.join((*_FIELD_LOGICAL_TYPES, _VECTOR))}",
                )
            elif prop.logicalType not in (*_FIELD_LOGICAL_TYPES, _VECTOR):
                self.problem(
                    f"{field}.logicalType",
                    f"documents cannot carry {prop.logicalType} fields",
                    f"Use one of: {', '.join((*_FIELD_LOGICAL_TYPES, _VECTOR))}",
                )
            if prop.enum:
                self.problem(
                    f"{field}.enum",
                    "corpusgov does not enforce enum",
                    "Declare allowed values as a quality rule (metric: invalidValues, "
                    "arguments.validValues, mustBe: 0) on mime_type or language",
                )
            if prop.logicalTypeOptions and name != "text" and prop.logicalType != _VECTOR:
                self.problem(
                    f"{field}.logicalTypeOptions",
                    "corpusgov enforces logicalTypeOptions only on text and the vector property",
                    "Remove them so the contract claims nothing that is not checked",
                )
            if prop.quality and name not in _VALUE_SET_PROPERTIES:
                self.problem(
                    f"{field}.quality",
                    f"corpusgov does not enforce quality rules on {name}",
                    f"Remove them; allowed-value rules go on {' or '.join(_VALUE_SET_PROPERTIES)}",
                )
        if "doc_id" not in properties:
            self.problem(
                base,
                "no doc_id property",
                "Declare doc_id (logicalType: string, primaryKey: true, required: true)",
            )
        return properties

    def _text_bounds(self, text: SchemaProperty | None) -> tuple[int | None, int | None]:
        if text is None:
            return None, None
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[text]"
        if text.logicalType != "string":
            self.problem(
                f"{field}.logicalType", "text must have logicalType string", "Set logicalType: string"
            )
        options = text.logicalTypeOptions or {}
        bounds: list[int | None] = []
        for key in ("minLength", "maxLength"):
            value = options.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                self.problem(
                    f"{field}.logicalTypeOptions.{key}",
                    f"{value!r} is not a character count",
                    "Use a whole number of characters, 0 or more",
                )
                value = None
            bounds.append(value)
        low, high = bounds
        if low is not None and high is not None and low > high:
            self.problem(
                f"{field}.logicalTypeOptions",
                f"minLength {low} is above maxLength {high}",
                "Swap or correct the bounds",
            )
        unknown = sorted(set(options) - {"minLength", "maxLength"})
        if unknown:
            self.problem(
                f"{field}.logicalTypeOptions.{unknown[0]}",
                "corpusgov does not enforce this option on text",
                "Keep only minLength and maxLength",
            )
        return low, high

    def _value_set(self, prop: SchemaProperty | None) -> tuple[str, ...] | None:
        if prop is None or not prop.quality:
            return None
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[{prop.name}].quality"
        if len(prop.quality) > 1:
            self.problem(
                field,
                f"{len(prop.quality)} quality rules on {prop.name}",
                "Keep one invalidValues rule listing every allowed value",
            )
        return self._valid_values(f"{field}[0]", prop.quality[0])

    def _valid_values(self, field: str, rule: DataQuality) -> tuple[str, ...] | None:
        if rule.metric != "invalidValues":
            self.problem(
                f"{field}.metric",
                f"corpusgov does not enforce metric {rule.metric!r}",
                "Use metric: invalidValues with arguments.validValues and mustBe: 0",
            )
            return None
        values = (rule.arguments or {}).get("validValues")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            self.problem(
                f"{field}.arguments.validValues",
                "validValues must be a non-empty list of strings",
                "List every allowed value, e.g. [en, de]",
            )
            return None
        operators = {k: v for k, v in rule.model_dump(exclude_none=True).items() if k.startswith("must")}
        if operators != {"mustBe": 0}:
            self.problem(
                f"{field}.mustBe",
                "corpusgov enforces allowed values per document, not as a tolerance",
                "Write mustBe: 0 and no other mustBe* operator; use maxViolationRate for a budget",
            )
            return None
        return tuple(dict.fromkeys(values))

    def _embedding(self, properties: dict[str, SchemaProperty]) -> tuple[str | None, int | None]:
        vectors = [p for p in properties.values() if p.logicalType == _VECTOR]
        if not vectors:
            return None, None
        if len(vectors) > 1:
            self.problem(
                f"schema[{DOCUMENTS_SCHEMA}].properties[{vectors[1].name}]",
                "more than one vector property",
                "Declare one embedding vector per contract",
            )
        field = f"schema[{DOCUMENTS_SCHEMA}].properties[{vectors[0].name}].logicalTypeOptions"
        options = vectors[0].logicalTypeOptions or {}
        dimensions = options.get("dimensions")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            self.problem(
                f"{field}.dimensions",
                f"{dimensions!r} is not a vector length",
                "Set dimensions to the embedding model's output size, e.g. 384",
            )
            dimensions = None
        model_name = options.get("embeddingModel")
        if model_name is not None and (not isinstance(model_name, str) or not model_name.strip()):
            self.problem(
                f"{field}.embeddingModel",
                f"{model_name!r} is not a model identifier",
                "Name the model, e.g. sentence-transformers/all-MiniLM-L6-v2",
            )
            model_name = None
        return model_name, dimensions
