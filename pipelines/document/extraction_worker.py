"""The extraction worker's side: `python -m pipelines.document.extraction_worker FD`, started by
pipelines/document/extraction.py with one end of a socket pair as FD.

It reads one request at a time from its pipe and answers with an `Extraction`, an
`ExtractionRefused` or an `OverContractLength`; `None` asks it to exit. Anything a parser raises
becomes `parse.failed` with the error, so the only ways to lose a worker are the limits the parent
enforces (time, memory) or a crash of native code, and the parent turns both into a rejected
document.
"""

import pickle
import sys
from multiprocessing.connection import Connection

from corpus_quality import detect_language, read_declared_metadata, redact_pii, scan_safety
from corpus_quality.c2pa_evidence import read_c2pa
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
from pipelines.document.parsing import ParseError, parse_document, preload_parsers
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
    flags = scan_safety(parsed.text, raw, request.mime_type)
    redacted = 0
    elements = parsed.elements
    if request.redact_pii and any(f.code.startswith("safety.pii_") for f in flags):
        # Redact before chunking and embedding: personal data never reaches the index.
        for element in elements:
            if element.text:
                element.text, count = redact_pii(element.text)
                redacted += count
    chunks = chunk_document(request.doc_id, elements, request.chunking)
    return Extraction(
        text=parsed.text,
        title=parsed.title,
        declared=declared,
        c2pa=c2pa,
        safety_flags=tuple(flags),
        chunks=tuple(chunks),
        redacted=redacted,
    )


def serve(connection: Connection) -> None:
    """The worker loop. Exits when the parent says so or goes away."""
    preload_parsers()
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
