"""The eval asset: every index change re-versions the eval sets and re-baselines them."""

from typing import Any

import dagster as dg

from pipelines.commit_protocol import writer_lock
from pipelines.defs.index.assets import CHUNK_INDEX
from pipelines.defs.resources import CorpusgovResource, EmbedderResource
from pipelines.defs.sources.assets import WRITER_POOL
from pipelines.evaluation import DEV, StoredVersion, amplification, eval_results, reversion_eval_sets
from pipelines.ledger import Ledger
from pipelines.markdown import markdown_table

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
        shown = ", ".join(f"`{i}`" for i in ids[:ITEMS_SHOWN]) + (f" … +{len(ids) - ITEMS_SHOWN}" if len(ids) > ITEMS_SHOWN else "")
        rows.append([status, len(ids), held.get(status, 0), shown])
    return markdown_table(["status", "dev items", "holdout items", "dev item ids"], rows)


@dg.asset(
    key=EVAL_BASELINES,
    deps=[CHUNK_INDEX],
    group_name="evals",
    kinds={"python", "duckdb"},
    owners=["team:data"],
    automation_condition=dg.AutomationCondition.eager(),
    pool=WRITER_POOL,
    code_version="1",
)
def eval_baselines(
    context: dg.AssetExecutionContext, corpusgov: CorpusgovResource, embedder: EmbedderResource
) -> dg.MaterializeResult:
    """Eval sets bound to the current index version. After every index change each item is
    re-resolved (unchanged, remapped, stale, orphaned, contested), the version records that
    changelog, and retrieval metrics are re-measured and keyed by (eval set version, index version,
    config hash). Superseded baselines are marked; the holdout split is never shown here.
    """
    settings = corpusgov.settings()
    with writer_lock(settings, wait_seconds=300):
        reversions = reversion_eval_sets(settings, embedder.embedder(settings))
    ledger = Ledger(settings.ledger_path)
    metadata: dict[str, Any] = {"re_versioned": len(reversions)}
    for config in settings.evals.sets:
        results = eval_results(ledger, config.name, DEV)
        if not results:
            continue
        latest = results[0]
        names = [n for n in latest.metrics if "@" in n]
        header = "| index | set version | " + " | ".join(names) + " | baseline |\n|---|---|" + "---|" * (len(names) + 1)
        lines = [
            f"| v{r.index_version} | v{r.eval_set_version} | "
            + " | ".join(f"{r.metrics.get(n, 0.0):.3f}" for n in names)
            + f" | {'superseded' if r.superseded_reason else 'live'} |"
            for r in results
        ]
        metadata[f"{config.name}_by_index_version"] = dg.MetadataValue.md("\n".join([header, *lines]))
        # Numeric entries: the UI plots them across materializations (one point per index version).
        for name in names:
            metadata[f"{config.name}_{name.replace('@', '_at_')}"] = dg.MetadataValue.float(latest.metrics[name])
        metadata[f"{config.name}_index_version"] = dg.MetadataValue.int(latest.index_version)
        amp = amplification(settings, latest)
        metadata[f"{config.name}_ai_share_in_top_k"] = dg.MetadataValue.float(round(amp.retrieved_share, 4))
        metadata[f"{config.name}_ai_share_in_corpus"] = dg.MetadataValue.float(round(amp.corpus_share, 4))
        if amp.ratio is not None:
            # Above 1: the retriever surfaces AI-generated chunks more than their share of the corpus.
            metadata[f"{config.name}_ai_amplification"] = dg.MetadataValue.float(round(amp.ratio, 3))
    for r in reversions:
        metadata[f"{r.version.eval_set}_changelog"] = dg.MetadataValue.md(changelog_table(r.version))
        if r.event:
            context.log.warning(r.event)
            metadata[f"{r.version.eval_set}_event"] = r.event
    return dg.MaterializeResult(metadata=metadata)
