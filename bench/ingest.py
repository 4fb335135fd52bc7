"""Ingestion benchmark: is the pipeline as fast as its embedding model allows?

Ingests a corpus of real documents (Debian's python3.11-doc HTML if installed, else the shipped
examples) into a temporary data dir with the real bundled model on the configured backend, then,
in the same process and run:
- encodes the very same chunk texts with that backend alone, and with torch (the reference);
- ingests the corpus again into a second data dir, now that the process is warm (parser worker,
  Great Expectations and the rest loaded): the difference is the first run's start-up;
- re-runs ingestion with nothing changed, then with 2% of the files edited.
Prints chunks/s of the pipeline and of each raw encode, the ratios (targets: pipeline >= 0.95 x raw
encode of the same backend), peak RSS, and the re-run times. Figures, not assertions: machines are
shared and noisy, so compare ratios measured in one run.

    python bench/ingest.py [--corpus DIR] [--limit N] [--backend openvino|onnx|torch]
"""

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from corpus_copy import PYTHON_DOCS, build_corpus  # noqa: E402

import pipelines  # noqa: E402,F401 - offline switches first
from pipelines.embedding.backends import embedder_from_settings  # noqa: E402
from pipelines.embedding.torch_backend import SentenceTransformerEmbedder  # noqa: E402
from pipelines.index.commit_protocol import writer_lock  # noqa: E402
from pipelines.index.table import ChunkIndex  # noqa: E402
from pipelines.run.embedding_prefetch import EmbeddingPrefetch  # noqa: E402
from pipelines.run.ingestion import commit_ingestion, new_run_id, prepare_ingestion, run_ingestion  # noqa: E402
from pipelines.run.spool import ChunkSpool, clear_staging, staging_dir  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402


def edit_two_percent(files: list[Path]) -> int:
    """Add a paragraph inside every 50th file's body: what a day of edits to a corpus looks like."""
    edited = files[::50]
    paragraph = "<p>Edited for the benchmark: a new paragraph about the change.</p>"
    for path in edited:
        text = path.read_text(encoding="utf-8", errors="replace")
        at = text.lower().rfind("</body>")
        text = text[:at] + paragraph + text[at:] if at >= 0 else text + "\n" + paragraph + "\n"
        path.write_text(text, encoding="utf-8")
    return len(edited)


def peak_rss_mb() -> tuple[float, float]:
    """(this process, the largest child): ru_maxrss is in KiB on Linux."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def encode_seconds(embed, texts: list[str]) -> float:  # noqa: ANN001 - any Embedder.embed
    ordered = sorted(texts, key=len, reverse=True)
    started = time.perf_counter()
    embed(ordered)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument(
        "--backend",
        choices=("openvino", "onnx", "torch"),
        default=None,
        help="default: corpusgov.yaml's default (openvino)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corpusgov-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        files = build_corpus(args.corpus, args.limit, corpus)
        config = root / "corpusgov.yaml"
        config.write_text(
            f"data_dir: {root / 'data'}\nsources:\n  - name: bench\n    path: {corpus}\n"
            f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
        )
        settings = load_settings(config)
        if args.backend:
            settings.embedding.backend = args.backend
        embedder = embedder_from_settings(settings, print)
        started = time.perf_counter()
        embedder.embed(["warm up the model"])  # a service has its model loaded; report load apart
        load_seconds = time.perf_counter() - started

        # What run_ingestion does, with the clock read between the stages: the embedding thread
        # works beside prepare, and commit embeds what is left and writes.
        started = time.perf_counter()
        with writer_lock(settings):
            run_id = new_run_id(datetime.now(UTC))
            prefetch = EmbeddingPrefetch(embedder, ChunkSpool(staging_dir(settings, run_id)))
            prepared = prepare_ingestion(settings, embedder.model_id, sink=prefetch, run_id=run_id)
            prepare_seconds = time.perf_counter() - started
            prefetch.finish()
            embed_wait_seconds = time.perf_counter() - started - prepare_seconds
            report = commit_ingestion(settings, prepared, embedder)
            clear_staging(settings, run_id)
        first_seconds = time.perf_counter() - started
        rss_own, rss_children = peak_rss_mb()

        # The same corpus again into a second data dir, in this now warm process: the parser
        # worker, Great Expectations and the assessment libraries are loaded, as in the second
        # run of a long-lived process. What the first figure has on top of it is start-up.
        warm_settings = load_settings(config)
        warm_settings.data_dir = root / "data-warm"
        if args.backend:
            warm_settings.embedding.backend = args.backend
        started = time.perf_counter()
        run_ingestion(warm_settings, embedder)
        warm_seconds = time.perf_counter() - started

        texts = ChunkIndex(settings.lancedb_uri).table().to_arrow().column("text").to_pylist()
        raw_seconds = encode_seconds(embedder.embed, texts)
        torch_seconds = encode_seconds(
            SentenceTransformerEmbedder(batch_size=settings.embedding.batch_size).embed, texts
        )

        started = time.perf_counter()
        noop = run_ingestion(settings, embedder)
        noop_seconds = time.perf_counter() - started
        edited = edit_two_percent(files)
        started = time.perf_counter()
        change = run_ingestion(settings, embedder)
        change_seconds = time.perf_counter() - started

    chunks = report.chunks_embedded
    pipeline_rate = chunks / first_seconds
    raw_rate, torch_rate = len(texts) / raw_seconds, len(texts) / torch_seconds
    print(f"corpus             {args.corpus} ({len(files)} files)")
    print(f"documents          {report.discovered} discovered, {report.state_counts}")
    print(f"model              {embedder.model_id}; load {load_seconds:.1f} s (not counted below)")
    print(
        f"first ingest       {first_seconds:.1f} s: {report.discovered / first_seconds:.1f} docs/s, "
        f"{pipeline_rate:.1f} chunks/s ({chunks} chunks): parse, assess and contract {prepare_seconds:.1f} s "
        f"with embedding beside them, then {embed_wait_seconds:.1f} s waiting for the embedder, "
        f"{first_seconds - prepare_seconds - embed_wait_seconds:.1f} s to commit"
    )
    print(
        f"raw encode         {raw_rate:.1f} chunks/s on {embedder.model_id.partition('+')[2] or 'torch'}, "
        f"{torch_rate:.1f} chunks/s on torch: {raw_rate / torch_rate:.2f}x torch"
    )
    print(
        f"ratio pipeline/raw {pipeline_rate / raw_rate:.2f} (target >= 0.95) in a fresh process; "
        f"{chunks / warm_seconds / raw_rate:.2f} in a warm one ({warm_seconds:.1f} s: "
        f"{first_seconds - warm_seconds:.1f} s of the first was start-up)"
    )
    print(
        f"peak RSS           {rss_own:.0f} MB this process, {rss_children:.0f} MB the largest extraction worker"
    )
    print(
        f"no-op re-run       {noop_seconds:.2f} s = {noop_seconds / first_seconds:.1%} of the first ingest; "
        f"changed: {noop.changed}"
    )
    print(
        f"2% edited re-run   {change_seconds:.2f} s for {edited} edited files, "
        f"{change.chunks_embedded} chunks embedded, {change.chunks_reused} reused"
    )


if __name__ == "__main__":
    main()
