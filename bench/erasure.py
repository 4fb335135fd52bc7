"""Erasure benchmark: what `corpusgov erase` costs as the corpus grows.

For each size N: N synthetic documents (bench/scale.py) ingested with a hash embedder (no model),
then `versions - 1` more index versions, each editing a few documents, so the erased document
sits in every retained version. Then one document is erased (pipelines/governance/erasure.py):
the head, every retained version rewritten, the files deleted, the ledger, the data dir. Prints
the erasure's seconds, the versions rewritten, the files deleted and the index folder's size
before and after, per N, and the ratio of the largest N's time to the smallest. The rewrite
touches only the fragments that held the document, so its cost should grow far slower than N;
the ledger file written afresh grows with N. Figures, not assertions.

    python bench/erasure.py [--sizes 200,1000,4000] [--versions 5]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "bench"))

from memory import HashEmbedder  # noqa: E402
from scale import synthetic_project  # noqa: E402

import pipelines  # noqa: E402,F401 - offline switches first
from pipelines.governance.erasure import erase_document  # noqa: E402
from pipelines.run.ingestion import run_ingestion  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402
from pipelines.storage import folder_size  # noqa: E402


def one_size(size: int, versions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"corpusgov-erasure-{size}-") as tmp:
        config = synthetic_project(Path(tmp), size)
        settings = load_settings(config)
        embedder = HashEmbedder()
        started = time.perf_counter()
        run_ingestion(settings, embedder, keep_parser=False)
        ingest_seconds = time.perf_counter() - started
        corpus = Path(tmp) / "corpus"
        for round_number in range(1, versions):
            for number in range(round_number * 7, round_number * 7 + 3):
                path = corpus / f"part{number // 1000:03d}" / f"doc{number:06d}.md"
                path.write_text(
                    path.read_text(encoding="utf-8") + f"\nRevision {round_number}.\n", encoding="utf-8"
                )
            run_ingestion(settings, embedder, keep_parser=False)
        target = corpus / "part000" / "doc000001.md"
        target.unlink()
        before = folder_size(settings.lancedb_uri)
        started = time.perf_counter()
        erasure = erase_document(settings, "synthetic/part000/doc000001.md", "benchmark")
        seconds = time.perf_counter() - started
        index = erasure.certificate["index"]
        return {
            "ingest_s": ingest_seconds,
            "erase_s": seconds,
            "rewritten": len(index["versions_rewritten"]),
            "files_deleted": len(index["files_deleted"]),
            "mb_before": before / 1e6,
            "mb_after": folder_size(settings.lancedb_uri) / 1e6,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,4000")
    parser.add_argument("--versions", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    print(
        f"{'documents':>10} {'first ingest s':>15} {'erase s':>8} {'rewritten':>9} {'files del':>9} {'index MB':>15}"
    )
    for size in sizes:
        r = results[size] = one_size(size, args.versions)
        print(
            f"{size:>10} {r['ingest_s']:>15.1f} {r['erase_s']:>8.2f} {int(r['rewritten']):>9} "
            f"{int(r['files_deleted']):>9} {r['mb_before']:>7.1f} -> {r['mb_after']:<6.1f}"
        )
    first, last = results[sizes[0]], results[sizes[-1]]
    print(
        f"erase time ratio {sizes[-1]}/{sizes[0]} documents: {last['erase_s'] / first['erase_s']:.2f} "
        f"(corpus {sizes[-1] / sizes[0]:.0f}x larger)"
    )


if __name__ == "__main__":
    main()
