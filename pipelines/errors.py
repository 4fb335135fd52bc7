"""Errors a user can act on. Each message says what happened, to what, and what to do."""


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """The first line of an error from a library (LanceDB and DuckDB append Rust backtraces)."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else (type(error).__name__ if isinstance(error, BaseException) else "")
    return text[:limit]


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


class StorageError(CorpusgovError):
    """The data dir cannot be written or read: a full disk, a file where a folder should be,
    missing permissions. Nothing half-written stays behind; the message says what to free or fix."""


class IndexDamagedError(IndexStateError):
    """The ledger or the LanceDB table is damaged in a way recovery cannot explain: files removed,
    a truncated ledger, a table without a ledger. `corpusgov doctor --repair` rebuilds."""


class IndexVersionUnavailableError(CorpusgovError):
    """An old index version whose data was cleaned up or replaced by a rebuild."""
