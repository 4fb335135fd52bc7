"""A text longer than its contract's maxLength is decided on its length right after it is parsed:
quarantined with `contract.text_too_long` and the numbers the contract check gives, never assessed,
chunked or embedded. The contract's other expectations still give their reasons (a missing title),
and the source's contract check counts it like any checked document. The files are the ones from
the field report (issue 31): 9 million characters of prose and a file that grows while the run
reads it, each beside normal files. Timings are in bench/oversized.py."""

import random
import re
import threading
from pathlib import Path

import pytest

from pipelines.governance.catalog import list_documents
from pipelines.governance.quarantine import release_document
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import DEFAULT_CONTRACT, FakeEmbedder, procedure_text, use_contract, write_doc

# In no normal file: a chunk holding it came from the long text.
_MARKER = "zephyrine"
_WORDS = f"the of and to in a is that for river morning letter garden window {_MARKER} harbour".split()


def _prose(chars: int, seed: int) -> str:
    """Whole paragraphs of sentences, at least `chars` characters: no line a parser takes for a title."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        sentences = [" ".join(rng.choices(_WORDS, k=12)).capitalize() + "." for _ in range(5)]
        paragraphs.append(" ".join(sentences))
        total += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)


def _normal_files(corpus: Path) -> None:
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "dispatch.md", procedure_text("dispatch"))


def _with_max_length(project: Path, max_length: int, minimum_grade: str = "F") -> None:
    """The default contract with another text maxLength and minimumGrade, as the source's contract."""
    contract = DEFAULT_CONTRACT.read_text(encoding="utf-8")
    grade = "  - property: minimumGrade\n    value: F\n"
    assert "maxLength: 2000000" in contract and grade in contract
    contract = contract.replace("maxLength: 2000000", f"maxLength: {max_length}")
    use_contract(project, contract.replace(grade, grade.replace("F", minimum_grade)), "short.odcs.yaml")


def _states(settings) -> dict[str, tuple[str, list[str]]]:  # noqa: ANN001
    return {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}


@pytest.mark.fleet  # nine million characters through the parser worker and the contract (~12 s)
def test_nine_million_characters_of_prose_are_quarantined_on_their_length_unembedded(project: Path) -> None:
    corpus = project / "corpus"
    _normal_files(corpus)
    write_doc(corpus, "novel.txt", _prose(9_000_000, seed=1))
    settings = load_settings()
    embedder = FakeEmbedder()

    report = run_ingestion(settings, embedder)

    states = _states(settings)
    assert states["docs/receiving.md"][0] == "indexed"
    assert states["docs/dispatch.md"][0] == "indexed"
    # The reasons of a full assessment under this contract (no title line: the title is required).
    assert states["docs/novel.txt"] == ("quarantined", ["contract.missing_title", "contract.text_too_long"])
    novel = next(o for o in report.outcomes if o.doc_id == "docs/novel.txt")
    assert novel.text_chars > 8_900_000
    assert not novel.chunks
    assert novel.grade is None  # decided before the assessment
    assert not any(_MARKER in text for text in embedder.embedded_texts)
    (check,) = report.contract_checks
    assert check.checked == 3 and check.governed == 3 and check.violating == 1
    assert check.violations_by_reason == {"contract.missing_title": 1, "contract.text_too_long": 1}
    details = {v.reason: v.detail for v in check.violations if v.doc_id == "docs/novel.txt"}
    assert details["contract.text_too_long"] == f"{novel.text_chars:,} chars > 2,000,000"
    # Decided once: the next run finds it unchanged and reads nothing again.
    assert not run_ingestion(settings, FakeEmbedder()).changed


class _Grower(threading.Thread):
    """Appends paragraphs to a file until stopped, up to `cap` characters."""

    def __init__(self, path: Path, cap: int) -> None:
        super().__init__(daemon=True)
        self.path, self.cap = path, cap
        self.stop = threading.Event()

    def run(self) -> None:
        seed = 100
        with self.path.open("a", encoding="utf-8") as handle:
            while not self.stop.wait(0.01) and handle.tell() < self.cap:
                seed += 1
                handle.write("\n\n" + _prose(20_000, seed))
                handle.flush()


def test_a_file_growing_while_read_is_decided_on_what_was_read(project: Path) -> None:
    # A minimum grade above F: a text refused on its length is not graded, and that is no reason.
    _with_max_length(project, 100_000, minimum_grade="C")
    corpus = project / "corpus"
    _normal_files(corpus)
    growing = write_doc(corpus, "growing.txt", "Harbour Letters\n\n" + _prose(150_000, seed=2))
    settings = load_settings()
    embedder = FakeEmbedder()
    grower = _Grower(growing, cap=3_000_000)
    grower.start()
    try:
        report = run_ingestion(settings, embedder)
    finally:
        grower.stop.set()
        grower.join()

    states = _states(settings)
    assert states["docs/receiving.md"][0] == "indexed"
    assert states["docs/dispatch.md"][0] == "indexed"
    assert states["docs/growing.txt"] == ("quarantined", ["contract.text_too_long"])
    (violation,) = report.contract_checks[0].violations
    match = re.fullmatch(r"([\d,]+) chars > 100,000", violation.detail)
    assert match is not None, violation.detail
    assert int(match.group(1).replace(",", "")) >= 150_000
    assert not any(_MARKER in text for text in embedder.embedded_texts)


def test_a_released_text_over_the_length_is_read_in_full_and_indexed(project: Path) -> None:
    _with_max_length(project, 100_000)
    corpus = project / "corpus"
    _normal_files(corpus)
    write_doc(corpus, "long.txt", _prose(120_000, seed=3))
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    assert "contract.text_too_long" in _states(settings)["docs/long.txt"][1]

    release_document(settings, "docs/long.txt", "an archive kept whole on purpose", released_by="ops")
    embedder = FakeEmbedder()
    report = run_ingestion(settings, embedder)

    long = next(o for o in report.outcomes if o.doc_id == "docs/long.txt")
    assert long.state.value == "indexed"
    assert long.grade is not None and long.chunks
    assert any(_MARKER in text for text in embedder.embedded_texts)
