"""Reconciliation: the ledger's chunk ids and the LanceDB table's chunk ids must be the same set."""

from dataclasses import dataclass

from pipelines.index.table import ChunkIndex
from pipelines.ledger import Ledger
from pipelines.settings import Settings


@dataclass(frozen=True)
class Reconciliation:
    ledger_chunks: int
    index_chunks: int
    only_in_ledger: int
    only_in_index: int
    sample: tuple[str, ...]

    @property
    def consistent(self) -> bool:
        return self.only_in_ledger == 0 and self.only_in_index == 0


def reconcile(settings: Settings) -> Reconciliation:
    ledger_ids = Ledger.of(settings).chunk_ids()
    index_ids = ChunkIndex(settings.lancedb_uri).chunk_ids()
    only_ledger = ledger_ids - index_ids
    only_index = index_ids - ledger_ids
    return Reconciliation(
        ledger_chunks=len(ledger_ids),
        index_chunks=len(index_ids),
        only_in_ledger=len(only_ledger),
        only_in_index=len(only_index),
        sample=tuple(sorted(only_ledger | only_index)[:5]),
    )
