"""The extraction worker's side: `python -m pipelines.document.extraction_worker FD`, started by
pipelines/document/extraction.py with one end of a socket pair as FD.

It reads one request at a time from its pipe and answers with an `Extraction`, an
`ExtractionRefused` or an `OverContractLength`; `None` asks it to exit. Anything a parser raises
becomes `parse.failed` with the error, so the only ways to lose a worker are the limits the parent
enforces (time, memory) or a crash of native code, and the parent turns both into a rejected
document.
"""

import ctypes
import dataclasses
import pickle
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from corpus_quality import detect_language, read_declared_metadata, scan_safety
from corpus_quality.c2pa_evidence import read_c2pa
from corpus_quality.safety import BASIC_KINDS, PII_KINDS, PiiMatch, chunk_pii_flags, find_pii, redact_matches
from pipelines.document.chunking import chunk_document
from pipelines.document.discovery import HTML, PDF
from pipelines.document.extraction import (
    PARSE_FAILED,
    WORKER_READY,
    Extraction,
    ExtractionRefused,
    ExtractionRequest,
    ExtractionResult,
    OverContractLength,
    check_extracted_text,
)
from pipelines.document.parsing import ELEMENT_SEPARATOR, ParseError, parse_document, preload_parsers
from pipelines.stop_points import stop_point


def extract_document(request: ExtractionRequest) -> ExtractionResult:
    """Parse, read declared metadata and C2PA, scan for unsafe content, redact, chunk; or stop
    after the parse when the text is longer than the contract accepts."""
    try:
        parsed = parse_document(request.data, request.mime_type, request.file_name)
    except ParseError as err:
        return ExtractionRefused(PARSE_FAILED, f"the {request.mime_type} file could not be parsed: {err}")
    refused = check_extracted_text(parsed.text, request.limits)
    if refused is not None:
        return refused
    declared = read_declared_metadata(request.data, request.mime_type)
    if request.max_contract_chars is not None and len(parsed.text) > request.max_contract_chars:
        # The contract refuses it on its length: everything after this grows with the text (a
        # 9-million-character file took minutes and gigabytes to assess and embed, to be refused).
        return OverContractLength(
            text_chars=len(parsed.text),
            title=parsed.title,
            declared=declared,
            language=detect_language(parsed.text),
        )
    c2pa = read_c2pa(request.data, request.mime_type)
    # Raw bytes for the formats where text can hide from a reader (CSS, comments, PDF render mode).
    raw = request.data if request.mime_type in (HTML, PDF) else None
    # Under `piiPolicy: redact` every kind is looked for, names with the NER model (loaded in this
    # process on the first such document, run on English text); otherwise the basic kinds the
    # other policies act on.
    if request.redact_pii:
        pii = find_pii(parsed.text, PII_KINDS, language=detect_language(parsed.text))
    else:
        pii = find_pii(parsed.text, BASIC_KINDS)
    flags = scan_safety(parsed.text, raw, request.mime_type, pii=pii)
    elements = parsed.elements
    redacted_kinds: dict[str, int] = {}
    if request.redact_pii and pii:
        # Redact before chunking and embedding: personal data never reaches the index.
        redacted_kinds = _redact_elements(elements, parsed.text, pii)
    chunks = [
        dataclasses.replace(chunk, pii_flags=chunk_pii_flags(chunk.text, pii, bool(redacted_kinds)))
        for chunk in chunk_document(request.doc_id, elements, request.chunking)
    ]
    return Extraction(
        text=parsed.text,
        title=parsed.title,
        declared=declared,
        c2pa=c2pa,
        safety_flags=tuple(flags),
        chunks=tuple(chunks),
        redacted=sum(redacted_kinds.values()),
        redacted_kinds=tuple(sorted(redacted_kinds.items())),
    )


def _redact_elements(elements: list[Any], text: str, pii: Sequence[PiiMatch]) -> dict[str, int]:
    """Replace each of `pii` (found in `text`, the elements' texts joined as parse_document joins
    them) in the element that holds it; return the spans redacted per kind."""
    counts: dict[str, int] = {}
    offset = 0
    for element in elements:
        if not (element.text and element.text.strip()):
            continue
        start, end = offset, offset + len(element.text)
        if text[start:end] != element.text:
            raise RuntimeError("the parsed text does not join its elements as parse_document does")
        inside = [
            dataclasses.replace(m, start=max(m.start, start) - start, end=min(m.end, end) - start)
            for m in pii
            if m.start < end and m.end > start
        ]
        if inside:
            element.text = redact_matches(element.text, inside)
            for match in inside:
                counts[match.kind] = counts.get(match.kind, 0) + 1
        offset = end + len(ELEMENT_SEPARATOR)
    return counts


def serve(connection: Connection) -> None:
    """The worker loop. Exits when the parent says so or goes away."""
    preload_parsers()
    release_free_memory = _free_memory_releaser()
    try:
        connection.send(WORKER_READY)  # the parent starts a file's clock only once the worker is up
    except OSError:
        return
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        stop_point(f"parse.{request.file_name}")  # where a test kills the worker holding a file
        try:
            answer: ExtractionResult = extract_document(request)
        except Exception as err:  # noqa: BLE001 - one bad file must not end the worker
            answer = ExtractionRefused(PARSE_FAILED, f"{type(err).__name__}: {err}"[:300])
        try:
            connection.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            connection.send(ExtractionRefused(PARSE_FAILED, f"unexpected parser output: {err}"[:300]))
        except (BrokenPipeError, OSError):
            return
        del request, answer  # the file's bytes, text and elements: garbage from here on
        release_free_memory()


def _free_memory_releaser() -> Callable[[], object]:
    """glibc keeps the heap a large file freed resident (66 MB after 9 million characters of
    prose), and the worker lives on through the walk, beside the embedding at its peak: after each
    file it is handed back to the system (malloc_trim, about 1 ms). Elsewhere, nothing to do."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


# Optional imports of the parsers' dependencies that the worker never uses, blocked before they
# load: spaCy's thinc imports torch when it is installed (for its torch layers; the blank
# sentencizer pipeline has none), 180 MB of the worker's resident memory for nothing. None in
# sys.modules makes `import torch` raise ImportError, which thinc expects when torch is absent.
UNUSED_IMPORTS = ("torch",)


def block_unused_imports() -> None:
    """Only in the worker process: in the parent, torch may be the embedding backend."""
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the thread that started it ends (the parent's main
    thread: the parent process), even by SIGKILL, so a killed run never leaves a parser running."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the worker exits when it finds its pipe closed


if __name__ == "__main__":
    import os

    block_unused_imports()
    if "--die-with-parent" in sys.argv[2:]:
        _die_with_parent()
        if os.getppid() == 1:
            sys.exit(0)  # the parent died before the line above took effect
    serve(Connection(int(sys.argv[1])))
    # Nothing to save: ending without the interpreter's finalization frees the parsers' hundreds
    # of MB at once (finalizing them outlasted the parent's 2 s wait, with the embedding at its peak).
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
