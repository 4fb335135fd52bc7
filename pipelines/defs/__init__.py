"""Dagster definitions, one folder per concept. Thin: every asset calls a plain function."""
