"""The eval sets corpusgov.yaml configures, loaded under the names users type, and checked before
a run touches the index (`check_eval_sets`) or on their own (`lint_configured_sets`)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals import EvalSet, EvalSetError, lint_eval_set, load_eval_set
from pipelines.errors import CorpusgovError
from pipelines.settings import EvalSetConfig, Settings


def load_configured_set(config: EvalSetConfig) -> EvalSet:
    """The eval set, or a one-line `CorpusgovError` naming its file, line and problem."""
    path = Path(config.path)
    if not path.is_file():
        raise CorpusgovError(
            f"Eval set '{config.name}' points at {path}, which does not exist. Fix evals.sets in corpusgov.yaml."
        )
    try:
        eval_set = load_eval_set(path)
    except EvalSetError as err:
        raise CorpusgovError(
            f"Eval set '{config.name}' cannot be loaded: {err} `corpusgov evals lint` lists every problem."
        ) from err
    # The configured name is the one users type; the file name is only where it lives.
    return EvalSet(
        name=config.name, path=eval_set.path, items=eval_set.items, content_hash=eval_set.content_hash
    )


def check_eval_sets(settings: Settings) -> None:
    """Every configured eval set loads, checked before a run touches the index, as the contracts
    are: a run that committed first would leave its new index version without the eval sets that
    follow it, and its user with an error after the fact. Unlike a broken contract, which skips
    its source, a malformed set stops the whole run. Once the sets load again, the next run binds
    them, even one that changes no document (`version_eval_sets` binds what is not bound yet)."""
    for config in settings.evals.sets:
        try:
            load_configured_set(config)
        except CorpusgovError as err:
            raise CorpusgovError(f"{err} Nothing of this run was committed.") from err


@dataclass(frozen=True)
class EvalSetProblem:
    """One problem of a configured eval set's file (`corpusgov evals lint`)."""

    eval_set: str
    file: Path
    line: int | None  # None: the file as a whole (missing, unreadable, not a list of items)
    message: str  # "<file>: <where>: <problem>. <what to do>", one line

    def as_json(self) -> dict[str, Any]:
        return {"eval_set": self.eval_set, "file": str(self.file), "line": self.line, "message": self.message}


def lint_configured_sets(settings: Settings) -> list[EvalSetProblem]:
    """Every problem of every configured eval set's file, set by set in the file's order."""
    return [
        EvalSetProblem(config.name, problem.path, problem.line, str(problem))
        for config in settings.evals.sets
        for problem in lint_eval_set(config.path)
    ]


def configured_set(settings: Settings, name: str) -> EvalSetConfig:
    for config in settings.evals.sets:
        if config.name == name:
            return config
    known = ", ".join(c.name for c in settings.evals.sets) or "none"
    raise CorpusgovError(f"Unknown eval set '{name}'. Eval sets in {settings.config_path}: {known}.")


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n) or "no changes"
