"""Errors a user can act on. Each message says what happened, to what, and what to do."""

import re


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


class WriterLockLostError(IngestionConflictError):
    """The shared ledger's writer lock went with its PostgreSQL connection (a restart, an idle
    connection killed, `pg_terminate_backend`) while this writer was at work: it stops before
    changing a store, since another machine may now hold the lock."""


class CommittedRunError(CorpusgovError):
    """A failure after the run's ledger commit: the run IS committed as an index version, and
    what failed (the tag, the eval sets, the publication) finishes at the next run."""

    def __init__(self, index_version: int | None, what: str, cause: BaseException) -> None:
        self.index_version = index_version
        committed = (
            f"The run is committed as index version {index_version}"
            if index_version is not None
            else "The run is committed (the index did not change)"
        )
        super().__init__(
            f"{committed}, but {what} failed: {after_commit(cause)} The next `corpusgov ingest` "
            "(or `corpusgov doctor --repair`) finishes it; nothing needs undoing."
        )


def after_commit(cause: BaseException | str) -> str:
    """An error's message as said after a commit: without the claim, true before the commit,
    that nothing was committed."""
    text = first_line(cause, limit=1000)
    text = _NOTHING_COMMITTED.sub(lambda m: "." if m.group(0).endswith(".") else "", text)
    text = text.strip().rstrip(";:,")
    return text if text.endswith((".", "!", "?")) else text + "."


_NOTHING_COMMITTED = re.compile(r"[;:,]?\s*(and )?nothing of this run was committed[.,;]?", re.IGNORECASE)


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
