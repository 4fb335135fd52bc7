"""Ingestion benchmark: is the pipeline as fast as its embedding model allows?

Ingests a corpus of real documents (Debian's python3.11-doc HTML if installed, else the shipped
examples) into a temporary data dir with the real bundled model, then, in the same process:
- encodes the very same chunk texts with the raw model (the physical ceiling);
- re-runs ingestion with nothing changed (must touch nothing).
Prints docs/s, chunks/s, raw chunks/s, the ratio pipeline/raw (target >= 0.8) and the no-op
re-run as a fraction of the first ingest (target <= 5%). Figures, not assertions: machines are
shared and noisy, so compare ratios measured in one run.

    python bench/ingest.py [--corpus DIR] [--limit N]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pipelines  # noqa: E402,F401 - offline switches first
from pipelines.embedding import SentenceTransformerEmbedder  # noqa: E402
from pipelines.index import ChunkIndex  # noqa: E402
from pipelines.ingestion import run_ingestion  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
# Everything the assessment stage calls per document (quality, provenance, safety, registry,
# near-duplicates), wrapped to add up its time: the share of the first ingest it costs.
ASSESSMENT_FUNCTIONS = (
    "read_declared_metadata", "detect_language", "assess_quality", "label_provenance",
    "scan_safety", "score_ai_text", "read_c2pa", "redact_pii",
)


class AssessmentClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function):  # noqa: ANN001, ANN201 - bench-only instrumentation
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def install(self) -> None:
        import pipelines.processing as processing
        from corpus_quality.near_duplicates import NearDuplicateIndex
        from corpus_quality.registry import SelfOutputRegistry

        for name in ASSESSMENT_FUNCTIONS:
            setattr(processing, name, self.wrap(getattr(processing, name)))
        NearDuplicateIndex.query = self.wrap(NearDuplicateIndex.query)
        NearDuplicateIndex.add = self.wrap(NearDuplicateIndex.add)
        SelfOutputRegistry.match = self.wrap(SelfOutputRegistry.match)


def build_corpus(source: Path, limit: int | None, into: Path) -> int:
    """Copy the first `limit` documents (sorted by path) so a run of any size is repeatable."""
    files = sorted(
        p for p in source.rglob("*")
        if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(source).parts)
        and p.suffix.lower() in {".html", ".htm", ".md", ".txt", ".pdf", ".docx"}
    )
    if limit:
        files = files[:limit]
    for path in files:
        target = into / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
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
        embedder = SentenceTransformerEmbedder(batch_size=settings.embedding.batch_size)
        started = time.perf_counter()
        embedder.embed(["warm up the model"])  # a service has its model loaded; report load apart
        load_seconds = time.perf_counter() - started

        clock = AssessmentClock()
        clock.install()
        started = time.perf_counter()
        report = run_ingestion(settings, embedder)
        first_seconds = time.perf_counter() - started
        assessment_seconds = clock.seconds

        texts = ChunkIndex(settings.lancedb_uri).table().to_arrow().column("text").to_pylist()
        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True)
        raw_seconds = time.perf_counter() - started

        started = time.perf_counter()
        noop = run_ingestion(settings, embedder)
        noop_seconds = time.perf_counter() - started

    chunks = report.chunks_embedded
    pipeline_rate = chunks / first_seconds
    raw_rate = len(texts) / raw_seconds
    print(f"corpus            {args.corpus} ({files} files)")
    print(f"documents         {report.discovered} discovered, {report.state_counts}")
    print(f"model load        {load_seconds:.1f} s (not counted below)")
    print(f"first ingest      {first_seconds:.1f} s: {report.discovered / first_seconds:.1f} docs/s, "
          f"{pipeline_rate:.1f} chunks/s ({chunks} chunks)")
    print(f"raw encode        {raw_seconds:.1f} s: {raw_rate:.1f} chunks/s (same model, same chunks)")
    print(f"ratio pipeline/raw {pipeline_rate / raw_rate:.2f}   (target >= 0.8)")
    print(f"assessment        {assessment_seconds:.2f} s = {assessment_seconds / first_seconds:.1%} of the first "
          "ingest (quality, provenance, safety, registry, near-duplicates; target < 10%)")
    print(f"no-op re-run      {noop_seconds:.2f} s = {noop_seconds / first_seconds:.1%} of the first "
          f"ingest (target <= 5%); changed: {noop.changed}")


if __name__ == "__main__":
    main()
