"""Errors a user can act on. Each message says what happened, to what, and what to do."""


class CorpusgovError(Exception):
    """Base of every error corpusgov reports to a user as one line."""


class ConfigError(CorpusgovError):
    """corpusgov.yaml is missing or wrong."""


class UnknownSourceError(CorpusgovError):
    """A source name that the config does not define."""


class IngestionConflictError(CorpusgovError):
    """Another ingestion holds the writer lock, or the ledger moved since a run was prepared."""


class IndexStateError(CorpusgovError):
    """The LanceDB index and the ledger disagree, or the index cannot be read."""


class LedgerBusyError(CorpusgovError):
    """The DuckDB ledger stayed locked by another process for too long."""


class ContractBudgetExceededError(CorpusgovError):
    """A source broke its contract more often than its error budget allows: the run is blocked."""
