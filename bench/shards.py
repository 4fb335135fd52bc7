"""Sharding benchmark: does a source split into shards ingest faster on Dagster's multiprocess
executor, with the same result?

Runs the `ingestion` job for real (`dg.execute_job`, one process per step, the bundled model on
the configured backend) on a copy of a corpus (Debian's python3.11-doc HTML if installed, else
the shipped examples), once with 1 shard and once with `--shards` shards, each into a fresh data
dir, in one run of this script. Prints each run's wall time, the ratio (target: below 1 on a
machine with 2 or more cores), and whether the results match: the same chunk ids, vectors within
1e-6, the same document states, grades and quality scores. Figures, not assertions: machines are
shared and noisy, so compare ratios measured in one run (`--rounds` alternates the two).

    python bench/shards.py [--corpus DIR] [--limit N] [--shards 2] [--rounds 1]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from corpus_copy import PYTHON_DOCS, build_corpus  # noqa: E402

import pipelines  # noqa: E402,F401 - offline switches first


def ingestion_job():  # noqa: ANN201 - a dg.JobDefinition; each step process rebuilds it from here
    from pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("ingestion")


def write_project(root: Path, corpus: Path, shards: int) -> Path:
    config = root / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {root / 'data'}\nsources:\n  - name: bench\n    path: {corpus}\n"
        f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
        f"shards:\n  max: {shards}\n  documents_per_shard: 1\n",
        encoding="utf-8",
    )
    return config


def run_job(root: Path, corpus: Path, shards: int) -> tuple[float, Path]:
    """One ingestion job into a fresh data dir: (wall seconds, config)."""
    import dagster as dg

    root.mkdir(parents=True)
    config = write_project(root, corpus, shards)
    os.environ["CORPUSGOV_CONFIG"] = str(config)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        started = time.perf_counter()
        with dg.execute_job(dg.reconstructable(ingestion_job), instance=instance) as result:
            seconds = time.perf_counter() - started
            if not result.success:
                raise SystemExit(f"the {shards}-shard run failed: see the events above")
    return seconds, config


def result_of(config: Path) -> tuple[dict[str, tuple[object, ...]], dict[str, object]]:
    """(doc id -> (state, grade, quality score), chunk id -> vector) as the stores hold them."""
    import duckdb
    import lancedb
    import numpy as np

    from pipelines.settings import load_settings

    settings = load_settings(config)
    con = duckdb.connect(str(settings.ledger_path), read_only=True)
    try:
        rows = con.execute("SELECT doc_id, state, grade, quality_score FROM documents").fetchall()
    finally:
        con.close()
    table = lancedb.connect(settings.lancedb_uri).open_table("chunks").to_arrow()
    vectors = dict(
        zip(
            table.column("chunk_id").to_pylist(),
            np.asarray(table.column("vector").to_pylist(), dtype=np.float32),
            strict=True,
        )
    )
    return {r[0]: tuple(r[1:]) for r in rows}, vectors


def compare(one: Path, many: Path) -> tuple[bool, bool, float, int]:
    """(same documents, same chunk ids, largest vector difference, chunks)."""
    import numpy as np

    docs_one, vectors_one = result_of(one)
    docs_many, vectors_many = result_of(many)
    same_ids = vectors_one.keys() == vectors_many.keys()
    largest = max(
        (
            float(np.abs(vectors_one[c] - vectors_many[c]).max())
            for c in vectors_one.keys() & vectors_many.keys()
        ),
        default=0.0,
    )
    return docs_one == docs_many, same_ids, largest, len(vectors_one)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus"
    )
    parser.add_argument("--limit", type=int, default=120, help="the first N documents (default 120)")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="alternate 1 and N shards this many times")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corpusgov-bench-shards-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        files = build_corpus(args.corpus, args.limit, corpus)
        # The model is exported once, before the clock: each run's steps load it from here.
        os.environ["CORPUSGOV_MODEL_CACHE"] = str(root / "models")
        from pipelines.embedding.backends import embedder_from_settings
        from pipelines.settings import load_settings

        embedder_from_settings(load_settings(write_project(root, corpus, 1)), print).embed(["warm up"])
        times: dict[int, list[float]] = {1: [], args.shards: []}
        configs: dict[int, Path] = {}
        for number in range(args.rounds):
            for shards in (1, args.shards) if number % 2 == 0 else (args.shards, 1):
                seconds, configs[shards] = run_job(root / f"run-{number}-{shards}", corpus, shards)
                times[shards].append(seconds)
                print(f"round {number + 1}: {shards} shard(s) {seconds:.1f} s", flush=True)
        same_docs, same_ids, largest, chunks = compare(configs[1], configs[args.shards])

    one, many = min(times[1]), min(times[args.shards])
    print()
    print(f"corpus: {len(files)} documents from {args.corpus}, {chunks} chunks; {os.cpu_count()} cores")
    print(
        f"first ingest, Dagster multiprocess executor: 1 shard {one:.1f} s, {args.shards} shards {many:.1f} s"
    )
    print(f"ratio {args.shards} shards / 1 shard: {many / one:.2f} (target < 1)")
    # The step processes are this process's children (the multiprocess executor runs here).
    print(
        f"largest step process peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )
    print(
        f"same result: documents {'yes' if same_docs else 'NO'}, chunk ids {'yes' if same_ids else 'NO'}, "
        f"largest vector difference {largest:.2e} (target <= 1e-6)"
    )


if __name__ == "__main__":
    main()
