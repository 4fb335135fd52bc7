"""Alert delivery against a real HTTP server on 127.0.0.1: one Slack-compatible post per batch, a
JSONL line per alert, retries with backoff, once per violation, and the URL never leaked."""

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.governance.alerts import dispatch_alerts
from pipelines.run.ingestion import run_ingestion
from pipelines.settings import Settings, load_settings
from tests.conftest import FakeEmbedder, procedure_text, write_doc

SECRET_PATH = "/services/T000/B000/s3cr3t-token"


@dataclass
class Hook:
    """A webhook receiver: records every POST body and answers 500 while `failures_left` > 0,
    302 to another path of its own while `redirects_left` > 0; counts the GETs it receives."""

    url: str
    bodies: list[dict] = field(default_factory=list)
    attempts: int = 0
    failures_left: int = 0
    redirects_left: int = 0
    gets: int = 0


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state.attempts += 1
                redirecting = state.redirects_left > 0
                failing = not redirecting and state.failures_left > 0
                if redirecting:
                    state.redirects_left -= 1
                elif failing:
                    state.failures_left -= 1
                else:
                    state.bodies.append(json.loads(body))
            if redirecting:
                self.send_response(302)
                self.send_header("Location", "/moved" + SECRET_PATH)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(500 if failing else 200)
            self.end_headers()
            self.wfile.write(b"error" if failing else b"ok")

        def do_GET(self) -> None:
            with lock:
                state.gets += 1
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def configure_alerts(project: Path, sinks: str) -> Settings:
    config = project / "corpusgov.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "alerts:\n" + sinks, encoding="utf-8")
    return load_settings()


def webhook_and_file(url: str, max_attempts: int = 4) -> str:
    return (
        f"  - kind: webhook\n    url: '{url}'\n    max_attempts: {max_attempts}\n"
        "    timeout_seconds: 5\n"
        "  - kind: file\n    path: alerts/alerts.jsonl\n"
    )


def ingest_one_violation(project: Path, embedder: FakeEmbedder) -> None:
    write_doc(project / "corpus", "receiving.md", procedure_text("receiving"))
    write_doc(project / "corpus", "tiny.md", "# Hi\n\nok\n")  # under the default 40 characters
    run_ingestion(load_settings(), embedder)


def jsonl_lines(project: Path) -> list[dict]:
    path = project / "alerts" / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_quarantined_document_alerts_once_to_every_sink(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook
) -> None:
    settings = configure_alerts(project, webhook_and_file(hook.url))
    ingest_one_violation(project, fake_embedder)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert (report.sent, report.skipped_already_sent, report.failures) == (1, 0, {})
    assert len(hook.bodies) == 1
    text = hook.bodies[0]["text"]
    assert "1 new alert" in text and "docs/tiny.md" in text and "contract.text_too_short" in text
    [line] = jsonl_lines(project)
    assert line["kind"] == "contract_violation"
    assert (line["source"], line["doc_id"], line["reason"], line["contract_version"]) == (
        "docs",
        "docs/tiny.md",
        "contract.text_too_short",
        "1.0.0",
    )
    assert line["sent_at"] and "docs/tiny.md" in line["message"]

    again = dispatch_alerts(settings, backoff_seconds=0.01)

    assert (again.sent, again.skipped_already_sent) == (0, 1)
    assert len(hook.bodies) == 1 and len(jsonl_lines(project)) == 1
    assert again.summary() == "No new violations; 1 already sent."


def test_a_standing_violation_is_not_alerted_again_after_another_run(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook
) -> None:
    settings = configure_alerts(project, webhook_and_file(hook.url))
    ingest_one_violation(project, fake_embedder)
    dispatch_alerts(settings, backoff_seconds=0.01)
    write_doc(project / "corpus", "returns.md", procedure_text("returns"))
    run_ingestion(settings, fake_embedder)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 0 and len(hook.bodies) == 1


def test_many_violations_make_one_post_with_a_count(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook
) -> None:
    settings = configure_alerts(project, webhook_and_file(hook.url))
    for i in range(25):
        write_doc(project / "corpus", f"tiny/{i:02d}.md", f"# Note {i}\n\nshort\n")
    run_ingestion(settings, fake_embedder)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 25
    assert len(hook.bodies) == 1
    text = hook.bodies[0]["text"]
    assert "25 new alerts" in text and "and 5 more" in text
    assert len(jsonl_lines(project)) == 25


def test_a_webhook_answering_500_twice_is_retried_until_it_accepts(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook
) -> None:
    settings = configure_alerts(project, webhook_and_file(hook.url))
    ingest_one_violation(project, fake_embedder)
    hook.failures_left = 2

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 1 and report.failures == {}
    assert hook.attempts == 3 and len(hook.bodies) == 1


def test_a_webhook_that_never_accepts_leaves_the_alert_unsent_and_the_url_unlogged(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    settings = configure_alerts(project, webhook_and_file(hook.url, max_attempts=3))
    ingest_one_violation(project, fake_embedder)
    hook.failures_left = 100
    caplog.set_level(logging.DEBUG)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 0 and report.unsent == 1
    assert hook.attempts == 3
    assert "HTTP 500" in report.failures["webhook #1"]
    for leak in (SECRET_PATH, "s3cr3t", hook.url):
        assert leak not in str(report) and leak not in report.summary()
        assert leak not in caplog.text
    assert "webhook #1" in caplog.text

    hook.failures_left = 0
    retried = dispatch_alerts(settings, backoff_seconds=0.01)

    assert retried.sent == 1 and len(hook.bodies) == 1


def test_a_webhook_answering_302_is_a_failed_delivery_retried_and_never_sent_as_a_get(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    # urllib follows a 302 by re-sending the POST as a GET without its body: the server would
    # answer 200 to that GET and the alert would be recorded as sent, though nobody received it.
    settings = configure_alerts(project, webhook_and_file(hook.url, max_attempts=3))
    ingest_one_violation(project, fake_embedder)
    hook.redirects_left = 100
    caplog.set_level(logging.DEBUG)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 0 and report.unsent == 1
    assert hook.attempts == 3 and hook.gets == 0 and hook.bodies == []
    assert "HTTP 302" in report.failures["webhook #1"] and "redirect" in report.failures["webhook #1"]
    assert "/moved" not in str(report) and SECRET_PATH not in caplog.text

    hook.redirects_left = 1  # a passing redirect: retried like a 5xx, then accepted
    retried = dispatch_alerts(settings, backoff_seconds=0.01)

    assert retried.sent == 1 and len(hook.bodies) == 1 and hook.gets == 0


def test_a_webhook_nobody_listens_on_fails_without_naming_the_url(
    project: Path, fake_embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 9 (discard) on loopback: connection refused, retried, then given up.
    url = f"http://127.0.0.1:9{SECRET_PATH}"
    settings = configure_alerts(
        project, f"  - kind: webhook\n    name: ops\n    url: '{url}'\n    max_attempts: 2\n"
    )
    ingest_one_violation(project, fake_embedder)
    caplog.set_level(logging.DEBUG)

    report = dispatch_alerts(settings, backoff_seconds=0.01)

    assert report.sent == 0 and "connection failed" in report.failures["ops"]
    assert SECRET_PATH not in str(report) and SECRET_PATH not in caplog.text


def test_a_webhook_url_from_an_environment_variable_is_resolved_when_sending(
    project: Path, fake_embedder: FakeEmbedder, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configure_alerts(project, webhook_and_file("${CORPUSGOV_TEST_HOOK}"))
    ingest_one_violation(project, fake_embedder)
    monkeypatch.delenv("CORPUSGOV_TEST_HOOK", raising=False)

    missing = dispatch_alerts(settings, backoff_seconds=0.01)

    assert missing.sent == 0 and hook.attempts == 0
    assert "CORPUSGOV_TEST_HOOK" in missing.failures["webhook #1"]
    assert "not set" in missing.failures["webhook #1"]

    monkeypatch.setenv("CORPUSGOV_TEST_HOOK", hook.url)
    resolved = dispatch_alerts(settings, backoff_seconds=0.01)

    assert resolved.sent == 1 and len(hook.bodies) == 1
    assert SECRET_PATH not in str(resolved)
