"""The eval assets: every index change re-versions the eval sets, then re-scores them."""

from typing import Any

import dagster as dg

from pipelines.defs.failures import one_line_failures
from pipelines.defs.index.assets import CHUNK_INDEX, WRITER_WAIT_SECONDS
from pipelines.defs.markdown import markdown_table
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.defs.sources.assets import WRITER_POOL
from pipelines.evaluation import (
    DEV,
    StoredResult,
    StoredVersion,
    amplification,
    eval_results,
    latest_eval_version,
)
from pipelines.governance.ingest import bind_eval_sets, score_eval_sets
from pipelines.ledger import Ledger

EVAL_SET_VERSIONS = dg.AssetKey(["eval_set_versions"])
EVAL_BASELINES = dg.AssetKey(["eval_baselines"])
# A changelog table names this many dev items per status; the holdout is counted, never named.
ITEMS_SHOWN = 10


def changelog_table(version: StoredVersion) -> str:
    """What the re-version did to each item, as a person reads it in the UI."""
    dev = version.routine_changelog()
    held = version.holdout_counts()
    rows = []
    for status in sorted(set(dev) | set(held)):
        ids = dev.get(status, [])
        shown = ", ".join(f"`{i}`" for i in ids[:ITEMS_SHOWN]) + (
            f" … +{len(ids) - ITEMS_SHOWN}" if len(ids) > ITEMS_SHOWN else ""
        )
        rows.append([status, len(ids), held.get(status, 0), shown])
    return markdown_table(["status", "dev items", "holdout items", "dev item ids"], rows)


def generation_metadata(name: str, result: StoredResult) -> dict[str, Any]:
    """Generation metrics as the UI shows them: numbers it can plot, and the judge's bill."""
    generation = result.generation
    if not generation.judge and not generation.measured:
        # No judge configured: nothing about one to show (no flat zero plots, no empty name).
        return {f"{name}_generation": dg.MetadataValue.text("not measured: no `evals.judge` configured")}
    metadata: dict[str, Any] = {
        f"{name}_generation": dg.MetadataValue.text(
            "measured" if generation.measured else f"not measured: {generation.reason}"
        )
    }
    for metric, value in generation.means.items():
        metadata[f"{name}_{metric}"] = dg.MetadataValue.float(round(value, 4))
    calls = generation.calls
    # Results from before generation metrics counted no calls: no bill to show.
    if calls:
        metadata[f"{name}_judge_calls_made"] = dg.MetadataValue.int(calls.get("made", 0))
        metadata[f"{name}_judge_calls_cached"] = dg.MetadataValue.int(calls.get("cached", 0))
        # Items that cost a call: after a small change, only the ones it touched.
        metadata[f"{name}_judge_items_asked"] = dg.MetadataValue.int(calls.get("items_asked", 0))
        metadata[f"{name}_judge_failures"] = dg.MetadataValue.int(len(generation.failures))
        rows = [
            [metric, f"{value:.3f}", generation.measured_items.get(metric, 0)]
            for metric, value in generation.means.items()
        ] + [[metric, "skipped", why] for metric, why in generation.skipped.items()]
        metadata[f"{name}_generation_table"] = dg.MetadataValue.md(
            f"Judge `{generation.judge}`\n\n" + markdown_table(["metric", "mean", "items / why"], rows)
        )
    return metadata


@dg.asset(
    key=EVAL_SET_VERSIONS,
    deps=[CHUNK_INDEX],
    group_name="evals",
    kinds={"python", "duckdb"},
    owners=["team:data-platform"],
    pool=WRITER_POOL,
    code_version="1",
)
@one_line_failures
def eval_set_versions(corpusgov: CorpusgovResource) -> dg.MaterializeResult[None]:
    """Each eval set bound to the current index version. After every index change each item is
    re-resolved against the new index: unchanged, remapped (its passage is in other chunks now),
    stale (its gold document changed and the passage is gone), orphaned (the gold document left),
    contested (a near-duplicate of the passage entered). The version is immutable and records that
    changelog; the holdout is counted, never named. A benchmark number is never silently measured
    on an index it was not bound to.
    """
    settings = corpusgov.settings()
    versions = bind_eval_sets(settings, wait_seconds=WRITER_WAIT_SECONDS)
    ledger = Ledger.of(settings)
    metadata: dict[str, Any] = {"re_versioned": len(versions)}
    for config in settings.evals.sets:
        latest = latest_eval_version(ledger, config.name)
        if latest is None:
            continue
        metadata[f"{config.name}_version"] = dg.MetadataValue.int(latest.number)
        metadata[f"{config.name}_index_version"] = dg.MetadataValue.int(latest.index_version)
        metadata[f"{config.name}_active_items"] = dg.MetadataValue.int(latest.active_items)
        metadata[f"{config.name}_changed_share"] = dg.MetadataValue.float(round(latest.changed_share, 4))
        metadata[f"{config.name}_changelog"] = dg.MetadataValue.md(changelog_table(latest))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=EVAL_BASELINES,
    deps=[EVAL_SET_VERSIONS],
    group_name="evals",
    kinds={"python", "duckdb"},
    owners=["team:data-platform"],
    pool=WRITER_POOL,
    code_version="3",
)
@one_line_failures
def eval_baselines(
    context: dg.AssetExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource
) -> dg.MaterializeResult[None]:
    """Retrieval metrics (hit@k, recall@k, MRR, nDCG@k, ragas' ID-based and non-LLM context
    precision/recall) of each eval set's latest version, keyed by (eval set version, index version,
    config hash, judge, answers) and kept forever; superseded baselines are marked. With
    `evals.judge` configured, ragas' generation metrics too (faithfulness, answer relevancy, LLM
    context precision and recall) with the judge's calls made, cached and failed; without it they
    are "not measured". Also the amplification of AI-generated chunks in the top-k.
    """
    settings = corpusgov.settings()
    reversions = score_eval_sets(settings, embedder.embedder(settings), wait_seconds=WRITER_WAIT_SECONDS)
    ledger = Ledger.of(settings)
    metadata: dict[str, Any] = {"re_versioned": len(reversions)}
    scored = {r.version.eval_set for r in reversions if r.result is not None}
    for config in settings.evals.sets:
        results = eval_results(ledger, config.name, DEV)
        if not results:
            continue
        latest = results[0]
        names = [n for n in latest.metrics if "@" in n]
        header = (
            "| index | set version | "
            + " | ".join(names)
            + " | baseline |\n|---|---|"
            + "---|" * (len(names) + 1)
        )
        lines = [
            f"| v{r.index_version} | v{r.eval_set_version} | "
            + " | ".join(f"{r.metrics.get(n, 0.0):.3f}" for n in names)
            + f" | {'superseded' if r.superseded_reason else 'live'} |"
            for r in results
        ]
        metadata[f"{config.name}_by_index_version"] = dg.MetadataValue.md("\n".join([header, *lines]))
        if config.name not in scored:
            # Nothing scored this time (a run that changed nothing): no plot point, so each plot
            # has one point per index version, not a repeat per run.
            metadata[f"{config.name}_index_version"] = dg.MetadataValue.int(latest.index_version)
            continue
        # Numeric entries: the UI plots them across materializations (one point per index version).
        for name in names:
            metadata[f"{config.name}_{name.replace('@', '_at_')}"] = dg.MetadataValue.float(
                latest.metrics[name]
            )
        metadata[f"{config.name}_index_version"] = dg.MetadataValue.int(latest.index_version)
        metadata.update(generation_metadata(config.name, latest))
        amp = amplification(settings, latest)
        metadata[f"{config.name}_ai_share_in_top_k"] = dg.MetadataValue.float(round(amp.retrieved_share, 4))
        metadata[f"{config.name}_ai_share_in_corpus"] = dg.MetadataValue.float(round(amp.corpus_share, 4))
        if amp.ratio is not None:
            # Above 1: the retriever surfaces AI-generated chunks more than their share of the corpus.
            metadata[f"{config.name}_ai_amplification"] = dg.MetadataValue.float(round(amp.ratio, 3))
    for r in reversions:
        if r.result is not None and not r.result.generation.measured and settings.evals.judge:
            context.log.warning(
                f"{r.version.eval_set}: generation not measured: {r.result.generation.reason}. "
                "Once that is fixed, `corpusgov evals rebaseline` judges this index version."
            )
        if r.event:
            context.log.warning(r.event)
            metadata[f"{r.version.eval_set}_event"] = r.event
    return dg.MaterializeResult(metadata=metadata)
