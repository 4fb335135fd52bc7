"""Where a run's steps execute: in processes on this machine (the default), or as Kubernetes Jobs.

Chosen when Dagster loads the code location, from the environment of the process that loads it,
so one image serves both: CORPUSGOV_EXECUTOR=k8s selects dagster-k8s's `k8s_job_executor`,
configured from the YAML file at CORPUSGOV_EXECUTOR_CONFIG (deploy/k8s/executor.yaml is the one
corpusgov ships). Unset, Dagster's default stands: the multiprocess executor, one process per
step, the source steps side by side.
"""

import os
from pathlib import Path

import dagster as dg
import yaml

from pipelines.errors import ConfigError

EXECUTOR_ENV = "CORPUSGOV_EXECUTOR"
EXECUTOR_CONFIG_ENV = "CORPUSGOV_EXECUTOR_CONFIG"
EXECUTORS = ("multiprocess", "k8s")


def deployment_executor() -> dg.ExecutorDefinition | None:
    """The executor the environment asks for; None keeps Dagster's default (multiprocess)."""
    chosen = os.environ.get(EXECUTOR_ENV, "multiprocess").strip() or "multiprocess"
    if chosen not in EXECUTORS:
        raise ConfigError(
            f"{EXECUTOR_ENV}={chosen!r} is not an executor corpusgov knows. Use one of: {', '.join(EXECUTORS)}."
        )
    if chosen == "multiprocess":
        return None
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError as err:
        raise ConfigError(
            f"{EXECUTOR_ENV}=k8s needs dagster-k8s: pip install 'corpusgov[deploy]' in the image."
        ) from err
    return k8s_job_executor.configured(executor_config(), name="corpusgov_k8s_executor")


def executor_config() -> dict[str, object]:
    """The executor's config from CORPUSGOV_EXECUTOR_CONFIG (a YAML mapping)."""
    path = os.environ.get(EXECUTOR_CONFIG_ENV, "")
    if not path:
        raise ConfigError(
            f"{EXECUTOR_ENV}=k8s needs {EXECUTOR_CONFIG_ENV}: the path of the executor's YAML (see deploy/k8s/executor.yaml)."
        )
    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{EXECUTOR_CONFIG_ENV}={path} cannot be read: {err}") from err
    if not isinstance(config, dict):
        raise ConfigError(f"{EXECUTOR_CONFIG_ENV}={path} must hold a YAML mapping of the executor's config.")
    return config


def require_valid_executor_config(job: dg.JobDefinition) -> None:
    try:
        dg.validate_run_config(job, {})
    except dg.DagsterInvalidConfigError as err:
        path = os.environ.get(EXECUTOR_CONFIG_ENV, "")
        problems = "; ".join(e.message for e in err.errors) or str(err)
        raise ConfigError(
            f"{EXECUTOR_CONFIG_ENV}={path} is not a valid config for the executor: {problems}"
        ) from err
