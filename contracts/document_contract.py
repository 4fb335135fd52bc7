"""The records a loaded contract becomes: what the pipeline and enforcement code against."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from corpus_quality.vocabulary import Grade, ProvenanceLabel

DETECTION_POLICIES: tuple[str, ...] = ("allow", "tag", "quarantine")
PII_POLICIES: tuple[str, ...] = ("allow", "redact", "quarantine")
SEVERITIES: tuple[str, ...] = ("warning", "error")


@dataclass(frozen=True)
class ChunkingPolicy:
    max_characters: int = 1000
    new_after_n_chars: int = 800
    combine_text_under_n_chars: int = 200


@dataclass(frozen=True)
class FileLimits:
    """The most work one file may cost (customProperties `limits`). A file over a limit is a
    rejected document (`discover.too_large`, `parse.limit_exceeded`), never a failed run.

    The defaults admit any ordinary enterprise document: a 500-page PDF parses in under a minute
    here, and Office XML compresses about 10:1.
    """

    max_file_bytes: int = 64 * 1024 * 1024  # maxFileBytes: bytes on disk, checked before reading
    max_unpacked_bytes: int = 256 * 1024 * 1024  # maxUnpackedBytes: a DOCX's zip members, unpacked
    max_compression_ratio: float = 100.0  # maxCompressionRatio: per zip member over 1 MiB
    max_text_chars: int = 10_000_000  # maxTextChars: text extracted from one file
    max_parse_seconds: float = 120.0  # maxParseSeconds: wall clock to parse one file
    max_parse_memory_bytes: int = 2 * 1024 * 1024 * 1024  # maxParseMemoryBytes: parser's memory


@dataclass(frozen=True)
class DocumentContract:
    """One source's document contract.

    Enforcement (contracts.enforcement) only says which documents break which rule. What then
    happens is named here and decided by the pipeline:

    - severity "error": a run whose violation rate is above max_violation_rate is blocked (the
      index is not updated); severity "warning": over budget only warns, never blocks. Either
      way, each violating document is quarantined with its reasons.
    - pii_policy "allow" indexes PII as found, "redact" masks it in the indexed text, "quarantine"
      holds the document back; the pipeline applies it, no expectation checks it.
    """

    path: Path
    id: str
    name: str
    version: str
    content_hash: str  # sha256 of the file bytes
    source_path: str | None  # servers[type == "local"].path, as written in the file
    required_fields: tuple[str, ...]  # required properties other than doc_id and text
    field_types: dict[str, str]  # property -> logicalType; the vector property is excluded
    min_text_chars: int | None
    max_text_chars: int | None
    allowed_mime_types: tuple[str, ...] | None
    allowed_languages: tuple[str, ...] | None
    minimum_grade: Grade | None
    injection_policy: str = "tag"
    ai_generated_policy: str = "tag"
    pii_policy: str = "allow"
    source_provenance: ProvenanceLabel | None = None
    chunking: ChunkingPolicy = ChunkingPolicy()
    limits: FileLimits = FileLimits()
    team: str | None = None  # ODCS `team.name`: who governs the source
    owners: tuple[str, ...] = ()  # usernames of team members whose role is owner
    embedding_model: str | None = None
    embedding_dimensions: int | None = None
    max_violation_rate: float = 1.0
    severity: str = "error"
    max_age: timedelta | None = None  # customProperties maxAge; None: no freshness rule
    no_duplicate_content: bool = False  # customProperties noDuplicateContent
    # Provenance budget: the share of indexed documents labelled ai_generated (a Dagster check).
    max_ai_generated_share: float = 1.0  # customProperties maxAiGeneratedShare
    # 1 admits the RAG app's own outputs, not outputs built on outputs; None: no limit.
    max_generation_depth: int | None = None  # customProperties maxGenerationDepth

    @property
    def ref(self) -> str:
        return contract_ref(self.id, self.version)

    @property
    def blocks_when_over_budget(self) -> bool:
        """True when a run over max_violation_rate is blocked; a "warning" contract only warns."""
        return self.severity == "error"

    @property
    def allowed_grades(self) -> tuple[Grade, ...] | None:
        """Grades at or above minimum_grade, or None when grades are not constrained."""
        if self.minimum_grade is None:
            return None
        return Grade.at_or_above(self.minimum_grade)


def contract_ref(contract_id: str | None, version: str | None) -> str:
    """How one version of a contract is named everywhere (ledger, reports, alerts): `id@version`."""
    return f"{contract_id}@{version}"


@dataclass(frozen=True)
class ContractProblem:
    path: Path
    field: str | None  # dotted field path, list items named where they have a name
    message: str  # the problem and what to do


@dataclass(frozen=True)
class BudgetVerdict:
    """A source against its contract's error budget (customProperties maxViolationRate).

    The share is over the source's governed documents: those indexed now plus those checked in
    this run, so one bad file added to a clean source of 30 is 1 in 31, not "100% of what changed".
    Every quarantine reason the contract decides counts: its rules, its policies, its grade floor.
    """

    violating: int
    governed: int
    max_violation_rate: float

    @property
    def violation_rate(self) -> float:
        return self.violating / self.governed if self.governed else 0.0

    @property
    def within_budget(self) -> bool:
        return self.violation_rate <= self.max_violation_rate
