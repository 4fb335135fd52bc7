"""Nothing is fetched at run time: switch off every hub lookup and telemetry ping we know of,
and keep third-party chatter out of the CLI and the Dagster logs.

Each variable is set only if the user has not set it, and before the libraries that read it are
imported (the `pipelines` package imports this first).
"""

import logging
import os

# ragas reads RAGAS_DO_NOT_TRACK as "true" only ("1" leaves its telemetry on).
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "ORT_DISABLE_TELEMETRY": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "RAGAS_DO_NOT_TRACK": "true",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}

# Libraries that log per document at WARNING what is not a problem for us (unstructured: "No
# languages specified"; pypdf: recoverable structure oddities, which we report as reasons).
QUIET_LOGGERS = ("unstructured", "pypdf", "pdfminer", "sentence_transformers", "transformers")


def keep_offline() -> None:
    """Set the offline and no-telemetry switches for this process and its children."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for logger in QUIET_LOGGERS:
        logging.getLogger(logger).setLevel(logging.ERROR)
