"""One asset per source in corpusgov.yaml: its new, changed and removed documents, parsed, assessed
and checked against the source's contract; the contract check sits on the asset.

A source over its error budget blocks only its own changes: `chunk_index` holds them back and
commits the other sources'. So the check is not a Dagster-blocking check (that would stop
`chunk_index` for every source); it fails with severity ERROR and says the source is blocked.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from contracts import ContractError, DocumentContract, load_contract
from pipelines.contract.violations import standing_violations
from pipelines.defs.failures import one_line_failures
from pipelines.defs.reports import contract_check_result, source_metadata
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.errors import CorpusgovError
from pipelines.ledger import Ledger
from pipelines.run.embedding_prefetch import EmbeddingPrefetch
from pipelines.run.ingestion import prepare_shard
from pipelines.run.shards import merge_shards, plan_source
from pipelines.run.spool import ChunkSpool, staging_dir
from pipelines.run.staging import stage_part, stage_plan, stage_shard, staged_plan, staged_shard
from pipelines.settings import SourceConfig, load_settings

SOURCES_GROUP = "sources"
# Every asset that writes the ledger or the index is in this pool; dagster_home/dagster.yaml
# lets one run that holds any of them be in progress at a time, however the run was started.
WRITER_POOL = "corpusgov_writer"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def staging_key(context: dg.OpExecutionContext | dg.AssetExecutionContext) -> str:
    """The staging folder of a run's source steps: the first run's id, so a re-execution from
    failure finds the plan and the shards its parent run staged (Dagster re-runs only the
    failed steps and those after them)."""
    return context.run.root_run_id or context.run_id


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
    """The source's asset: a graph of three steps, so its work spreads over processes (or
    machines, with the Kubernetes executor) the way Dagster spreads any steps. `plan` walks the
    source and splits the files to assess into shards; one `shard` step per shard parses, assesses
    and embeds them (a mapped step: the shards run side by side); `merge` settles the source as a
    whole under its contract and stages it for `chunk_index`, the one step that writes."""
    key = source_asset_key(source.name)
    check = dg.AssetCheckSpec(
        contract_check_name(source.name),
        asset=key,
        description=f"Documents of `{source.name}` meet its contract, within its error "
        "budget. Over budget, the source's changes are held back and the other sources "
        "go on; within budget, the violating documents are quarantined.",
    )
    owners = [f"team:{_UNSAFE.sub('-', contract.team)}"] if contract and contract.team else []
    owners += [o for o in (contract.owners if contract else ()) if "@" in o]
    where = source.path or (contract.source_path if contract else None) or "its contract's server"
    plan, shard, merge = _source_ops(source.name, check)

    @dg.graph_asset(
        key=key,
        group_name=SOURCES_GROUP,
        kinds={"python", "duckdb"},
        owners=owners or None,
        code_version="3",
        description=(
            f"The documents of source `{source.name}` ({where}), governed by "
            f"{contract.name if contract else 'its contract'} (`{Path(source.contract).name}`). "
            "Each run picks up new, changed and removed files, parses them (within the contract's "
            "limits), grades their quality, labels their provenance, scans them for unsafe text and "
            "checks them against the contract; large changes are split into shards that run side by "
            "side (`shards:` in corpusgov.yaml). `chunk_index` commits the result."
        ),
        metadata={"contract": source.contract, "folder": str(where)},
        check_specs=[check],
    )
    def source_documents() -> dict[str, Any]:
        result, verdict = merge(plan().map(shard).collect())
        return {"result": result, check.get_python_identifier(): verdict}

    return source_documents


def _source_ops(source_name: str, check: dg.AssetCheckSpec) -> tuple[Any, Any, Any]:
    """The three ops of a source's graph; named after the source (op names are job-wide)."""
    prefix = _UNSAFE.sub("_", source_name)
    return (
        _plan_op(prefix, source_name),
        _shard_op(prefix, source_name),
        _merge_op(prefix, source_name, check),
    )


def source_of_step(step_key: str | None, source_names: list[str]) -> str | None:
    """The source whose graph a step belongs to (`docs.docs_shard[1]` -> `docs`), else None."""
    if not step_key:
        return None
    op = step_key.rsplit(".", 1)[-1].split("[", 1)[0]
    for name in source_names:
        prefix = _UNSAFE.sub("_", name)
        if op in (f"{prefix}_plan", f"{prefix}_shard", f"{prefix}_merge"):
            return name
    return None


def _plan_op(prefix: str, source_name: str) -> Any:
    @dg.op(name=f"{prefix}_plan", out=dg.DynamicOut(int), pool=WRITER_POOL)
    @one_line_failures
    def plan(
        context: dg.OpExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource
    ) -> Iterator[dg.DynamicOutput[int]]:
        """Walk the source: which files are unchanged, which to assess, in how many shards."""
        settings = corpusgov.settings()
        model_id = embedder.embedder(settings).model_id
        planned = plan_source(settings, source_name, model_id, staging_key(context))
        stage_plan(settings, staging_key(context), planned)
        context.log.info(
            f"{source_name}: {planned.discovered} files, {planned.unchanged} unchanged, "
            f"{len(planned.changed)} to assess in {planned.shards} shard(s)"
        )
        for number in range(planned.shards):
            yield dg.DynamicOutput(number, mapping_key=str(number))

    return plan


def _shard_op(prefix: str, source_name: str) -> Any:
    @dg.op(name=f"{prefix}_shard", pool=WRITER_POOL)
    @one_line_failures
    def shard(
        context: dg.OpExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource, number: int
    ) -> int:
        """Parse, assess, chunk and embed one shard's files into staging files of its own."""
        settings = corpusgov.settings()
        planned = staged_plan(settings, staging_key(context), source_name)
        if planned.skipped:
            return number

        def on_progress(stage: str, done: int, total: int) -> None:
            if done % 100 == 0:
                context.log.info(f"{stage}, shard {number}: {done} documents")

        # Embedding runs beside parsing and assessment; chunk_index only writes the vectors.
        spool = ChunkSpool(staging_dir(settings, staging_key(context)))
        with EmbeddingPrefetch(embedder.embedder(settings), spool) as prefetch:
            # A shard step is a process of its own (Dagster's multiprocess or k8s executor): the
            # parser worker's memory is freed after its last file, before the embedding's tail.
            part = prepare_shard(settings, planned, number, prefetch, on_progress, stop_parser=True)
            prefetch.finish()
        stage_shard(settings, staging_key(context), part)
        context.log.info(
            f"{source_name}, shard {number}: {len(part.outcomes)} documents assessed, "
            f"{prefetch.embedded} chunks embedded"
        )
        return number

    return shard


def _merge_op(prefix: str, source_name: str, check: dg.AssetCheckSpec) -> Any:
    @dg.op(
        name=f"{prefix}_merge",
        out={"result": dg.Out(dg.Nothing), check.get_python_identifier(): dg.Out(dg.Nothing)},
        pool=WRITER_POOL,
    )
    @one_line_failures
    def merge(
        context: dg.OpExecutionContext, corpusgov: CorpusgovResource, shards: list[int]
    ) -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
        """The source as a whole: its shards in discovery order, decided under its contract."""
        settings = corpusgov.settings()
        planned = staged_plan(settings, staging_key(context), source_name)
        parts = (
            []
            if planned.skipped
            else [staged_shard(settings, staging_key(context), source_name, n) for n in shards]
        )
        part = merge_shards(settings, planned, parts)
        stage_part(settings, staging_key(context), part)
        [verdict] = part.contract_checks
        yield dg.Output(None, "result", metadata={**source_metadata(part), "shards": planned.shards})
        # The check says where the source stands, not only what this run changed.
        standing = standing_violations(Ledger.of(settings), source_name, {o.doc_id for o in part.outcomes})
        yield contract_check_result(verdict, check.name, settings, standing)

    return merge


def _contract_or_none(source: SourceConfig) -> DocumentContract | None:
    try:
        return load_contract(Path(source.contract))
    except ContractError:
        return None  # the run reports it as the source's check error


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_source_asset(s, _contract_or_none(s)) for s in configured_sources()])
