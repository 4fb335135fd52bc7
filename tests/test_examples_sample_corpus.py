"""Checks for the shipped sample corpus (examples/corpus) and its eval set (examples/evals/sample.jsonl)."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "make_sample_corpus.py"
CORPUS = ROOT / "examples" / "corpus"
EVALS = ROOT / "examples" / "evals" / "sample.jsonl"
FORMATS = ("html", "md", "txt", "pdf", "docx")


def _ws(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def extract_text(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    if ext in ("md", "txt"):
        text = path.read_text(encoding="utf-8")
    elif ext == "html":
        import lxml.html

        text = lxml.html.fromstring(path.read_bytes()).body.text_content()
    elif ext == "docx":
        import docx

        d = docx.Document(str(path))
        parts = [p.text for p in d.paragraphs]
        parts += [c.text for t in d.tables for row in t.rows for c in row.cells]
        text = "\n".join(parts)
    elif ext == "pdf":
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    else:  # pragma: no cover
        raise ValueError(path)
    return _ws(text)


@pytest.fixture(scope="module")
def corpus_files() -> dict[str, Path]:
    files = _files(CORPUS)
    assert files, "examples/corpus is empty: run python examples/make_sample_corpus.py"
    return files


@pytest.fixture(scope="module")
def eval_items() -> list[dict]:
    return [json.loads(line) for line in EVALS.read_text(encoding="utf-8").splitlines() if line.strip()]


# (a) determinism -------------------------------------------------------------


def test_script_is_deterministic_and_matches_shipped_files(tmp_path, corpus_files):
    out, evals_out = tmp_path / "corpus", tmp_path / "evals" / "sample.jsonl"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--evals-out", str(evals_out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    regenerated = _files(out)
    assert sorted(regenerated) == sorted(corpus_files)
    changed = [rel for rel in regenerated if regenerated[rel].read_bytes() != corpus_files[rel].read_bytes()]
    assert not changed, f"regenerated files differ from examples/corpus: {changed}"
    assert evals_out.read_bytes() == EVALS.read_bytes()


# (b) special cases -------------------------------------------------------------


def test_format_counts(corpus_files):
    counts = Counter(rel.rsplit(".", 1)[-1] for rel in corpus_files)
    for fmt in FORMATS:
        assert counts[fmt] >= 4, counts
    assert 25 <= len(corpus_files) <= 40


def test_empty_file(corpus_files):
    assert any(rel.endswith(".txt") and p.stat().st_size == 0 for rel, p in corpus_files.items())


def test_binary_txt(corpus_files):
    assert any(rel.endswith(".txt") and b"\x00" in p.read_bytes() for rel, p in corpus_files.items())


def test_corrupt_pdf(corpus_files):
    from pypdf import PdfReader

    broken = []
    for rel, p in corpus_files.items():
        if not p.read_bytes().startswith(b"%PDF-"):
            continue
        try:
            reader = PdfReader(str(p))
            for page in reader.pages:
                page.extract_text()
        except Exception:
            broken.append(rel)
    assert broken, "expected at least one PDF that pypdf cannot read"
    assert len(broken) < sum(rel.endswith(".pdf") for rel in corpus_files)


def test_ai_generator_meta(corpus_files):
    import lxml.html

    generators = []
    for rel, p in corpus_files.items():
        if rel.endswith(".html"):
            generators += lxml.html.fromstring(p.read_bytes()).xpath('//meta[@name="generator"]/@content')
    assert any("ChatGPT" in g or "GPT" in g for g in generators), generators


def test_ai_front_matter(corpus_files):
    import yaml

    declared = []
    for rel, p in corpus_files.items():
        text = p.read_text(encoding="utf-8") if rel.endswith(".md") else ""
        m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
        if m and yaml.safe_load(m.group(1)).get("digital_source_type"):
            declared.append(rel)
    assert declared


def test_injection_text(corpus_files):
    hits = [
        rel
        for rel, p in corpus_files.items()
        if rel.endswith((".md", ".txt", ".html")) and b"Ignore all previous instructions" in p.read_bytes()
    ]
    assert hits


def test_german_document(corpus_files):
    german = [
        rel
        for rel, p in corpus_files.items()
        if rel.endswith((".md", ".html"))
        and all(w in p.read_text(encoding="utf-8") for w in (" und ", " der ", " die ", "für"))
    ]
    assert german
    assert len(extract_text(corpus_files[german[0]])) > 1500


def test_near_duplicate_markdown_pair(corpus_files):
    texts = {rel: p.read_text(encoding="utf-8") for rel, p in corpus_files.items() if rel.endswith(".md")}
    rels = sorted(texts)
    best = max(
        difflib.SequenceMatcher(None, texts[a], texts[b], autojunk=False).ratio()
        for i, a in enumerate(rels)
        for b in rels[i + 1 :]
        if abs(len(texts[a]) - len(texts[b])) < 0.2 * len(texts[a])
    )
    assert 0.9 <= best < 1.0


def test_normal_documents_have_titles(corpus_files):
    import docx
    import lxml.html
    from pypdf import PdfReader

    titled = Counter()
    for rel, p in corpus_files.items():
        ext = rel.rsplit(".", 1)[-1]
        if p.stat().st_size == 0 or (ext != "docx" and b"\x00" in p.read_bytes()[:2048]):
            continue
        try:
            if ext == "html":
                tree = lxml.html.fromstring(p.read_bytes())
                ok = bool(tree.findtext(".//title")) and bool(tree.xpath("//h1"))
            elif ext == "md":
                ok = bool(re.search(r"^# \S", p.read_text(encoding="utf-8"), re.M))
            elif ext == "docx":
                ok = bool(docx.Document(str(p)).core_properties.title)
            elif ext == "pdf":
                ok = bool(PdfReader(str(p)).metadata.title)
            else:
                ok = bool(p.read_text(encoding="utf-8").splitlines()[0].strip())
        except Exception:
            continue  # the corrupt PDF
        assert ok, rel
        titled[ext] += 1
    assert all(titled[f] >= 4 for f in FORMATS), titled


# (c) gold passages -------------------------------------------------------------


def test_gold_passages_verbatim(corpus_files, eval_items):
    for item in eval_items:
        assert item["gold"], item["id"]
        for gold in item["gold"]:
            assert gold["doc_id"].startswith("sample/"), gold
            rel = gold["doc_id"][len("sample/") :]
            assert rel in corpus_files, gold["doc_id"]
            assert _ws(gold["passage"]) in extract_text(corpus_files[rel]), (item["id"], gold["passage"])


def test_gold_documents_are_normal_and_cover_all_formats(corpus_files, eval_items):
    formats = set()
    for item in eval_items:
        for gold in item["gold"]:
            p = corpus_files[gold["doc_id"][len("sample/") :]]
            data = p.read_bytes()
            assert b"Ignore all previous instructions" not in data
            assert b'name="generator"' not in data and b"digital_source_type" not in data
            formats.add(p.suffix.lstrip("."))
    assert formats == set(FORMATS)


# (d) shape of the eval set -----------------------------------------------------


def test_eval_set_shape(eval_items):
    assert len(eval_items) == 15
    ids = [item["id"] for item in eval_items]
    assert len(set(ids)) == len(ids)
    assert Counter(item["split"] for item in eval_items) == {"dev": 12, "holdout": 3}
    for item in eval_items:
        assert set(item) == {"id", "question", "reference_answer", "gold", "split"}
        assert item["question"].strip() and item["reference_answer"].strip()
