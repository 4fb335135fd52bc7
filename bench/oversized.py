"""Oversized-file benchmark: what one file over its contract's length costs a run.

For each case, a fresh `corpusgov ingest` (the sample setup: corpusgov.yaml's embedding settings,
the sample corpus, the default contract, whose text maxLength is 2,000,000 characters) runs in a
new project with one more text file beside the sample corpus, and the bench prints its wall
seconds, the peak RSS of the run (the ingest process and its parser worker, sampled together
every 50 ms), and how the file was decided. A first run without an extra file is the baseline;
"file cost" is a case's seconds beyond it.

- `prose`: 9,000,000 characters of prose (paragraphs of sentences), in the byte limits;
- `repetitive`: 6 MB of one paragraph repeated;
- `growing`: a text file a writer keeps appending to (from 3 MB, 640 KB/s) while the run reads it.

Figures, not assertions. Target: each file decided in seconds, peak RSS under 1.2 GB.

    python bench/oversized.py [--cases baseline,prose,repetitive,growing]
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from memory import tree_rss  # noqa: E402

CORPUSGOV = Path(sys.executable).with_name("corpusgov")
CASES = ("baseline", "prose", "repetitive", "growing")
_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no will "
    "more about can said up river morning letter garden window silence journey harbour evening "
    "promise village winter shadow question answer kitchen market soldier teacher mother father"
).split()


def prose(chars: int, seed: int) -> str:
    """Paragraphs of 3 to 7 sentences of 8 to 22 words, `chars` characters in all."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        sentences = (
            " ".join(rng.choices(_WORDS, k=rng.randint(8, 22))).capitalize() + "."
            for _ in range(rng.randint(3, 7))
        )
        paragraphs.append(" ".join(sentences))
        total += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)[:chars]


def _tree_rss(pid: int) -> list[int]:
    """Resident bytes of `pid` and of each of its descendants (bench/memory.py's reading)."""
    return list(tree_rss(pid).values())


class Grower(threading.Thread):
    """Appends prose to a file until stopped (or it reaches `cap` bytes)."""

    def __init__(self, path: Path, start_bytes: int, bytes_per_tick: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.path, self.bytes_per_tick, self.cap = path, bytes_per_tick, cap
        path.write_text(prose(start_bytes, seed=3), encoding="utf-8")
        self.stop = threading.Event()

    def run(self) -> None:
        seed = 100
        with self.path.open("a", encoding="utf-8") as handle:
            while not self.stop.wait(0.1) and handle.tell() < self.cap:
                seed += 1
                handle.write("\n\n" + prose(self.bytes_per_tick, seed))
                handle.flush()


def run_case(case: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"corpusgov-oversized-{case}-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        shutil.copytree(REPO / "examples" / "corpus", corpus)
        config = root / "corpusgov.yaml"
        settings = (REPO / "corpusgov.yaml").read_text(encoding="utf-8")
        embedding = settings[settings.index("embedding:") :]
        config.write_text(
            f"data_dir: {root / 'data'}\nsources:\n  - name: sample\n    path: {corpus}\n"
            f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n{embedding}",
            encoding="utf-8",
        )
        extra = {"prose": "prose.txt", "repetitive": "repetitive.txt", "growing": "growing.txt"}.get(case)
        grower: Grower | None = None
        if case == "prose":
            (corpus / "prose.txt").write_text(prose(9_000_000, seed=1), encoding="utf-8")
        elif case == "repetitive":
            paragraph = prose(1_200, seed=7)
            (corpus / "repetitive.txt").write_text(
                "\n\n".join([paragraph] * (6_000_000 // (len(paragraph) + 2))), encoding="utf-8"
            )
        elif case == "growing":
            grower = Grower(corpus / "growing.txt", 3_000_000, 64_000, 48_000_000)
        env = {**os.environ, "CORPUSGOV_CONFIG": str(config)}
        started = time.perf_counter()
        if grower is not None:
            grower.start()
        process = subprocess.Popen(
            [str(CORPUSGOV), "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        peak_sum = peak_one = 0
        while process.poll() is None:
            sizes = _tree_rss(process.pid)
            peak_sum, peak_one = max(peak_sum, sum(sizes)), max(peak_one, max(sizes, default=0))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        output = process.stdout.read() if process.stdout else ""
        if grower is not None:
            grower.stop.set()
            grower.join()
        decided: dict[str, object] = {}
        if extra:
            shown = subprocess.run(
                [str(CORPUSGOV), "documents", "--json"], env=env, capture_output=True, text=True
            )
            rows = json.loads(shown.stdout) if shown.returncode == 0 else []
            row = next((r for r in rows if r["doc_id"] == f"sample/{extra}"), {})
            decided = {"state": row.get("state"), "reasons": row.get("reasons")}
            # The violation's detail, as the contract report shows it ("9,000,000 chars > 2,000,000").
            for report in (root / "data" / "reports").glob("contracts/*/*.html"):
                found = re.search(r"[\d,]+ chars (?:&gt;|>) [\d,]+", report.read_text(encoding="utf-8"))
                if found:
                    decided["detail"] = found.group(0).replace("&gt;", ">")
            decided["indexed"] = sum(1 for r in rows if r["state"] == "indexed")
            if grower is not None:
                decided["bytes_at_end"] = grower.path.stat().st_size
    return {
        "case": case,
        "exit": process.returncode,
        "seconds": seconds,
        "peak_rss_mb": peak_sum / 2**20,
        "largest_process_mb": peak_one / 2**20,
        "decided": decided,
        "tail": output.strip().splitlines()[-3:] if process.returncode else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    baseline: float | None = None
    for case in args.cases.split(","):
        result = run_case(case)
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        if case == "baseline":
            baseline = seconds
        cost = (
            f", file cost {seconds - baseline:.1f} s" if baseline is not None and case != "baseline" else ""
        )
        print(
            f"{case:>10}: {seconds:6.1f} s{cost}, peak RSS {result['peak_rss_mb']:,.0f} MB "
            f"(largest process {result['largest_process_mb']:,.0f} MB), exit {result['exit']}",
            flush=True,
        )
        if result["decided"]:
            print(f"            {json.dumps(result['decided'])}", flush=True)
        if result["tail"]:
            print("            " + "\n            ".join(result["tail"]), flush=True)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
