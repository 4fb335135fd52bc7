"""Parse: bytes to text elements with unstructured, offline.

unstructured downloads a spaCy model on first use, which fails without network. It reaches spaCy only
through `unstructured.nlp.tokenize`, so we hand it a blank pipeline with a sentencizer: the same
titles, lists, tables and chunks, five times faster; only NarrativeText vs Text labels differ
(measured on 50 Python-doc pages: 2.7 s instead of 13.4 s).
"""

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from pipelines.document.discovery import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT, decode_text

PARSER_ID = f"unstructured-{version('unstructured')};pdf=fast;spacy=blank-sentencizer"
# The document's text is its elements' texts (the blank ones left out) joined by this: offsets in
# it map back to the elements (the extraction worker redacts the elements by them).
ELEMENT_SEPARATOR = "\n\n"


class ParseError(Exception):
    """A file whose format we support but whose content cannot be parsed (corrupt, truncated)."""


@dataclass(frozen=True)
class ParsedDocument:
    text: str
    elements: list[Any]  # unstructured Elements, kept for chunk_by_title
    title: str | None


@lru_cache(maxsize=1)
def use_offline_sentence_splitter() -> None:
    import spacy
    import unstructured.nlp.tokenize as tokenize

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    tokenize._get_nlp = lambda: nlp  # type: ignore[assignment]  # looked up at call time


def preload_parsers() -> None:
    """Import the partitioners a worker needs for most files (PDF's, 3 s more, on first use)."""
    use_offline_sentence_splitter()
    import unstructured.chunking.title  # noqa: F401
    import unstructured.partition.docx  # noqa: F401
    import unstructured.partition.html  # noqa: F401
    import unstructured.partition.md  # noqa: F401
    import unstructured.partition.text  # noqa: F401


def parse_document(data: bytes, mime_type: str, file_name: str) -> ParsedDocument:
    """Partition `data` into elements. Raises ParseError when the file is corrupt."""
    use_offline_sentence_splitter()
    try:
        elements = _partition(data, mime_type)
    except ParseError:
        raise
    except Exception as err:  # noqa: BLE001 - every parser failure becomes a recorded rejection
        raise ParseError(f"{type(err).__name__}: {err}"[:300]) from err
    text = ELEMENT_SEPARATOR.join(e.text for e in elements if e.text and e.text.strip())
    title = next((e.text.strip() for e in elements if e.category == "Title" and e.text.strip()), None)
    return ParsedDocument(text=text, elements=elements, title=title)


def _no_language_detection() -> list[str]:
    """unstructured runs langdetect over the whole text of every file to fill each element's
    metadata.languages, which nothing here reads: the run detects a document's language once, on
    a window of its text (corpus_quality/language.py). [""] is unstructured's "skip detection"; it
    was a fifth of the parse time of an HTML page. (For PDFs unstructured reads it as "English",
    as before.) A new list each call: unstructured rewrites the one it is given."""
    return [""]


def _partition(data: bytes, mime_type: str) -> list[Any]:
    from io import BytesIO

    if mime_type == HTML:
        from unstructured.partition.html import partition_html

        return partition_html(text=decode_text(data), languages=_no_language_detection())
    if mime_type == MARKDOWN:
        from unstructured.partition.md import partition_md

        return partition_md(text=_strip_front_matter(decode_text(data)), languages=_no_language_detection())
    if mime_type == PLAIN_TEXT:
        from unstructured.partition.text import partition_text

        return partition_text(text=decode_text(data), languages=_no_language_detection())
    if mime_type == PDF:
        from unstructured.partition.pdf import partition_pdf

        _check_pdf_structure(data)
        return partition_pdf(file=BytesIO(data), strategy="fast", languages=_no_language_detection())
    if mime_type == DOCX:
        from unstructured.partition.docx import partition_docx

        return partition_docx(file=BytesIO(data), languages=_no_language_detection())
    raise ParseError(f"no parser for {mime_type}")


def _check_pdf_structure(data: bytes) -> None:
    """partition_pdf returns no elements, without an error, for a truncated PDF: ask pypdf first."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = len(PdfReader(BytesIO(data), strict=False).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        raise ParseError(f"corrupt PDF: {err}") from err
    if pages == 0:
        raise ParseError("the PDF has no pages")


def _strip_front_matter(text: str) -> str:
    """YAML front matter is metadata (read by corpus_quality), not body text to embed."""
    if not text.startswith("---"):
        return text
    end = text.find("\n---", 3)
    if end == -1:
        return text
    after = text.find("\n", end + 4)
    return text[after + 1 :] if after != -1 else ""
