"""One hostile file never stops its source: each is a rejected document with a reason, the normal
files beside it are indexed, and the run finishes in seconds, not minutes. The files are the ones
from the field report: a zip-bomb DOCX, a 200 MB text file, a symlink loop, a file name that is not
UTF-8; and parsers held to their time and memory budgets."""

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from pipelines.governance.catalog import list_documents
from pipelines.ledger import DocumentRow, Ledger
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import load_settings
from tests.conftest import DEFAULT_CONTRACT, FakeEmbedder, procedure_text, use_contract, write_doc
from tests.pipelines.store_invariants import assert_invariants

_DOCUMENT_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_PARAGRAPH = "<w:p><w:r><w:t>lorem ipsum dolor sit amet</w:t></w:r></w:p>"


def zip_bomb_docx(unpacked_mb: int = 77) -> bytes:
    """A valid DOCX whose word/document.xml unpacks to `unpacked_mb` MB of paragraphs."""
    repeats = unpacked_mb * 1024 * 1024 // len(_PARAGRAPH)
    body = _DOCUMENT_XML_HEAD + _PARAGRAPH * repeats + "</w:body></w:document>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", body)
    return out.getvalue()


def _with_limits(project: Path, limits: str) -> None:
    """The default contract plus a `limits` custom property, as the source's contract."""
    contract = DEFAULT_CONTRACT.read_text(encoding="utf-8")
    use_contract(project, contract + f"  - property: limits\n    value: {limits}\n", "limited.odcs.yaml")


def _states(settings) -> dict[str, tuple[str, list[str]]]:  # noqa: ANN001
    return {r["doc_id"]: (r["state"], r["reasons"]) for r in list_documents(settings)}


def _normal_files(corpus: Path) -> None:
    write_doc(corpus, "receiving.md", procedure_text("receiving"))
    write_doc(corpus, "dispatch.md", procedure_text("dispatch"))


def test_hostile_files_are_rejected_and_the_rest_of_the_source_is_indexed(project: Path) -> None:
    corpus = project / "corpus"
    _normal_files(corpus)
    (corpus / "bomb.docx").write_bytes(zip_bomb_docx())
    with (corpus / "huge.txt").open("wb") as huge:
        line = b"the quick brown fox jumps over the lazy dog again and again\n"
        for _ in range(200 * 1024 * 1024 // len(line) + 1):
            huge.write(line)
    os.symlink("loop_b.md", corpus / "loop_a.md")
    os.symlink("loop_a.md", corpus / "loop_b.md")
    fd = os.open(os.fsencode(corpus) + b"/r\xe9sum\xe9-latin1.md", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, procedure_text("latin-1 named file").encode())
    os.close(fd)

    settings = load_settings()
    started = time.monotonic()
    run_ingestion(settings, FakeEmbedder())
    elapsed = time.monotonic() - started

    states = _states(settings)
    assert states["docs/receiving.md"][0] == "indexed"
    assert states["docs/dispatch.md"][0] == "indexed"
    assert states["docs/bomb.docx"] == ("rejected", ["parse.limit_exceeded"])
    assert states["docs/huge.txt"] == ("rejected", ["discover.too_large"])
    assert states["docs/loop_a.md"] == ("rejected", ["discover.symlink_loop"])
    assert states["docs/loop_b.md"] == ("rejected", ["discover.symlink_loop"])
    assert states["docs/r\\xe9sum\\xe9-latin1.md"] == ("rejected", ["discover.invalid_file_name"])
    # Seconds, not the minutes the field report measured (the bomb alone ran 7+ minutes).
    assert elapsed < 120, f"the run took {elapsed:.0f} s"
    # The same hostile files again: recognised as unchanged, nothing re-read.
    again = run_ingestion(settings, FakeEmbedder())
    assert not again.changed


def test_the_details_say_which_limit_and_where_to_change_it(project: Path) -> None:
    corpus = project / "corpus"
    _normal_files(corpus)
    (corpus / "bomb.docx").write_bytes(zip_bomb_docx(8))
    write_doc(corpus, "long.txt", "a plain sentence of the manual. " * 40_000)
    _with_limits(project, "{maxTextChars: 500000, maxFileBytes: 2000000}")
    settings = load_settings()
    run_ingestion(settings, FakeEmbedder())
    rows = {r.doc_id: r for r in settings_rows(settings)}
    assert rows["docs/long.txt"].reasons == ("parse.limit_exceeded",)
    assert "limits.maxTextChars" in (rows["docs/long.txt"].detail or "")
    assert rows["docs/bomb.docx"].reasons == ("parse.limit_exceeded",)
    assert "zip bomb" in (rows["docs/bomb.docx"].detail or "")
    assert rows["docs/receiving.md"].state == "indexed"


def settings_rows(settings) -> list[DocumentRow]:  # noqa: ANN001
    return Ledger.of(settings).document_rows()


@pytest.mark.fleet  # kills the parser over its budget, then waits for a new one (~15 s each)
@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (
            "{maxCompressionRatio: 100000, maxUnpackedBytes: 1000000000, maxParseSeconds: 2}",
            "longer than 2 s",
        ),
        (
            "{maxCompressionRatio: 100000, maxUnpackedBytes: 1000000000, maxParseSeconds: 600, "
            "maxParseMemoryBytes: 700000000}",
            "more than 667.6 MiB",
        ),
    ],
    ids=["wall-clock", "memory"],
)
def test_a_parser_over_its_time_or_memory_budget_is_stopped(
    project: Path, limits: str, expected: str
) -> None:
    """The zip checks switched off: the bomb reaches the parser, which the worker's budget stops."""
    corpus = project / "corpus"
    _normal_files(corpus)
    (corpus / "bomb.docx").write_bytes(zip_bomb_docx(40))
    _with_limits(project, limits)
    settings = load_settings()
    started = time.monotonic()
    run_ingestion(settings, FakeEmbedder())
    assert time.monotonic() - started < 120
    rows = {r.doc_id: r for r in settings_rows(settings)}
    assert rows["docs/bomb.docx"].reasons == ("parse.limit_exceeded",)
    assert expected in (rows["docs/bomb.docx"].detail or "")
    # The worker was replaced: the files after the bomb still parse.
    write_doc(corpus, "zz_after.md", procedure_text("after the bomb"))
    run_ingestion(settings, FakeEmbedder())
    assert _states(settings)["docs/zz_after.md"][0] == "indexed"
    assert_invariants(settings, corpus)


def test_unreadable_limits_in_a_contract_are_lint_errors(project: Path) -> None:
    from contracts import lint_contract

    _with_limits(project, "{maxFileBytes: -1, maxParseSecond: 3}")
    problems = lint_contract(project / "limited.odcs.yaml")
    messages = " ".join(f"{p.field} {p.message}" for p in problems)
    assert "maxFileBytes" in messages and "not a positive whole number" in messages
    assert "unknown limit 'maxParseSecond'" in messages
