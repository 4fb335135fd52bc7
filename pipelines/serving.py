"""The RAG app's entry point: the index version tagged `serving`, never the table's head.

The head of the LanceDB table `chunks` may hold a candidate: a version committed but not published
(`serving.publish: gated` waits for `corpusgov index promote N`, and a version that failed the
publication gate stays a candidate). A RAG app that read the head would serve what governance has
not let through. So this module is the one documented way in: `open_table` hands back the table
checked out at `serving`, `search` is `corpusgov search` (served version, governance filters) as a
function. Both find corpusgov.yaml as the CLI does: the path given, else $CORPUSGOV_CONFIG, else
./corpusgov.yaml.

A checked-out table stays at the version it was opened at: a long-running app follows a new
publication by calling `open_table` again (or `table.checkout("serving")` once more).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.embedding.backends import embedder_from_settings
from pipelines.embedding.model import Embedder
from pipelines.errors import CorpusgovError, IndexDamagedError, first_line
from pipelines.governance.catalog import search_corpus
from pipelines.index.commit_protocol import SERVING_TAG
from pipelines.index.table import ChunkIndex, SearchHit, index_tag, manifest_versions
from pipelines.settings import Settings, load_settings
from pipelines.storage import bucket_faults

if TYPE_CHECKING:
    from lancedb.table import Table

__all__ = ["SERVING_TAG", "SearchHit", "open_table", "search"]


def _settings(config: str | Path | None) -> Settings:
    """The CLI's resolution (`--config`, else $CORPUSGOV_CONFIG, else ./corpusgov.yaml), so an app
    and the operator's commands read the same project."""
    return load_settings(None if config is None else Path(config))


def open_table(config: str | Path | None = None) -> "Table":
    """The `chunks` table checked out at `serving`: the published index version, read-only.

    Opened through the index's own connection (`ChunkIndex`: S3 storage options from the
    environment when `index_uri` is `s3://…`). Raises a one-line `CorpusgovError` when nothing is
    published yet, naming the command that publishes, rather than falling back to the head, and
    a `StorageError` saying what to fix when the bucket cannot be read.
    """
    settings = _settings(config)
    uri = settings.lancedb_uri
    # Looked at from file names first: connecting to a local folder that does not exist creates
    # it, and an app pointed at the wrong config should not leave folders behind.
    if manifest_versions(uri) is None:
        raise CorpusgovError(_nothing_published(None))
    table: Table | None = ChunkIndex(uri).table()
    if table is None:
        raise CorpusgovError(_nothing_published(None))
    with bucket_faults(uri):
        tags = table.tags.list()
    if SERVING_TAG not in tags:
        raise CorpusgovError(_nothing_published(_newest_candidate(tags)))
    try:
        with bucket_faults(uri):
            table.checkout(SERVING_TAG)
    except (OSError, RuntimeError, ValueError) as err:
        raise IndexDamagedError(
            f"The served index version cannot be read ({first_line(err)}). Run `corpusgov doctor` to "
            "see what is wrong."
        ) from err
    return table


def _newest_candidate(tags: Mapping[str, object]) -> int | None:
    """The newest committed index version, read from its `index-v<N>` tag (no ledger needed)."""
    prefix = index_tag(0).removesuffix("0")
    numbers = [
        int(name[len(prefix) :]) for name in tags if name.startswith(prefix) and name[len(prefix) :].isdigit()
    ]
    return max(numbers, default=None)


def _nothing_published(candidate: int | None) -> str:
    if candidate is None:
        return (
            "Nothing is published yet: run `corpusgov ingest` to build the index; its first version "
            "is published when it passes the publication gate (see `corpusgov status`)."
        )
    return (
        f"Nothing is published yet: index version {candidate} is a candidate. "
        f"`corpusgov index promote {candidate}` publishes it (see `corpusgov status`)."
    )


def search(
    query: str,
    k: int = 5,
    config: str | Path | None = None,
    *,
    exclude_labels: tuple[str, ...] = (),
    min_grade: str | None = None,
    exclude_flags: tuple[str, ...] = (),
    embedder: Embedder | None = None,
) -> list[SearchHit]:
    """The `k` chunks of the served index version nearest to `query`, governance filters applied:
    `corpusgov search` without its `--as-of`/`--candidate` (an app reads what is published).

    `exclude_labels` leaves out provenance labels (`ai_generated`, …), `min_grade` keeps documents
    graded this or better, `exclude_flags` leaves out safety flags (`safety.injection_like`, …).
    `embedder` is for a caller that holds one already (tests pass a fake); None builds the one
    corpusgov.yaml configures. That is cheap after the first call: the compiled model is shared
    by every embedder of the process.
    """
    settings = _settings(config)
    return search_corpus(
        settings,
        embedder if embedder is not None else embedder_from_settings(settings),
        query,
        k=k,
        exclude_labels=exclude_labels,
        min_grade=min_grade,
        exclude_flags=exclude_flags,
    )
