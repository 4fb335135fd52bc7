"""The contract stage of a run: which documents break their source's contract, and the report a person reads."""
