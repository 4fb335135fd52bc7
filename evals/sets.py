"""Eval set files: items with a question, an optional reference answer, gold evidence and a split.

An eval set lives in the repo as JSON Lines (one item per line) or YAML (a list of items, or a
mapping with an `items` list). Each item:

    {"id": "q01", "question": "...", "reference_answer": "..." | null,
     "gold": [{"doc_id": "...", "passage": "quoted text from that document"}],
     "split": "dev" | "holdout"}

Loading is strict: unknown keys, duplicate ids, missing gold and unknown splits are errors that
name the file, the line (JSONL) or item, and what to fix, because a typo in gold evidence silently
turns into a wrong benchmark number later.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from evals.errors import EvalSetError

Split = Literal["dev", "holdout"]
SPLITS: tuple[str, ...] = get_args(Split)
DEV: Split = "dev"  # scored on every index change, compared, shown by item
HOLDOUT: Split = "holdout"  # scored only when asked, counted, never shown by item
_ITEM_KEYS = frozenset({"id", "question", "reference_answer", "gold", "split"})
_GOLD_KEYS = frozenset({"doc_id", "passage"})


@dataclass(frozen=True)
class GoldEvidence:
    """A quoted passage from one document that answers the question."""

    doc_id: str
    passage: str


@dataclass(frozen=True)
class EvalItem:
    """One question with its gold evidence; `holdout` items stay out of routine reports."""

    id: str
    question: str
    reference_answer: str | None
    gold: tuple[GoldEvidence, ...]
    split: Split


@dataclass(frozen=True)
class EvalSet:
    """A loaded eval set. `content_hash` covers the items only, so reformatting the file or
    converting it between JSONL and YAML keeps the hash."""

    name: str
    path: Path
    items: tuple[EvalItem, ...]
    content_hash: str

    def item(self, item_id: str) -> EvalItem:
        """The item with this id (KeyError if there is none)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def load_eval_set(path: Path | str) -> EvalSet:
    """Load and validate an eval set from a .jsonl, .yaml or .yml file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".yaml", ".yml"):
        raise EvalSetError(
            path,
            None,
            f"unsupported eval set format {suffix or '(no extension)'!r}",
            "use a .jsonl file (one item per line) or a .yaml/.yml file",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise EvalSetError(path, None, "file not found", "check the eval set path in corpusgov.yaml") from err
    except (OSError, UnicodeDecodeError) as err:
        raise EvalSetError(path, None, f"cannot read the file ({err})", "save it as UTF-8 text") from err

    raw = _read_jsonl(path, text) if suffix == ".jsonl" else _read_yaml(path, text)
    if not raw:
        raise EvalSetError(path, None, "the eval set has no items", "add at least one item")

    items: list[EvalItem] = []
    first_seen: dict[str, str] = {}
    for where, data in raw:
        item = _parse_item(path, where, data)
        if item.id in first_seen:
            raise EvalSetError(
                path,
                where,
                f"duplicate item id {item.id!r} (first at {first_seen[item.id]})",
                "give every item a unique id",
            )
        first_seen[item.id] = where
        items.append(item)
    return EvalSet(name=path.stem, path=path, items=tuple(items), content_hash=eval_items_hash(items))


def eval_items_hash(items: list[EvalItem] | tuple[EvalItem, ...]) -> str:
    """sha256 over the items' canonical JSON, in id order."""
    canonical = [
        {
            "id": item.id,
            "question": item.question,
            "reference_answer": item.reference_answer,
            "gold": [[g.doc_id, g.passage] for g in item.gold],
            "split": item.split,
        }
        for item in sorted(items, key=lambda i: i.id)
    ]
    payload = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _read_jsonl(path: Path, text: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise EvalSetError(
                path,
                f"line {number}",
                f"invalid JSON ({err.msg} at column {err.colno})",
                "write each item as one JSON object on its own line",
            ) from err
    return rows


def _read_yaml(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise EvalSetError(path, None, f"invalid YAML ({err})", "fix the YAML syntax") from err
    if isinstance(data, dict):
        extra = sorted(set(data) - {"items"})
        if extra or "items" not in data:
            raise EvalSetError(
                path,
                None,
                f"the YAML mapping has key(s) {', '.join(map(str, extra)) or '(none)'} instead of `items`",
                "put the items under one `items:` key, or make the top level a list of items",
            )
        data = data["items"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise EvalSetError(
            path,
            None,
            "the YAML document is not a list of items",
            "make the top level a list of items, or a mapping with an `items:` list",
        )
    return [(_yaml_where(index, entry), entry) for index, entry in enumerate(data, start=1)]


def _yaml_where(index: int, entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"item {index} (id {entry['id']!r})"
    return f"item {index}"


def _parse_item(path: Path, where: str, data: Any) -> EvalItem:
    if not isinstance(data, dict):
        raise EvalSetError(
            path, where, "the item is not an object", "write the item as a mapping of keys to values"
        )
    if isinstance(data.get("id"), str) and "id" not in where:
        where = f"{where} (id {data['id']!r})"
    unknown = sorted(set(data) - _ITEM_KEYS)
    if unknown:
        raise EvalSetError(
            path,
            where,
            f"unknown key(s) {', '.join(unknown)}",
            f"use only {', '.join(sorted(_ITEM_KEYS))}",
        )
    item_id = _required_text(path, where, data, "id")
    question = _required_text(path, where, data, "question")
    reference = data.get("reference_answer")
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        raise EvalSetError(
            path,
            where,
            "`reference_answer` is not a non-empty string",
            "give the expected answer as text, or set it to null",
        )
    split = data.get("split")
    if split not in SPLITS:
        raise EvalSetError(
            path,
            where,
            f"`split` is {split!r}",
            f"set split to one of {', '.join(SPLITS)}",
        )
    return EvalItem(
        id=item_id,
        question=question,
        reference_answer=reference,
        gold=_parse_gold(path, where, data.get("gold")),
        split=split,
    )


def _parse_gold(path: Path, where: str, gold: Any) -> tuple[GoldEvidence, ...]:
    if not isinstance(gold, list) or not gold:
        raise EvalSetError(
            path,
            where,
            "`gold` is missing or empty",
            'add gold evidence: [{"doc_id": "<source>/<path>", "passage": "<quoted text>"}]',
        )
    evidence: list[GoldEvidence] = []
    for position, entry in enumerate(gold, start=1):
        at = f"{where}, gold {position}"
        if not isinstance(entry, dict):
            raise EvalSetError(path, at, "gold evidence is not an object", "give doc_id and passage")
        unknown = sorted(set(entry) - _GOLD_KEYS)
        if unknown:
            raise EvalSetError(
                path, at, f"unknown key(s) {', '.join(unknown)}", "use only doc_id and passage"
            )
        evidence.append(
            GoldEvidence(
                doc_id=_required_text(path, at, entry, "doc_id"),
                passage=_required_text(path, at, entry, "passage"),
            )
        )
    return tuple(evidence)


def _required_text(path: Path, where: str, data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EvalSetError(
            path, where, f"`{key}` is missing or not a non-empty string", f"set `{key}` to text"
        )
    return value
