"""The ingestion job: every source asset, the index, the eval assets; one writer at a time."""

import dagster as dg

INGESTION_JOB_NAME = "ingestion"
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
