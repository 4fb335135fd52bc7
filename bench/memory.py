"""Memory benchmark: the peak RSS of a run, its processes summed, and whether it grows with the corpus.

The run's peak is the peak of the SUM of its processes' resident memory at any moment (the ingest
process, its parser worker, the model export's process on a first run): what a container's memory
limit sees, give or take the pages they share. A sampler thread reads every process of the run's
tree from /proc every 50 ms; each figure below is the largest sum it saw, with what each process
held at that moment, then each process's own peak (reached at different moments: they do not add
up to the run's peak).

Default: `corpusgov ingest` (a fresh process, as a user runs it) on the sample setup
(examples/corpus, corpusgov.yaml's embedding settings, the default contract) with one oversized
file beside the sample corpus: 9,000,000 characters of prose (bench/oversized.py's), over the
contract's maxLength. Three runs, each into a new data dir:

- `first run`: the model's cache empty, so the run exports it (torch, in a process of its own);
- `model exported`: the export present (the same model cache), the oversized file walked first;
- `oversized last`: the same, the oversized file in a folder walked last, when the embedding has
  started: the worker parses it beside the embedding at its peak.

Target: under 1.2 GB with the model exported (issue 31).

`--sizes 2000,20000`: does a first ingest's peak stay flat as the corpus grows? For each size N, a
fresh process writes N synthetic documents (bench/scale.py's generator) and runs a whole first
ingest (prepare, embed, commit) with a small deterministic hash embedder, not the model (the
model's few hundred MB are the same at every N and would hide what grows with it). Prints the ratio
of the largest N to the smallest (target <= 1.3). Figures, not assertions.

    python bench/memory.py [--cases first,exported,last] [--sizes 2000,20000]
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
CORPUSGOV = Path(sys.executable).with_name("corpusgov")
CASES = ("first", "exported", "last")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MB = 2**20


def _process_name(pid: int, root: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return str(pid)
    if b"extraction_worker" in command:
        return "parser worker"
    if b"onnx_export" in command:
        return "model export"
    if pid == root:
        return "ingest"
    return Path(command.split(b"\0")[0].decode(errors="replace")).name or str(pid)


def tree_rss(pid: int) -> dict[int, int]:
    """Resident bytes of `pid` and of each of its descendants."""
    sizes: dict[int, int] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as statm:
                sizes[current] = int(statm.read().split()[1]) * _PAGE
            # Every thread's children: the model's one-time export starts from the embedding thread.
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    pending.extend(int(c) for c in children.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return sizes


@dataclass
class TreeSampler:
    """Samples a process tree every 50 ms from a thread until `stop()`."""

    root: int
    peak_sum: int = 0
    at_peak: dict[str, int] = field(default_factory=dict)  # each process's bytes at the peak
    own_peaks: dict[str, int] = field(default_factory=dict)  # each process's own peak
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = tree_rss(self.root)
            named: dict[str, int] = {}
            for pid, rss in sizes.items():
                # Read each time: a child is named for its program only once it has exec'd it.
                name = _process_name(pid, self.root)
                # A worker replaced after a hostile file is another process of the same name.
                name = name if name not in named else f"{name} ({pid})"
                named[name] = rss
                self.own_peaks[name] = max(self.own_peaks.get(name, 0), rss)
            if sum(sizes.values()) > self.peak_sum:
                self.peak_sum, self.at_peak = sum(sizes.values()), named
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        at_peak = ", ".join(f"{name} {rss / _MB:,.0f}" for name, rss in self.at_peak.items())
        own = ", ".join(f"{name} {rss / _MB:,.0f}" for name, rss in self.own_peaks.items() if rss)
        return f"peak RSS {self.peak_sum / _MB:,.0f} MB ({at_peak}); each process's own peak: {own}"


def sample_run(case: str, model_cache: Path) -> tuple[float, int, TreeSampler]:
    """One `corpusgov ingest` of the sample setup with the oversized file, sampled."""
    from oversized import prose

    with tempfile.TemporaryDirectory(prefix=f"corpusgov-memory-{case}-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        shutil.copytree(REPO / "examples" / "corpus", corpus)
        # Discovery walks a folder's files before its subfolders, in name order.
        oversized = corpus / "zz-walked-last" / "prose.txt" if case == "last" else corpus / "prose.txt"
        oversized.parent.mkdir(exist_ok=True)
        oversized.write_text(prose(9_000_000, seed=1), encoding="utf-8")
        settings = (REPO / "corpusgov.yaml").read_text(encoding="utf-8")
        config = root / "corpusgov.yaml"
        config.write_text(
            f"data_dir: {root / 'data'}\nsources:\n  - name: sample\n    path: {corpus}\n"
            f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
            f"{settings[settings.index('embedding:') :]}",
            encoding="utf-8",
        )
        env = {**os.environ, "CORPUSGOV_CONFIG": str(config), "CORPUSGOV_MODEL_CACHE": str(model_cache)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(CORPUSGOV), "ingest"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        sampler = TreeSampler(process.pid)
        _, stderr = process.communicate()
        seconds = time.perf_counter() - started
        sampler.stop()
        if process.returncode:
            print(stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, process.returncode, sampler


def sample_setup(cases: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="corpusgov-memory-models-") as models:
        model_cache = Path(models)
        if "first" not in cases:
            sample_run("warm-up", model_cache)  # exports the model once, not measured
        for case in sorted(cases, key=CASES.index):
            seconds, code, sampler = sample_run(case, model_cache)
            label = {"first": "first run", "exported": "model exported", "last": "oversized last"}[case]
            print(f"{label:>15}: {seconds:5.1f} s, exit {code}, {sampler.summary()}", flush=True)
    print("target: under 1,200 MB with the model exported")


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
        # One run in this process, as the CLI's: the parser worker stops after the last file.
        report = run_ingestion(load_settings(config), HashEmbedder(), keep_parser=False)
        seconds = time.perf_counter() - started
    return {"documents": report.discovered, "chunks": report.chunks_embedded, "seconds": seconds}


def sizes_growth(sizes: list[int]) -> None:
    peaks = {}
    for size in sizes:
        process = subprocess.Popen(
            [sys.executable, __file__, "--one", str(size)], stdout=subprocess.PIPE, text=True
        )
        sampler = TreeSampler(process.pid)
        stdout, _ = process.communicate()
        sampler.stop()
        if process.returncode:
            raise SystemExit(f"N={size}: exit {process.returncode}")
        result = json.loads(stdout.strip().splitlines()[-1])
        peaks[size] = sampler.peak_sum
        print(
            f"N={size:>6}: {result['chunks']} chunks, {result['seconds']:.0f} s, {sampler.summary()}",
            flush=True,
        )
    ratio = peaks[max(sizes)] / peaks[min(sizes)]
    print(f"ratio N={max(sizes)} / N={min(sizes)}: {ratio:.2f} (target <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help=f"runs of the sample setup, of {','.join(CASES)} (default: all)")
    parser.add_argument("--sizes", help="synthetic corpus sizes, e.g. 2000,20000, instead")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
    elif args.sizes:
        sizes_growth([int(s) for s in args.sizes.split(",")])
    else:
        cases = args.cases.split(",") if args.cases else list(CASES)
        unknown = set(cases) - set(CASES)
        if unknown:
            parser.error(f"unknown case(s) {', '.join(sorted(unknown))}: use {', '.join(CASES)}")
        sample_setup(cases)


if __name__ == "__main__":
    main()
