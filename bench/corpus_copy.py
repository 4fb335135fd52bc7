"""The benchmarks' corpus: the first N documents of a folder, copied so a run of any size is
repeatable. No project imports: the LlamaIndex bench runs in its own venv and uses it too."""

import shutil
from pathlib import Path

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
SUFFIXES = {".html", ".htm", ".md", ".txt", ".pdf", ".docx"}


def build_corpus(source: Path, limit: int | None, into: Path) -> list[Path]:
    """Copy the first `limit` documents (sorted by path) of `source` into `into`."""
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(source).parts)
        and p.suffix.lower() in SUFFIXES
    )
    copied = []
    for path in files[:limit] if limit else files:
        target = into / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(target)
    return copied
