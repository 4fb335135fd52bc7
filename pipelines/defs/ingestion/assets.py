"""Ingestion assets: discover, parse, assess and contract-check what changed in the sources."""

from collections import Counter

import dagster as dg

from pipelines.defs.resources import CorpusgovResource
from pipelines.commit_protocol import writer_lock
from pipelines.ingestion import PreparedIngestion, prepare_ingestion
from pipelines.markdown import reasons_table

CORPUS_DOCUMENTS = dg.AssetKey(["corpus_documents"])


@dg.asset(
    key=CORPUS_DOCUMENTS,
    group_name="ingestion",
    kinds={"python", "duckdb"},
    owners=["team:data"],
    code_version="1",
)
def corpus_documents(context: dg.AssetExecutionContext, corpusgov: CorpusgovResource) -> dg.Output[PreparedIngestion]:
    """New, changed and removed documents of every source since the last run, each parsed, assessed
    (quality grade, provenance label, safety flags) and checked against its source's data contract.

    Unchanged files (same bytes, same config) are skipped. The blocking contract checks on this
    asset decide whether the index may be updated.
    """
    settings = corpusgov.settings()
    embedder = corpusgov.embedder()

    def on_progress(stage: str, done: int, total: int) -> None:
        if done % 100 == 0:
            context.log.info(f"{stage}: {done} documents")

    with writer_lock(settings):
        prepared = prepare_ingestion(settings, embedder.model_id, on_progress=on_progress)
    states = Counter(o.state.value for o in prepared.outcomes)
    reasons = Counter(r for o in prepared.outcomes for r in o.reasons)
    return dg.Output(
        prepared,
        metadata={
            "discovered": dg.MetadataValue.int(prepared.discovered),
            "unchanged": dg.MetadataValue.int(prepared.unchanged),
            "changed": dg.MetadataValue.int(len(prepared.outcomes)),
            **{f"to_{state}": dg.MetadataValue.int(n) for state, n in sorted(states.items())},
            "reasons": dg.MetadataValue.md(reasons_table(reasons)),
            "source_errors": dg.MetadataValue.md(
                "\n".join(f"- **{c.source}**: {c.error}" for c in prepared.contract_checks if c.error)
                or "none"
            ),
        },
    )
