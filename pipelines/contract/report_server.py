"""Serve `<data_dir>/reports/` on 127.0.0.1, so the contract report links in the Dagster UI open.

A browser will not follow a file:// link from an http page; a small static server on this machine
is the least that works offline. It serves nothing outside the reports folder and binds loopback.
"""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipelines.contract.report import reports_dir
from pipelines.errors import StorageError
from pipelines.settings import Settings


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def start_report_server(settings: Settings, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start serving in a daemon thread; `server.shutdown()` stops it."""
    folder = reports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer((host, settings.reports.port), handler)
    except OSError as err:
        raise StorageError(
            f"Cannot serve the reports on {host}:{settings.reports.port} ({err.strerror or err}). "
            "Set reports.port in corpusgov.yaml to a free port."
        ) from err
    threading.Thread(target=server.serve_forever, name="corpusgov-reports", daemon=True).start()
    return server
