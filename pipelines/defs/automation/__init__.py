"""The ingestion job and what starts it: sensors, a schedule, alerting; the nightly retention job."""
