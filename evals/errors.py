"""Errors about an eval set or about comparing eval results.

Every message says what happened, where (file and line or item id, or which result key) and what
to do, so the one-line str() is enough for a user to act without reading a traceback.
"""

from pathlib import Path


class EvalError(Exception):
    """Base class of every error the `evals` package raises on purpose."""


class EvalSetError(EvalError):
    """An eval set file cannot be used. str() is "<file>: <where>: <problem>. <what to do>".
    `line` is the file's line the problem is on, when there is one (for `corpusgov evals lint`)."""

    def __init__(
        self, path: Path, where: str | None, problem: str, action: str, line: int | None = None
    ) -> None:
        self.path: Path = path
        self.where: str | None = where
        self.line: int | None = line
        self.problem: str = _sentence(problem)
        action = _sentence(action)
        # It follows the problem's full stop: a sentence of its own.
        self.action: str = action[:1].upper() + action[1:]
        super().__init__(self.__str__())

    def __str__(self) -> str:
        location = f"{self.path}: {self.where}: " if self.where else f"{self.path}: "
        # One line, always: JSON and YAML parser messages can carry newlines.
        return " ".join(f"{location}{self.problem} {self.action}".split())


class IncomparableResultsError(EvalError):
    """Two eval results were measured under different keys, so their difference means nothing."""

    def __init__(self, differing: tuple[str, ...], message: str) -> None:
        self.differing: tuple[str, ...] = differing
        super().__init__(message)


class EvalResolutionError(EvalError):
    """Inputs to resolution or scoring do not fit together (e.g. an item without a resolution)."""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
