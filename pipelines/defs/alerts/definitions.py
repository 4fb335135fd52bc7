import dagster as dg

from pipelines.defs.alerts.sensors import contract_alert_sensor

# The `corpusgov` resource is bound once, in the ingestion definitions.
defs = dg.Definitions(sensors=[contract_alert_sensor])
