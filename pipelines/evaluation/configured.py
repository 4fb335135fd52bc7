"""The eval sets corpusgov.yaml configures, loaded under the names users type."""

from pathlib import Path

from evals import EvalSet, load_eval_set
from pipelines.errors import CorpusgovError
from pipelines.settings import EvalSetConfig, Settings


def load_configured_set(config: EvalSetConfig) -> EvalSet:
    path = Path(config.path)
    if not path.is_file():
        raise CorpusgovError(
            f"Eval set '{config.name}' points at {path}, which does not exist. Fix evals.sets in corpusgov.yaml."
        )
    eval_set = load_eval_set(path)
    # The configured name is the one users type; the file name is only where it lives.
    return EvalSet(
        name=config.name, path=eval_set.path, items=eval_set.items, content_hash=eval_set.content_hash
    )


def configured_set(settings: Settings, name: str) -> EvalSetConfig:
    for config in settings.evals.sets:
        if config.name == name:
            return config
    known = ", ".join(c.name for c in settings.evals.sets) or "none"
    raise CorpusgovError(f"Unknown eval set '{name}'. Eval sets in {settings.config_path}: {known}.")


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n) or "no changes"
