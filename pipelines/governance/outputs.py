"""The self-output registry: what the RAG app generated, so its own answers are never indexed as
primary sources. Registering an output re-labels, on the next run, every indexed document that
reproduces it (verbatim or lightly edited)."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus_quality.registry import (
    OutputRegistryError,
    RegisteredOutput,
    SelfOutputRegistry,
    load_outputs_jsonl,
)
from pipelines.errors import CorpusgovError
from pipelines.index.commit_protocol import writer_lock
from pipelines.index.table import ChunkIndex, read_columns
from pipelines.ledger import Ledger
from pipelines.settings import Settings


@dataclass(frozen=True)
class Registration:
    registered: int
    already_registered: int
    documents_to_relabel: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "registered": self.registered,
            "already_registered": self.already_registered,
            "documents_to_relabel": list(self.documents_to_relabel),
        }


def register_outputs(settings: Settings, outputs: Sequence[RegisteredOutput]) -> Registration:
    """Add outputs to the registry (the Python API the RAG app calls)."""
    with writer_lock(settings, wait_seconds=60):
        ledger = Ledger.of(settings)
        existing = SelfOutputRegistry.from_rows(ledger.self_output_rows())
        fresh = [o for o in outputs if o.output_id not in existing]
        added = SelfOutputRegistry()
        added.add(fresh)
        relabel = sorted(
            doc_id
            for doc_id, text in indexed_texts(settings).items()
            if added.match(text, doc_id=doc_id) is not None
        )
        ledger.add_self_outputs(added.to_rows(), relabel)
    return Registration(len(fresh), len(outputs) - len(fresh), tuple(relabel))


def register_outputs_file(settings: Settings, path: Path) -> Registration:
    """`corpusgov outputs register FILE.jsonl`: one {"id", "text", "derived_from": [...]} per line."""
    if not path.is_file():
        raise CorpusgovError(f"No file at {path}. Give a JSONL file of the RAG app's outputs.")
    try:
        outputs = load_outputs_jsonl(path)
    except OutputRegistryError as err:
        # It names the file and the line: one line for the CLI, with what a line must hold.
        raise CorpusgovError(
            f"{err}. Each line must be a JSON object "
            '{"id": "...", "text": "...", "derived_from": ["<doc id>", ...]}: fix that line and retry.'
        ) from err
    return register_outputs(settings, outputs)


def indexed_texts(settings: Settings) -> dict[str, str]:
    """Each indexed document's text, rebuilt from its chunks in order."""
    table = ChunkIndex(settings.lancedb_uri).table()
    if table is None:
        return {}
    rows = read_columns(table, ["doc_id", "ordinal", "text"]).to_pylist()
    rows.sort(key=lambda r: (r["doc_id"], r["ordinal"]))
    texts: dict[str, list[str]] = {}
    for row in rows:
        texts.setdefault(row["doc_id"], []).append(row["text"])
    return {doc_id: "\n\n".join(parts) for doc_id, parts in texts.items()}
