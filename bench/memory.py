"""Memory benchmark: does a first ingest's peak RSS stay flat as the corpus grows?

For each size N, a fresh process writes N synthetic documents (bench/scale.py's generator), then
runs a whole first ingest (prepare, embed, commit) and prints its peak RSS (the extraction worker
is held to the contract's maxParseMemoryBytes on its own). The embedder is a small deterministic hash embedder, not the model: the model's
few hundred MB are the same at every N and would hide what grows with it. Prints the ratio of the
largest N to the smallest (target <= 1.3). Figures, not assertions.

    python bench/memory.py [--sizes 2000,20000]
"""

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


class HashEmbedder:
    """384 dimensions from word hashes: deterministic, instant, no model in memory."""

    model_id = "hash-embedder@bench"
    dimensions = 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % 384] += 1
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
        return out


def one_size(size: int) -> dict[str, float]:
    from scale import synthetic_project

    import pipelines  # noqa: F401 - offline switches first
    from pipelines.run.ingestion import run_ingestion
    from pipelines.settings import load_settings

    with tempfile.TemporaryDirectory(prefix=f"corpusgov-memory-{size}-") as tmp:
        config = synthetic_project(Path(tmp), size)
        started = time.perf_counter()
        report = run_ingestion(load_settings(config), HashEmbedder())
        seconds = time.perf_counter() - started
    return {
        "documents": report.discovered,
        "chunks": report.chunks_embedded,
        "seconds": seconds,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for size in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(size)], capture_output=True, text=True, check=True
        )
        results[size] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[size]
        print(
            f"N={size:>6}: peak RSS {r['rss_mb']:.0f} MB, {r['chunks']} chunks, {r['seconds']:.0f} s",
            flush=True,
        )
    ratio = results[max(sizes)]["rss_mb"] / results[min(sizes)]["rss_mb"]
    print(f"ratio N={max(sizes)} / N={min(sizes)}: {ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
