import dagster as dg

from pipelines.defs.evals.assets import eval_baselines
from pipelines.defs.index.assets import chunk_index
from pipelines.defs.ingestion.assets import corpus_documents
from pipelines.defs.ingestion.checks import build_contract_check
from pipelines.defs.ingestion.sensors import (
    INGESTION_JOB_NAME,
    WRITER_TAGS,
    build_nightly_schedule,
    build_source_folder_sensor,
)
from pipelines.defs.resources import CorpusgovResource, configured_source_names

ingestion_job = dg.define_asset_job(
    name=INGESTION_JOB_NAME,
    selection=dg.AssetSelection.assets(corpus_documents, chunk_index, eval_baselines),
    tags=WRITER_TAGS,
    description="Discover, contract-check, assess, embed and commit one index version; then "
    "re-version and re-baseline the eval sets.",
)

defs = dg.Definitions(
    assets=[corpus_documents],
    asset_checks=[build_contract_check(name) for name in configured_source_names()],
    jobs=[ingestion_job],
    sensors=[build_source_folder_sensor(ingestion_job)],
    schedules=[build_nightly_schedule(ingestion_job)],
    resources={"corpusgov": CorpusgovResource()},
)
