"""One broken alert sink never silences the others, and never leaks its URL: a URL with a tab, a
space or a line break inside, a server answering a garbage status line, a server cutting its
answer short. Every failure is reported with the sink's name only."""

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.governance.alerts import dispatch_alerts
from tests.conftest import FakeEmbedder
from tests.pipelines.governance.test_alerts_webhook import configure_alerts, ingest_one_violation

TOKEN = "s3cr3t-t0ken"


def _read_request(connection: socket.socket) -> None:
    """Read the whole request (headers and body): a server that closes with unread bytes makes
    the kernel send a reset, and the client would see that instead of the answer under test."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


def _raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 that reads a request and answers with `answer`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    _read_request(connection)
                    answer(connection)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/services/T0/B0/{TOKEN}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.fixture
def garbage_status_url() -> Iterator[str]:
    yield from _raw_server(lambda c: c.sendall(b"HELLO I AM NOT HTTP\r\n\r\n"))


@pytest.fixture
def truncated_body_url() -> Iterator[str]:
    yield from _raw_server(
        lambda c: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nonly a few bytes")
    )


def _sinks(url: str) -> str:
    return (
        f"  - kind: webhook\n    name: team-slack\n    url: {json.dumps(url)}\n"
        "    max_attempts: 2\n    timeout_seconds: 2\n"
        "  - kind: file\n    path: alerts/alerts.jsonl\n"
    )


def _assert_file_got_alerts_and_nothing_leaked(
    project: Path, report_text: str, caplog: pytest.LogCaptureFixture
) -> None:
    lines = (project / "alerts" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(line)["kind"] == "contract_violation" for line in lines)
    assert "team-slack" in report_text
    everything = report_text + caplog.text
    assert TOKEN not in everything and "127.0.0.1" not in everything and "/services/" not in everything


@pytest.mark.parametrize("bad", ["\t", " ", "\n"], ids=["tab", "space", "newline"])
def test_a_webhook_url_with_whitespace_inside_is_refused_by_name(
    project: Path, fake_embedder: FakeEmbedder, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"https://hooks.example.com/services/T0/B0/{TOKEN[:5]}{bad}{TOKEN[5:]}"
    settings = configure_alerts(project, _sinks(url))
    ingest_one_violation(project, fake_embedder)
    report = dispatch_alerts(settings, backoff_seconds=0.01)
    assert report.failures and report.sent == 0 and report.unsent > 0
    assert "space, tab, line break" in report.failures["team-slack"]
    assert TOKEN[:5] not in report.summary() + caplog.text
    _assert_file_got_alerts_and_nothing_leaked(project, report.summary(), caplog)


@pytest.mark.parametrize("server", ["garbage_status_url", "truncated_body_url"])
def test_a_webhook_answering_garbage_fails_alone_and_the_file_sink_still_gets_the_alerts(
    project: Path,
    fake_embedder: FakeEmbedder,
    server: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = request.getfixturevalue(server)
    settings = configure_alerts(project, _sinks(url))
    ingest_one_violation(project, fake_embedder)
    report = dispatch_alerts(settings, backoff_seconds=0.01)
    assert set(report.failures) == {"team-slack"}
    assert "bad answer from the server" in report.failures["team-slack"]
    _assert_file_got_alerts_and_nothing_leaked(project, report.summary(), caplog)
    # Not recorded as sent: the next evaluation tries again.
    assert dispatch_alerts(settings, backoff_seconds=0.01).unsent == report.unsent


def test_any_exception_from_a_sink_is_reported_with_its_name_only(
    project: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configure_alerts(project, _sinks(f"https://hooks.example.com/x/{TOKEN}"))
    ingest_one_violation(project, fake_embedder)

    def explode(*_args: object) -> None:
        raise KeyError(f"https://hooks.example.com/x/{TOKEN}")

    monkeypatch.setattr("pipelines.governance.alert_sinks.WebhookSink.send", explode)
    report = dispatch_alerts(settings, backoff_seconds=0.01)
    assert report.failures["team-slack"].startswith("team-slack failed unexpectedly (KeyError)")
    assert TOKEN not in report.summary()
    assert (project / "alerts" / "alerts.jsonl").exists()
