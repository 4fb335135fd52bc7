"""Read side: status, documents and search, for the CLI, the Dagster assets and users' scripts."""

from dataclasses import dataclass
from typing import Any

from corpus_quality.ai_text_heuristic import HEURISTIC_AI_FLAG
from corpus_quality.errors import UnknownGradeError
from corpus_quality.safety import SAFETY_CODES
from corpus_quality.vocabulary import Grade, ProvenanceLabel
from pipelines.document.outcome import DocumentState
from pipelines.embedding.model import Embedder, require_index_model
from pipelines.errors import CorpusgovError
from pipelines.index.table import ChunkIndex, SearchHit, manifest_versions
from pipelines.ledger import IndexVersion, Ledger
from pipelines.settings import Settings

# Every flag a chunk can carry: the safety scan's codes and the weak AI-text heuristic's tag.
KNOWN_FLAGS: tuple[str, ...] = (*SAFETY_CODES, HEURISTIC_AI_FLAG)


@dataclass(frozen=True)
class CorpusStatus:
    """The current index version and the documents in each state: `corpusgov status`."""

    index_version: int | None  # None: nothing indexed yet
    lance_version: int | None
    chunks: int
    # Model, weights, backend and precision: what a query must be embedded with.
    embedding_model: str | None
    documents: dict[str, int]  # state -> documents
    index_problem: str | None  # the index is not where the ledger says (see `index_problem`)
    serving_version: int | None = None  # what RAG apps read (`serving`); None: nothing published

    def as_json(self) -> dict[str, Any]:
        """The shape of `corpusgov status --json`."""
        return {
            "index_version": self.index_version,
            "lance_version": self.lance_version,
            "chunks": self.chunks,
            "embedding_model": self.embedding_model,
            "documents": self.documents,
            "index_problem": self.index_problem,
            "serving_version": self.serving_version,
        }

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> "CorpusStatus":
        # Older corpusgov printed neither the embedding model nor the index problem.
        return cls(
            index_version=payload.get("index_version"),
            lance_version=payload.get("lance_version"),
            chunks=payload.get("chunks", 0),
            embedding_model=payload.get("embedding_model"),
            documents=dict(payload.get("documents", {})),
            index_problem=payload.get("index_problem"),
            serving_version=payload.get("serving_version"),
        )


def corpus_status(settings: Settings) -> CorpusStatus:
    """The current index version and the documents in each state."""
    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    return CorpusStatus(
        index_version=latest.index_version if latest else None,
        lance_version=latest.lance_version if latest else None,
        chunks=latest.total_chunks if latest else 0,
        embedding_model=latest.embedding_model if latest else None,
        documents=ledger.state_counts(),
        index_problem=index_problem(settings, latest),
        serving_version=served.index_version if (served := ledger.serving_version()) else None,
    )


def index_problem(settings: Settings, latest: IndexVersion | None) -> str | None:
    """A quick look that the index is where the ledger says: its manifests, from file names
    (`corpusgov doctor` reads every chunk)."""
    versions = manifest_versions(settings.lancedb_uri)
    if latest is None:
        return None if versions is None else "the index holds a table no run committed"
    if versions is None:
        return (
            None
            if not Ledger.of(settings).chunk_ids()
            else (f"the index table is missing; the ledger records index version {latest.index_version}")
        )
    newest = max(versions, default=0)
    if latest.lance_version not in versions:
        return (
            f"the index is behind the ledger: LanceDB version {latest.lance_version}, which the "
            f"ledger's latest index version needs, is not on disk (newest: {newest}); table files "
            "were removed"
        )
    if newest > latest.lance_version:
        return (
            f"the index is at LanceDB version {newest}, ahead of the ledger's {latest.lance_version}: "
            "a run was interrupted; the next ingest rolls it back"
        )
    return None


def list_documents(
    settings: Settings, state: str | None = None, source: str | None = None, flag: str | None = None
) -> list[dict[str, Any]]:
    """The shape of `corpusgov documents --json`."""
    if state is not None and state not in {s.value for s in DocumentState}:
        raise CorpusgovError(
            f"Unknown state '{state}'. Use one of: {', '.join(s.value for s in DocumentState)}."
        )
    if source is not None:
        settings.source(source)
    if flag is not None:
        require_known_flags((flag,))
    rows = Ledger.of(settings).document_rows(state=state, source=source, flag=flag)
    return [
        {
            "doc_id": r.doc_id,
            "source": r.source,
            "path": r.path,
            "state": r.state.value,
            "reasons": list(r.reasons),
            "content_hash": r.content_hash,
            "grade": r.grade,
            "quality_score": r.quality_score,
            "provenance": r.provenance,
            "safety_flags": list(r.safety_flags),
            "contract_version": r.contract_version,
        }
        for r in rows
    ]


def require_known_flags(flags: tuple[str, ...]) -> None:
    """A flag code nobody emits would filter nothing, silently: refuse it."""
    unknown = [flag for flag in flags if flag not in KNOWN_FLAGS]
    if unknown:
        raise CorpusgovError(
            f"Unknown flag '{unknown[0]}': the filter would match nothing. Use one of: "
            f"{', '.join(KNOWN_FLAGS)}."
        )


def grades_at_least(minimum: str) -> tuple[Grade, ...]:
    """`--min-grade`'s allowed grades; a grade corpusgov does not know is the user's error."""
    try:
        return Grade.at_or_above(minimum)
    except UnknownGradeError:
        raise CorpusgovError(f"Unknown grade '{minimum}'. Use one of: {', '.join(Grade)}.") from None


def search_corpus(
    settings: Settings,
    embedder: Embedder,
    query: str,
    k: int = 5,
    exclude_labels: tuple[str, ...] = (),
    min_grade: str | None = None,
    as_of: int | None = None,
    exclude_flags: tuple[str, ...] = (),
    candidate: bool = False,
) -> list[SearchHit]:
    """Nearest chunks to `query` in the served index version (what the RAG app reads), filtered by
    governance columns; `as_of` reads an older version, `candidate` the newest committed one."""
    unknown = [label for label in exclude_labels if label not in tuple(ProvenanceLabel)]
    if unknown:
        raise CorpusgovError(
            f"Unknown provenance label '{unknown[0]}'. Use one of: {', '.join(ProvenanceLabel)}."
        )
    require_known_flags(exclude_flags)
    if not 1 <= k <= settings.serving.max_k:
        raise CorpusgovError(
            f"--k must be from 1 to {settings.serving.max_k} (serving.max_k in corpusgov.yaml), got {k}."
        )
    allowed = grades_at_least(min_grade) if min_grade else None
    ledger = Ledger.of(settings)
    latest = ledger.latest_index_version()
    if latest is None:
        raise CorpusgovError("The index is empty. Run `corpusgov ingest` first.")
    if as_of is not None and candidate:
        raise CorpusgovError("Give either --as-of N or --candidate, not both.")
    require_index_model(latest.embedding_model, embedder.model_id, settings.data_dir)
    version: IndexVersion | None
    if as_of is not None:
        version = next((v for v in ledger.index_versions() if v.index_version == as_of), None)
        if version is None:
            raise CorpusgovError(
                f"There is no index version {as_of}; the latest is {latest.index_version}. "
                "See `corpusgov status`."
            )
    elif candidate:
        version = latest
    else:
        version = ledger.serving_version()
        if version is None:
            raise CorpusgovError(
                f"No index version is published yet: the newest, {latest.index_version}, is a candidate. "
                f"`corpusgov index promote {latest.index_version}` publishes it; `--candidate` searches it."
            )
    vector = embedder.embed([query])[0]
    return ChunkIndex(settings.lancedb_uri).search(
        vector,
        k,
        exclude_provenance=exclude_labels,
        allowed_grades=allowed,
        version=version,
        exclude_flags=exclude_flags,
    )
