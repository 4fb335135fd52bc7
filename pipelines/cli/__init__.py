"""The `corpusgov` command line: a thin layer over the same functions the Dagster assets call."""
