"""The parser worker holds the parsers, not the embedding model's libraries: spaCy's thinc would
import torch when it is installed (180 MB of the worker's resident memory on the sample setup, see
bench/README.md), and the worker never runs a torch layer. Tested on a real worker process that
parsed a file of each kind that goes through spaCy, with the same elements as a parse in a process
that has torch."""

import os
from pathlib import Path

from contracts import ChunkingPolicy
from contracts.document_contract import FileLimits
from pipelines.document.discovery import HTML, MARKDOWN
from pipelines.document.extraction import Extraction, ExtractionRequest, ExtractionWorker
from pipelines.document.extraction_worker import extract_document
from tests.conftest import procedure_text


def _worker_pids() -> list[int]:
    """This process's extraction workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"extraction_worker" in cmdline:
            found.append(int(entry.name))
    return found


def test_the_parser_worker_parses_as_before_without_loading_torch() -> None:
    html = f"<html><body><h1>Receiving</h1><p>{procedure_text('receiving')}</p></body></html>"
    files = {"receiving.md": (MARKDOWN, procedure_text("receiving")), "receiving.html": (HTML, html)}
    others = set(_worker_pids())  # the session's shared worker, if a test before this one started it
    worker = ExtractionWorker()
    try:
        for name, (mime_type, text) in files.items():
            request = ExtractionRequest(
                f"sample/{name}", text.encode(), mime_type, name, FileLimits(), ChunkingPolicy(), True
            )
            in_worker = worker.extract(request)
            assert isinstance(in_worker, Extraction)
            # Here torch may be imported (the test session's own modules): the same chunks.
            assert in_worker == extract_document(request)
        [pid] = set(_worker_pids()) - others
        libraries = Path(f"/proc/{pid}/maps").read_text()
        assert "libtorch" not in libraries, "the parser worker loaded torch"
    finally:
        worker.close()
