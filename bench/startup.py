"""Start-up benchmark: how long a person waits for the CLI's read commands and a no-op ingest.

Builds a data dir from the shipped sample corpus with the real model (`corpusgov ingest`), then
runs each command in a fresh process several times and prints the median wall time against its
target: 1.5 s for the read commands and `--help`, 3 s for a no-op `ingest`. Figures, not
assertions: machines are shared and noisy.

    python bench/startup.py [--repeat 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUSGOV = [sys.executable, "-m", "pipelines.cli"]
COMMANDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("--help",), 1.5),
    (("status",), 1.5),
    (("documents",), 1.5),
    (("quarantine", "list"), 1.5),
    (("index", "versions"), 1.5),
    (("evals", "status"), 1.5),
    (("ingest",), 3.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corpusgov-startup-") as tmp:
        config = Path(tmp) / "corpusgov.yaml"
        config.write_text(
            f"data_dir: {Path(tmp) / 'data'}\nsources:\n  - name: sample\n"
            f"    path: {REPO / 'examples' / 'corpus'}\n"
            f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
            f"evals:\n  sets:\n    - name: sample\n      path: {REPO / 'examples' / 'evals' / 'sample.jsonl'}\n",
            encoding="utf-8",
        )
        env = {**os.environ, "CORPUSGOV_CONFIG": str(config)}
        env.pop("CORPUSGOV_DATA_DIR", None)
        print("building the sample data dir with the real model ...", flush=True)
        subprocess.run([*CORPUSGOV, "ingest"], cwd=REPO, env=env, check=True, capture_output=True)
        print(f"{'command':<22}{'median s':>10}{'target s':>10}{'ratio':>8}")
        for command, target in COMMANDS:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                subprocess.run([*CORPUSGOV, *command], cwd=REPO, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            print(f"{' '.join(command):<22}{median:>10.2f}{target:>10.1f}{median / target:>8.2f}")


if __name__ == "__main__":
    main()
