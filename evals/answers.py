"""The RAG app's answers to eval questions: what the generation metrics judge.

Two sources, named by `evals.answers` in corpusgov.yaml:
- a JSONL file the app wrote, one `{"id": ..., "answer": ..., "contexts": [...]?}` per item;
- an importable `module:function(question, contexts) -> answer`, called with the contexts
  corpusgov retrieved from the index version under test, so answer and contexts share its key.

Either way the contexts judged are the ones retrieved from the index version under test. A JSONL
line's own `contexts` (what the app saw when it answered) are compared with them: answers given
on other contexts are counted, since they were likely produced on another index.

Every source has a fingerprint, part of a result's key: the JSONL file's content hash, or the
callable's name and its module's source hash. Other answers make other results. A callable is
called on every baseline: one that is not deterministic (sampling, a changing prompt or model
behind the same code) gives other answers under the same fingerprint, and misses the judge
cache. Write its answers to a JSONL for baselines that can be reproduced.
"""

import hashlib
import importlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evals.errors import EvalSetError


class AnswerSource(Protocol):
    """Answers by item; `fingerprint` changes whenever the answers may."""

    fingerprint: str
    description: str

    def answer(self, item_id: str, question: str, contexts: Sequence[str]) -> str | None: ...

    def answered_on_other_contexts(self, item_id: str, contexts: Sequence[str]) -> bool: ...


@dataclass(frozen=True)
class AppAnswer:
    answer: str
    contexts: tuple[str, ...] | None


@dataclass(frozen=True)
class JsonlAnswers:
    """Answers the app wrote to a JSONL file; an item without a line has no answer."""

    path: Path
    answers: Mapping[str, AppAnswer]
    fingerprint: str

    @property
    def description(self) -> str:
        return f"{self.path.name} ({len(self.answers)} answers)"

    def answer(self, item_id: str, question: str, contexts: Sequence[str]) -> str | None:
        found = self.answers.get(item_id)
        return found.answer if found else None

    def answered_on_other_contexts(self, item_id: str, contexts: Sequence[str]) -> bool:
        found = self.answers.get(item_id)
        if found is None or found.contexts is None:
            return False
        retrieved = {_normalised(c) for c in contexts}
        return not any(_normalised(c) in retrieved for c in found.contexts)


@dataclass(frozen=True)
class CallableAnswers:
    """The app itself, called in process with the question and the retrieved contexts."""

    reference: str
    function: Callable[[str, list[str]], str]
    fingerprint: str

    @property
    def description(self) -> str:
        return self.reference

    def answer(self, item_id: str, question: str, contexts: Sequence[str]) -> str | None:
        value = self.function(question, list(contexts))
        if not isinstance(value, str):
            raise TypeError(f"{self.reference} returned {type(value).__name__}, not the answer text")
        return value

    def answered_on_other_contexts(self, item_id: str, contexts: Sequence[str]) -> bool:
        return False


def load_answers(reference: str) -> JsonlAnswers | CallableAnswers:
    """The source `evals.answers` names: a path ending in .jsonl, or `module:function`."""
    if reference.endswith(".jsonl"):
        return _load_jsonl(Path(reference))
    return _load_callable(reference)


def _load_jsonl(path: Path) -> JsonlAnswers:
    try:
        content = path.read_bytes()
    except OSError as err:
        raise EvalSetError(
            path, None, f"the answers file cannot be read ({err.strerror or err})", "fix evals.answers"
        ) from None
    answers: dict[str, AppAnswer] = {}
    for number, line in enumerate(content.decode("utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            item_id, answer = _parse_line(path, number, line)
            if item_id in answers:
                raise EvalSetError(path, f"line {number}", f"id {item_id!r} is answered twice", "keep one")
            answers[item_id] = answer
    return JsonlAnswers(path, answers, f"jsonl:{hashlib.sha256(content).hexdigest()[:16]}")


def _parse_line(path: Path, number: int, line: str) -> tuple[str, AppAnswer]:
    where = f"line {number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise EvalSetError(path, where, f"not JSON ({err.msg})", "write one JSON object per line") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise EvalSetError(path, where, "no string `id`", 'write {"id": ..., "answer": ...}')
    if not isinstance(data.get("answer"), str):
        raise EvalSetError(path, where, "`answer` is missing or not text", "give the app's answer as text")
    contexts: Any = data.get("contexts")
    if contexts is not None and (
        not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts)
    ):
        raise EvalSetError(path, where, "`contexts` is not a list of strings", "give texts, or leave it out")
    return data["id"], AppAnswer(data["answer"], tuple(contexts) if contexts is not None else None)


def _load_callable(reference: str) -> CallableAnswers:
    module_name, _, function_name = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # the app's own import-time code may raise anything
        raise EvalSetError(
            Path(module_name),
            None,
            f"evals.answers names module {module_name}, which cannot be imported "
            f"({type(err).__name__}: {err})",
            "install the app's package in this environment, set what its import needs, or fix evals.answers",
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise EvalSetError(
            Path(module_name),
            None,
            f"module {module_name} has no function {function_name}",
            "fix evals.answers (module:function)",
        )
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = ""  # compiled or frozen: the name alone identifies it
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return CallableAnswers(reference, function, f"callable:{reference}@{digest}")


def _normalised(text: str) -> str:
    return " ".join(text.split()).lower()
