"""Eval re-versioning benchmark: does keeping the benchmark honest cost little after a small change?

In one run, with the real bundled model, on a corpus of real documents (Debian's python3.11-doc
HTML if installed, else the shipped examples):
1. ingest the corpus; build an eval set of N items whose gold passages are sentences of indexed
   chunks (questions are the passages' leading words, so retrieval has something to find);
2. time a FULL eval: the first eval set version (resolve every item) and its baseline (embed every
   question, retrieve every item);
3. change 1% of the documents (a paragraph appended), ingest, and time the re-version and
   re-baseline that follow.
Prints both times and their ratio (target <= 10%), and how many items were re-scored vs reused.

    python bench/evals_reversion.py [--corpus DIR] [--limit N] [--items N]
"""

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ingest import PYTHON_DOCS, build_corpus  # noqa: E402

import pipelines  # noqa: E402,F401 - offline switches first
from pipelines.embedding.torch_backend import SentenceTransformerEmbedder  # noqa: E402
from pipelines.evaluation import reversion_eval_sets  # noqa: E402
from pipelines.index.table import ChunkIndex  # noqa: E402
from pipelines.run.ingestion import run_ingestion  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402

SENTENCE = re.compile(r"[A-Z][^.!?\n]{60,220}[.!?]")


def synthetic_eval_set(settings, count: int, path: Path) -> int:
    """One item per sampled chunk: a sentence of it is the gold passage."""
    rows = ChunkIndex(settings.lancedb_uri).table().to_arrow().select(["doc_id", "text"]).to_pylist()
    rows.sort(key=lambda r: r["doc_id"])
    step = max(1, len(rows) // (count * 2))
    items = []
    for row in rows[::step]:
        match = SENTENCE.search(row["text"])
        if not match:
            continue
        passage = " ".join(match.group(0).split())
        words = passage.split()
        items.append(
            {
                "id": f"q{len(items):04d}",
                "question": "What does the documentation say: " + " ".join(words[:10]) + "?",
                "reference_answer": passage,
                "gold": [{"doc_id": row["doc_id"], "passage": passage}],
                "split": "dev" if len(items) % 5 else "holdout",
            }
        )
        if len(items) == count:
            break
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return len(items)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--items", type=int, default=200, help="eval items to synthesise")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corpusgov-bench-evals-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        files = build_corpus(args.corpus, args.limit, corpus)
        eval_path = root / "bench.jsonl"
        config = root / "corpusgov.yaml"
        config.write_text(
            f"data_dir: {root / 'data'}\nsources:\n  - name: bench\n    path: {corpus}\n"
            f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
            f"evals:\n  sets:\n    - name: bench\n      path: {eval_path}\n  k: 5\n"
        )
        settings = load_settings(config)
        embedder = SentenceTransformerEmbedder(batch_size=settings.embedding.batch_size)
        embedder.embed(["warm up"])
        run_ingestion(settings, embedder)
        items = synthetic_eval_set(settings, args.items, eval_path)

        started = time.perf_counter()
        full = reversion_eval_sets(settings, embedder)[0]
        full_seconds = time.perf_counter() - started

        documents = sorted(p for p in corpus.rglob("*") if p.is_file())
        changed = documents[:: max(1, len(documents) // max(1, len(documents) // 100))][
            : max(1, len(documents) // 100)
        ]
        for path in changed:
            if path.suffix.lower() in (".html", ".htm"):
                path.write_text(
                    path.read_text(errors="replace").replace(
                        "</body>",
                        "<p>Release note: this page was reviewed for the 2026 documentation refresh.</p></body>",
                        1,
                    )
                )
            else:
                path.write_text(
                    path.read_text(errors="replace") + "\n\nReviewed for the 2026 documentation refresh.\n"
                )
        started = time.perf_counter()
        report = run_ingestion(settings, embedder)
        ingest_seconds = time.perf_counter() - started

        started = time.perf_counter()
        incremental = reversion_eval_sets(settings, embedder)[0]
        incremental_seconds = time.perf_counter() - started

    print(
        f"corpus              {args.corpus} ({files} files), eval set {items} items "
        f"({full.version.active_items} active)"
    )
    print(f"full eval           {full_seconds:.2f} s (resolve all, embed questions, retrieve all)")
    print(
        f"1% change           {len(changed)} documents changed; ingest {ingest_seconds:.1f} s, "
        f"index v{report.index_version.index_version if report.index_version else '-'}"
    )
    print(
        f"re-version+baseline {incremental_seconds:.2f} s: {incremental.rescored_items} items re-scored, "
        f"{incremental.reused_items} reused; changelog "
        + ", ".join(f"{s}={len(i)}" for s, i in incremental.version.changelog.items() if i)
    )
    print(f"ratio               {incremental_seconds / full_seconds:.1%} of a full eval (target <= 10%)")


if __name__ == "__main__":
    main()
