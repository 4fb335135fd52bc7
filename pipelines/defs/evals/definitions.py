import dagster as dg

from pipelines.defs.evals.assets import eval_baselines

defs = dg.Definitions(assets=[eval_baselines])
