"""One asset per configured source, with its contract check."""
