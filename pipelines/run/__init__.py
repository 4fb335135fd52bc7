"""One ingestion run: plan, shards, merge, the chunk spool and staging, the commit."""
