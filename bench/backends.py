"""Embedding backends side by side: speed, closeness to torch, and retrieval quality.

For torch (the reference), ONNX Runtime f32, OpenVINO f32 and OpenVINO at its default precision:
- raw encode chunks/s on the same chunks, and the ratio to torch;
- cosine to torch's vectors (mean and min; the default backend must reach mean >= 0.9999 and
  min >= 0.999);
- hit@5, MRR@5 and nDCG@5 on the sample eval set over the sample corpus, and on a synthetic set
  of 300 questions over the Python docs (a sentence from inside a chunk asks for that chunk's
  document); each must stay within 0.005 of torch.

The chunks come from corpusgov's own prepare stage (parse, assess, chunk), so they are the texts a
real ingest embeds. Figures, not assertions.

    python bench/backends.py [--corpus DIR] [--limit N] [--questions 300]
"""

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from corpus_copy import PYTHON_DOCS  # noqa: E402

import pipelines  # noqa: E402,F401 - offline switches first
from evals.metrics import hit_at_k, mrr_at_k, ndcg_at_k  # noqa: E402
from pipelines.embedding.backends import exported_embedder  # noqa: E402
from pipelines.embedding.model import model_folder  # noqa: E402
from pipelines.embedding.torch_backend import SentenceTransformerEmbedder  # noqa: E402
from pipelines.run.ingestion import prepare_ingestion  # noqa: E402
from pipelines.run.spool import spooled_batches  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402

K = 5
_SENTENCE = re.compile(r"[^.!?\n]{40,200}[.!?]")


def chunks_of(corpus: Path, limit: int | None, work: Path) -> list[tuple[str, str]]:
    """(doc id, chunk text) of every chunk corpusgov would index from `corpus`."""
    from corpus_copy import build_corpus

    copy = work / "corpus"
    build_corpus(corpus, limit, copy)
    config = work / "corpusgov.yaml"
    config.write_text(
        f"data_dir: {work / 'data'}\nsources:\n  - name: bench\n    path: {copy}\n"
        f"    contract: {REPO / 'contracts' / 'default.odcs.yaml'}\n"
    )
    prepared = prepare_ingestion(load_settings(config), "bench")
    indexed = {o.doc_id for o in prepared.outcomes if o.state.value == "indexed"}
    return [
        (doc_id.split("/", 1)[1], text)
        for batch in spooled_batches(prepared.spools, columns=["doc_id", "text"])
        for doc_id, text in zip(
            batch.column("doc_id").to_pylist(), batch.column("text").to_pylist(), strict=True
        )
        if doc_id in indexed
    ]


def synthetic_questions(chunks: list[tuple[str, str]], count: int) -> list[tuple[str, list[str]]]:
    """A sentence from inside a chunk (not its first) asks for that chunk's document."""
    rng = random.Random(20261202)
    candidates = []
    for doc_id, text in chunks:
        sentences = _SENTENCE.findall(text)[1:]
        if sentences:
            candidates.append((rng.choice(sentences).strip(), [doc_id]))
    rng.shuffle(candidates)
    return candidates[:count]


def sample_questions() -> list[tuple[str, list[str]]]:
    items = [
        json.loads(line)
        for line in (REPO / "examples" / "evals" / "sample.jsonl").read_text().splitlines()
        if line.strip()
    ]
    return [(i["question"], [g["doc_id"].split("/", 1)[1] for g in i["gold"]]) for i in items]


def retrieval(
    doc_ids: list[str], chunk_vectors: np.ndarray, question_vectors: np.ndarray, gold: list[list[str]]
) -> dict[str, float]:
    scores = question_vectors @ chunk_vectors.T
    totals = {"hit@5": 0.0, "mrr@5": 0.0, "ndcg@5": 0.0}
    for row, wanted in zip(scores, gold, strict=True):
        ranked: list[str] = []
        for index in np.argsort(-row):
            if doc_ids[index] not in ranked:
                ranked.append(doc_ids[index])
            if len(ranked) == K:
                break
        totals["hit@5"] += hit_at_k(ranked, wanted, K)
        totals["mrr@5"] += mrr_at_k(ranked, wanted, K)
        totals["ndcg@5"] += ndcg_at_k(ranked, wanted, K)
    return {name: value / len(gold) for name, value in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "examples" / "corpus"
    )
    parser.add_argument("--limit", type=int, default=120, help="documents of the corpus (default 120)")
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corpusgov-backends-") as tmp:
        work = Path(tmp)
        big = chunks_of(args.corpus, args.limit, work / "big")
        sample = chunks_of(REPO / "examples" / "corpus", None, work / "sample")
        synthetic = synthetic_questions(big, args.questions)
        sets = {"sample eval set": (sample, sample_questions()), "synthetic set": (big, synthetic)}
        model_dir = model_folder(None)
        backends = {
            "torch": SentenceTransformerEmbedder(),
            "onnx f32": exported_embedder(model_dir, "onnx", cache_dir=work / "models", notify=print),
            "openvino f32": exported_embedder(
                model_dir, "openvino", "f32", cache_dir=work / "models", notify=print
            ),
            "openvino auto": exported_embedder(
                model_dir, "openvino", "auto", cache_dir=work / "models", notify=print
            ),
        }
        order = sorted(range(len(big)), key=lambda i: len(big[i][1]), reverse=True)
        texts = [big[i][1] for i in order]
        print(
            f"{len(big)} chunks from {args.limit} documents of {args.corpus}; "
            f"{len(synthetic)} synthetic questions; {len(sample_questions())} sample questions"
        )
        reference: dict[str, np.ndarray] = {}
        baseline: dict[str, dict[str, float]] = {}
        torch_rate = 0.0
        for name, embedder in backends.items():
            embedder.embed(["warm up"])
            started = time.perf_counter()
            vectors = embedder.embed(texts)
            rate = len(texts) / (time.perf_counter() - started)
            torch_rate = torch_rate or rate
            if name == "torch":
                reference["speed"] = vectors
            cosine = (vectors * reference["speed"]).sum(axis=1)
            line = (
                f"{name:14} {embedder.model_id.partition('+')[2] or 'reference':14} {rate:6.1f} chunks/s "
                f"{rate / torch_rate:4.2f}x torch  cosine mean {cosine.mean():.6f} min {cosine.min():.6f}"
            )
            by_chunk = np.empty_like(vectors)
            by_chunk[order] = vectors  # the speed run's vectors, back in the chunks' order
            for set_name, (chunks, questions) in sets.items():
                chunk_vectors = by_chunk if chunks is big else embedder.embed([t for _, t in chunks])
                question_vectors = embedder.embed([q for q, _ in questions])
                scores = retrieval(
                    [d for d, _ in chunks], chunk_vectors, question_vectors, [g for _, g in questions]
                )
                baseline.setdefault(set_name, scores)
                worst = max(abs(scores[m] - baseline[set_name][m]) for m in scores)
                line += (
                    f"\n    {set_name:16} "
                    + "  ".join(f"{m} {v:.4f}" for m, v in scores.items())
                    + f"  (largest gap to torch {worst:.4f}; target <= 0.005)"
                )
            print(line)


if __name__ == "__main__":
    main()
