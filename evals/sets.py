"""Eval set files: items with a question, an optional reference answer, gold evidence and a split.

An eval set lives in the repo as JSON Lines (one item per line) or YAML (a list of items, or a
mapping with an `items` list). Each item:

    {"id": "q01", "question": "...", "reference_answer": "..." | null,
     "gold": [{"doc_id": "...", "passage": "quoted text from that document"}],
     "split": "dev" | "holdout"}

Loading is strict: unknown keys, duplicate ids, missing gold and unknown splits are errors that
name the file, the line (and the item, in YAML) and what to fix, because a typo in gold evidence
silently turns into a wrong benchmark number later. `load_eval_set` raises the first problem;
`lint_eval_set` lists them all (`corpusgov evals lint`).
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
    """Load and validate an eval set from a .jsonl, .yaml or .yml file; raise its first problem."""
    path = Path(path)
    items, problems = _read_eval_set(path)
    if problems:
        raise problems[0]
    return EvalSet(name=path.stem, path=path, items=tuple(items), content_hash=eval_items_hash(items))


def lint_eval_set(path: Path | str) -> list[EvalSetError]:
    """Every problem of an eval set file, in the file's order (empty when it loads): one per item
    that cannot be read or used, one for a file that cannot be read or parsed as a whole."""
    return _read_eval_set(Path(path))[1]


@dataclass(frozen=True)
class _Row:
    """One item as the file holds it, before validation: where it is, in words and as a line."""

    where: str
    line: int | None
    data: Any


def _read_eval_set(path: Path) -> tuple[list[EvalItem], list[EvalSetError]]:
    """The items that validate and the problems of the others, so `load_eval_set` and
    `lint_eval_set` judge a file the same way."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".yaml", ".yml"):
        return [], [
            EvalSetError(
                path,
                None,
                f"unsupported eval set format {suffix or '(no extension)'!r}",
                "use a .jsonl file (one item per line) or a .yaml/.yml file",
            )
        ]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], [EvalSetError(path, None, "file not found", "check the eval set path in corpusgov.yaml")]
    except (OSError, UnicodeDecodeError) as err:
        return [], [EvalSetError(path, None, f"cannot read the file ({err})", "save it as UTF-8 text")]
    try:
        rows, problems = _read_jsonl(path, text) if suffix == ".jsonl" else (_read_yaml(path, text), [])
    except EvalSetError as err:  # the file as a whole: no item can be told apart
        return [], [err]
    if not rows and not problems:
        return [], [EvalSetError(path, None, "the eval set has no items", "add at least one item")]

    items: list[EvalItem] = []
    first_seen: dict[str, str] = {}
    for row in rows:
        try:
            items.append(_parse_item(path, row.where, row.data))
        except EvalSetError as err:
            # The checks below name the place in words; the line is the row's.
            err.line = row.line
            problems.append(err)
        item_id = row.data.get("id") if isinstance(row.data, dict) else None
        if not isinstance(item_id, str):
            continue
        if item_id in first_seen:
            problems.append(
                EvalSetError(
                    path,
                    row.where,
                    f"duplicate item id {item_id!r} (first at {first_seen[item_id]})",
                    "give every item a unique id",
                    line=row.line,
                )
            )
        else:
            first_seen[item_id] = row.where
    # Invalid JSON lines were found while reading, the items' problems after: in the file's order.
    problems.sort(key=lambda problem: problem.line or 0)
    return items, problems


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


def _read_jsonl(path: Path, text: str) -> tuple[list[_Row], list[EvalSetError]]:
    rows: list[_Row] = []
    problems: list[EvalSetError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(_Row(f"line {number}", number, json.loads(line)))
        except json.JSONDecodeError as err:
            problems.append(
                EvalSetError(
                    path,
                    f"line {number}",
                    f"invalid JSON ({err.msg} at column {err.colno})",
                    "write each item as one JSON object on its own line",
                    line=number,
                )
            )
    return rows, problems


def _read_yaml(path: Path, text: str) -> list[_Row]:
    try:
        data = yaml.safe_load(text)
        # The same document as nodes: where each item starts, for the line of its problems.
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise EvalSetError(
            path, f"line {line}" if line else None, f"invalid YAML ({err})", "fix the YAML syntax", line=line
        ) from err
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
        node = next(value for key, value in node.value if key.value == "items")
    if data is None:
        return []
    if not isinstance(data, list):
        raise EvalSetError(
            path,
            None,
            "the YAML document is not a list of items",
            "make the top level a list of items, or a mapping with an `items:` list",
        )
    lines = [entry.start_mark.line + 1 for entry in node.value]
    return [
        _Row(f"line {line}, {_yaml_where(index, entry)}", line, entry)
        for index, (line, entry) in enumerate(zip(lines, data, strict=True), start=1)
    ]


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
