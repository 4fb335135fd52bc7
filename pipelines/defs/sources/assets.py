"""One asset per source in corpusgov.yaml: its new, changed and removed documents, parsed, assessed
and checked against the source's contract; the contract check sits on the asset.

A source over its error budget blocks only its own changes: `chunk_index` holds them back and
commits the other sources'. So the check is not a Dagster-blocking check (that would stop
`chunk_index` for every source); it fails with severity ERROR and says the source is blocked.
"""

import re
from pathlib import Path

import dagster as dg

from contracts import ContractError, DocumentContract, load_contract
from pipelines.chunk_spool import ChunkSpool, staging_dir
from pipelines.defs.reports import contract_check_result, source_metadata
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.embedding_prefetch import EmbeddingPrefetch
from pipelines.errors import CorpusgovError
from pipelines.ingestion import prepare_source
from pipelines.settings import SourceConfig, load_settings
from pipelines.staging import stage_part

SOURCES_GROUP = "sources"
# Every asset that writes the ledger or the index is in this pool; dagster_home/dagster.yaml
# lets one run that holds any of them be in progress at a time, however the run was started.
WRITER_POOL = "corpusgov_writer"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def source_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey([SOURCES_GROUP, source])


def contract_check_name(source: str) -> str:
    return f"contract_{_UNSAFE.sub('_', source)}"


def configured_sources() -> list[SourceConfig]:
    """The sources when the code location loads; none if the config cannot be read (the sensor
    and the runs report the config error, the code location still loads)."""
    try:
        return list(load_settings().sources)
    except CorpusgovError:
        return []


def build_source_asset(source: SourceConfig, contract: DocumentContract | None) -> dg.AssetsDefinition:
    key = source_asset_key(source.name)
    check = contract_check_name(source.name)
    owners = [f"team:{_UNSAFE.sub('-', contract.team)}"] if contract and contract.team else []
    owners += [o for o in (contract.owners if contract else ()) if "@" in o]
    where = source.path or (contract.source_path if contract else None) or "its contract's server"

    @dg.asset(
        key=key,
        group_name=SOURCES_GROUP,
        kinds={"python", "duckdb"},
        owners=owners or None,
        pool=WRITER_POOL,
        code_version="2",
        description=(
            f"The documents of source `{source.name}` ({where}), governed by "
            f"{contract.name if contract else 'its contract'} (`{Path(source.contract).name}`). "
            "Each run picks up new, changed and removed files, parses them (within the contract's "
            "limits), grades their quality, labels their provenance, scans them for unsafe text and "
            "checks them against the contract. `chunk_index` commits the result."
        ),
        metadata={"contract": source.contract, "folder": str(where)},
        check_specs=[
            dg.AssetCheckSpec(
                check,
                asset=key,
                description=f"Documents of `{source.name}` meet its contract, within its error "
                "budget. Over budget, the source's changes are held back and the other sources "
                "go on; within budget, the violating documents are quarantined.",
            )
        ],
    )
    def source_documents(
        context: dg.AssetExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource
    ) -> dg.MaterializeResult:
        settings = corpusgov.settings()

        def on_progress(stage: str, done: int, total: int) -> None:
            if done % 100 == 0:
                context.log.info(f"{stage}: {done} documents")

        model = embedder.embedder(settings)
        # Embedding runs beside parsing and assessment; chunk_index only writes the vectors.
        spool = ChunkSpool(staging_dir(settings, context.run_id))
        with EmbeddingPrefetch(model, spool) as prefetch:
            part = prepare_source(
                settings, source.name, model.model_id, on_progress, context.run_id, prefetch
            )
            prefetch.finish()
        stage_part(settings, context.run_id, part)
        context.log.info(f"{source.name}: {prefetch.embedded} chunks embedded while preparing")
        [verdict] = part.contract_checks
        return dg.MaterializeResult(
            metadata=source_metadata(part),
            check_results=[contract_check_result(verdict, check, settings)],
        )

    return source_documents


def _contract_or_none(source: SourceConfig) -> DocumentContract | None:
    try:
        return load_contract(Path(source.contract))
    except ContractError:
        return None  # the run reports it as the source's check error


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_source_asset(s, _contract_or_none(s)) for s in configured_sources()])
