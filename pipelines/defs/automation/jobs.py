"""The ingestion job: every source asset, the index, the eval assets; one writer at a time. And
the decisions a person makes from the UI: `promote_index_version` publishes a candidate,
`rollback_index_version` serves an earlier version's content again, `erase_document` takes one
document out of the index, its history and the ledger for good. Each publication shows on
`chunk_index` through `publication_sensor`, whichever path made it."""

import dagster as dg
from pydantic import Field

from pipelines.defs.failures import one_line_failures
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.defs.sources.assets import WRITER_POOL
from pipelines.governance.erasure import erase
from pipelines.governance.ingest import roll_back
from pipelines.governance.publication import promote

INGESTION_JOB_NAME = "ingestion"
PROMOTE_JOB_NAME = "promote_index_version"
ROLLBACK_JOB_NAME = "rollback_index_version"
ERASE_JOB_NAME = "erase_document"
# A person's decision: a mistaken version number fails the run with its reason, it is not a
# failed pipeline (run_failure_alert_sensor leaves these out).
DECISION_JOBS = (PROMOTE_JOB_NAME, ROLLBACK_JOB_NAME, ERASE_JOB_NAME)
# The run queue starts one run with this tag at a time (dagster_home/dagster.yaml); runs started
# from the UI's Materialize button carry no job tag, and the writer pool covers them.
WRITER_TAGS = {"corpusgov/writer": "ingestion"}

ingestion_job = dg.define_asset_job(
    name=INGESTION_JOB_NAME,
    selection=dg.AssetSelection.groups("sources", "index", "evals"),
    tags=WRITER_TAGS,
    description="Discover, contract-check and assess each source; embed and commit one index "
    "version (a source over its error budget is held back, the others go on); then re-version "
    "and re-baseline the eval sets.",
)


class IndexVersionConfig(dg.Config):
    """The run config of `promote_index_version` and `rollback_index_version`: `index_version: 4`."""

    index_version: int = Field(
        description="The index version to publish (promote) or whose content to serve again (rollback)."
    )


@dg.op(name="promote", pool=WRITER_POOL)
@one_line_failures
def promote_op(
    context: dg.OpExecutionContext, config: IndexVersionConfig, corpusgov: CorpusgovResource
) -> None:
    """`corpusgov index promote N`: the gate's verdict is recorded beside the publication; a failed
    gate does not stop a person's promote. An unknown, older or already served version fails the
    run with the one-line reason."""
    outcome = promote(corpusgov.settings(), config.index_version)
    verdict = outcome.verdict
    held_back = verdict.failures() if verdict is not None and not verdict.passed else []
    context.log.info(
        f"Index version {config.index_version} is published: RAG apps reading `serving` read it now."
    )
    if held_back:
        context.log.warning("The publication gate had held it back: " + "; ".join(held_back))


@dg.op(name="rollback", pool=WRITER_POOL)
@one_line_failures
def rollback_op(
    context: dg.OpExecutionContext,
    config: IndexVersionConfig,
    corpusgov: CorpusgovResource,
    embedder: EmbedderResource,
) -> None:
    """`corpusgov index rollback N`: a new index version with N's content, published at once, for
    the documents still at their source and admitted by their current contract (the others are
    listed); the eval sets follow it. An unknown or current version fails the run with the reason."""
    settings = corpusgov.settings()
    outcome = roll_back(settings, embedder.embedder(settings), config.index_version)
    rollback = outcome.rollback
    version = rollback.version
    context.log.info(
        f"Index version {version.index_version} now serves what version {config.index_version} held."
    )
    for held in rollback.held_out:
        context.log.warning(f"Not re-admitted: {held.doc_id}: {held.reason}")
    for reversion in outcome.reversions:
        context.log.info(reversion.line())


def _decision_job(name: str, op: dg.OpDefinition, description: str) -> dg.JobDefinition:
    """A job of one op whose run config is just `index_version: N`."""

    @dg.config_mapping
    def index_version_only(config: IndexVersionConfig) -> dg.RunConfig:
        return dg.RunConfig(ops={op.name: config})

    @dg.job(name=name, config=index_version_only, tags=WRITER_TAGS, description=description)
    def decision() -> None:
        op()

    return decision


promote_index_version = _decision_job(
    PROMOTE_JOB_NAME,
    promote_op,
    "Publish candidate index version N (run config `index_version: N`): RAG apps reading "
    "`serving` read it from then on; the publication gate's verdict is recorded beside it, and a "
    "version it held back is published anyway. What `corpusgov index promote N` does.",
)
rollback_index_version = _decision_job(
    ROLLBACK_JOB_NAME,
    rollback_op,
    "Serve the content of earlier index version N again (run config `index_version: N`), as a new "
    "published version: documents deleted at their source or refused by their current contract "
    "since stay out, and the eval sets follow it. What `corpusgov index rollback N` does.",
)


class EraseConfig(dg.Config):
    """The run config of `erase_document`: `document: hr/case-114.md`, `reason: GDPR request 114`."""

    document: str = Field(description="The document: its id (source/path) or its path in its source.")
    reason: str = Field(description="Why, for the audit row (a request number, a ticket).")


@dg.op(name="erase", pool=WRITER_POOL)
@one_line_failures
def erase_op(
    context: dg.OpExecutionContext,
    config: EraseConfig,
    corpusgov: CorpusgovResource,
    embedder: EmbedderResource,
) -> None:
    """`corpusgov erase DOC --reason TEXT`: out of the served index and every retained version
    (their data files deleted), the ledger (text fields hashed) and the data dir; the bytes are
    refused by every later run. The certificate goes to the run's log, and is stored in the
    ledger (`corpusgov erase --list`). Run it again to finish an erasure that was interrupted."""
    settings = corpusgov.settings()
    outcome = erase(settings, embedder.embedder(settings), config.document, config.reason)
    certificate = outcome.erasure.certificate
    index = certificate.get("index", {})
    # The log names the document by its pseudonym only: Dagster's event log outlives the erasure.
    context.log.info(
        f"Erased {certificate['document']} (erasure {certificate['erasure_id']}): "
        f"{len(index.get('versions_rewritten', {}))} index versions rewritten, "
        f"{len(index.get('files_deleted', []))} data files deleted"
        + (", already done before" if outcome.erasure.already_done else "")
        + "."
    )
    for note in certificate.get("not_reached", []):
        context.log.warning(f"Not reached: {note}")
    for reversion in outcome.reversions:
        context.log.info(reversion.line())


@dg.job(name=ERASE_JOB_NAME, tags=WRITER_TAGS)
def erase_document() -> None:
    """Erase one document for good (run config `ops: {erase: {config: {document: ..., reason:
    ...}}}`): what `corpusgov erase DOC --reason TEXT` does. The run's config names the document:
    delete this run afterwards (Runs, Delete) if its name is itself personal data."""
    erase_op()
