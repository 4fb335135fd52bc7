"""Scale benchmark: does the cost of preparing one document stay flat as the corpus grows?

For each size N, writes N synthetic documents (distinct procedure-like texts of ~150 words) to a
temporary source and times the prepare stage of a first ingest (discover, parse in the extraction
worker, assess, near-duplicates against everything before it, contract) with a fake embedder's
model id: no embedding, no commit. Prints ms/document per N and the ratio of the largest N to the
smallest (target <= 1.5). Figures, not assertions.

    python bench/scale.py [--sizes 1000,5000,20000]
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pipelines  # noqa: E402,F401 - offline switches first
from pipelines.document.extraction import shared_worker  # noqa: E402
from pipelines.run.ingestion import prepare_ingestion  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402

WORDS = (
    "pallet dock shift carrier invoice return label scanner forklift aisle rack bin order picker "
    "manifest route driver loading unloading inspection damage claim refund supplier customer "
    "warehouse inventory count audit safety training badge gate trailer seal temperature cold "
    "chain hazmat battery charging lane zone slot replenish cycle variance report supervisor "
    "handover checklist procedure exception escalate approve reject record verify confirm"
).split()


def synthetic_document(rng: random.Random, number: int) -> str:
    title = f"# Procedure {number}: {' '.join(rng.sample(WORDS, 3))}\n\n"
    paragraphs = []
    for _ in range(3):
        sentence_count = rng.randint(3, 5)
        sentences = [
            " ".join(rng.choices(WORDS, k=rng.randint(8, 14))).capitalize() + "."
            for _ in range(sentence_count)
        ]
        paragraphs.append(" ".join(sentences))
    return title + "\n\n".join(paragraphs) + f"\n\nReference {number}-{rng.randint(0, 10**9)}.\n"


def synthetic_project(root: Path, size: int) -> Path:
    """`size` synthetic documents (seeded by `size`) in one source; returns corpusgov.yaml."""
    rng = random.Random(size)
    corpus = root / "corpus"
    for number in range(size):
        folder = corpus / f"part{number // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{number:06d}.md").write_text(synthetic_document(rng, number), encoding="utf-8")
    config = root / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {root / 'data'}\nsources:\n  - name: synthetic\n    path: {corpus}\n"
        f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n",
        encoding="utf-8",
    )
    return config


def prepare_ms_per_document(size: int) -> float:
    with tempfile.TemporaryDirectory(prefix=f"corpusgov-scale-{size}-") as tmp:
        settings = load_settings(synthetic_project(Path(tmp), size))
        started = time.perf_counter()
        prepared = prepare_ingestion(settings, "fake-embedder@bench")
        elapsed = time.perf_counter() - started
        assert len(prepared.outcomes) == size, (len(prepared.outcomes), size)
    return 1000 * elapsed / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    shared_worker().start()
    prepare_ms_per_document(50)  # warm-up: imports and the worker's start are not per-document costs
    results = {}
    for size in sizes:
        results[size] = prepare_ms_per_document(size)
        print(f"N={size:>6}: prepare {results[size]:.2f} ms/document", flush=True)
    smallest, largest = results[min(sizes)], results[max(sizes)]
    print(f"ratio N={max(sizes)} / N={min(sizes)}: {largest / smallest:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
