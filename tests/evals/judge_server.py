"""A fake OpenAI-compatible judge for ragas 0.4.3's LLM metrics: deterministic, offline, on 127.0.0.1.

`FakeJudgeServer` answers POST /v1/chat/completions the way a real judge model would answer the
prompts of Faithfulness, ResponseRelevancy, LLMContextPrecisionWithReference and LLMContextRecall,
but decides every verdict by word overlap, so a test can compute the expected score by hand.

Reading a prompt. ragas renders a `PydanticPrompt` as its instruction, the output JSON schema, the
few-shot examples, then "Now perform the same with the following input\\ninput: {json}\\nOutput: ".
The prompt is recognised by the start of its instruction (the first thing in the text), and its
input is the JSON after the LAST "...following input\\ninput: " marker (the examples come earlier)
up to the final "\\nOutput: ". The prompt text of a request is the `content` of its messages
joined by newlines (a string, or the "text" of a list of {"type": "text"} parts); ragas sends one
user message.

Words. content_words(text) = the lowercase tokens matching [a-z0-9]+ of 4 characters or more,
minus STOPWORDS. overlap(a, b) = the share of a's content words (as a set) found among b's, 1.0 when
a has none. supported(s, context) = 1 if overlap(s, context) >= 0.6 else 0. sentences(text) = text
split after ".", "!" or "?" followed by whitespace, stripped, empties dropped.

Verdicts, per prompt (input fields -> output JSON):
- StatementGeneratorPrompt {question, answer} -> {"statements": sentences(answer)}
- NLIStatementPrompt {context, statements} -> {"statements": [{statement, reason,
  verdict: supported(statement, context)}]}
- ResponseRelevancePrompt {response} -> {"question": response, "noncommittal": 1 if the lowercased
  response contains "i don't know", "not sure" or "cannot answer" else 0}
- ContextPrecisionPrompt {question, context, answer} -> {reason, "verdict": 1 if
  overlap(answer, context) >= 0.5 else 0}
- ContextRecallClassificationPrompt {question, context, answer} -> {"classifications":
  [{statement: s, reason, attributed: supported(s, context)} for s in sentences(answer)]}
- anything else (ragas' FixOutputFormat retry prompt included) -> HTTP 400 naming the prompt.

A request passes these gates in order: an injected hang (`hang_next`), an injected failure
(`fail_next`), the bearer key (401), the model name (404), a marker failure (`fail_when`), then the
judge. Every answer has `n` identical choices (ragas asks ChatOpenAI for n=3 questions at once in
ResponseRelevancy). 429s carry "Retry-After: 0" and "retry-after-ms: 10": the openai client ignores
a zero Retry-After and backs off ~0.5 s instead, while the millisecond header makes it retry at once.
"""

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

STOPWORDS: frozenset[str] = frozenset(
    {
        "that", "this", "with", "from", "have", "they", "will", "their", "there", "which", "what",
        "when", "where", "your", "into", "than", "then", "them", "been", "were", "also", "only",
        "must", "does",
    }
)  # fmt: skip
SUPPORT_THRESHOLD = 0.6
USEFUL_CONTEXT_THRESHOLD = 0.5
NONCOMMITTAL_PHRASES: tuple[str, ...] = ("i don't know", "not sure", "cannot answer")
INPUT_MARKER = "Now perform the same with the following input\ninput: "
OUTPUT_MARKER = "\nOutput: "
COMPLETIONS_PATH = "/v1/chat/completions"

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")

JSONObject = dict[str, Any]


def content_words(text: str) -> set[str]:
    """The words that carry meaning: lowercase [a-z0-9]+ tokens of 4+ characters, minus STOPWORDS."""
    return {word for word in _WORD.findall(text.lower()) if len(word) >= 4 and word not in STOPWORDS}


def overlap(a: str, b: str) -> float:
    """Share of a's content words found among b's; 1.0 when a has none (nothing to contradict)."""
    words = content_words(a)
    if not words:
        return 1.0
    return len(words & content_words(b)) / len(words)


def sentences(text: str) -> list[str]:
    """The text split after sentence-ending punctuation followed by whitespace, empties dropped."""
    return [part.strip() for part in _SENTENCE_BREAK.split(text) if part.strip()]


def supported(statement: str, context: str) -> int:
    """1 if at least 60% of the statement's content words appear in the context, else 0."""
    return 1 if overlap(statement, context) >= SUPPORT_THRESHOLD else 0


def _overlap_reason(statement: str, context: str) -> str:
    return f"{overlap(statement, context):.0%} of the statement's content words appear in the context."


def _statements(data: JSONObject) -> JSONObject:
    return {"statements": sentences(data["answer"])}


def _nli_verdicts(data: JSONObject) -> JSONObject:
    context: str = data["context"]
    return {
        "statements": [
            {"statement": s, "reason": _overlap_reason(s, context), "verdict": supported(s, context)}
            for s in data["statements"]
        ]
    }


def _response_question(data: JSONObject) -> JSONObject:
    response: str = data["response"]
    evasive = any(phrase in response.lower() for phrase in NONCOMMITTAL_PHRASES)
    # The response itself stands in for the generated question: relevancy then measures how close
    # the answer's words are to the user's question under the test's embeddings.
    return {"question": response, "noncommittal": 1 if evasive else 0}


def _context_usefulness(data: JSONObject) -> JSONObject:
    answer, context = data["answer"], data["context"]
    useful = overlap(answer, context) >= USEFUL_CONTEXT_THRESHOLD
    return {"reason": _overlap_reason(answer, context), "verdict": 1 if useful else 0}


def _recall_classifications(data: JSONObject) -> JSONObject:
    context: str = data["context"]
    return {
        "classifications": [
            {"statement": s, "reason": _overlap_reason(s, context), "attributed": supported(s, context)}
            for s in sentences(data["answer"])
        ]
    }


# Each ragas prompt is known by the start of its instruction (ragas 0.4.3, English).
JUDGES: dict[str, tuple[str, Callable[[JSONObject], JSONObject]]] = {
    "Given a question and an answer, analyze the complexity of each sentence in the answer": (
        "StatementGeneratorPrompt",
        _statements,
    ),
    "Your task is to judge the faithfulness of a series of statements based on a given context": (
        "NLIStatementPrompt",
        _nli_verdicts,
    ),
    "Generate a question for the given answer and Identify if answer is noncommittal": (
        "ResponseRelevancePrompt",
        _response_question,
    ),
    "Given question, answer and context verify if the context was useful in arriving at the given answer": (
        "ContextPrecisionPrompt",
        _context_usefulness,
    ),
    "Given a context, and an answer, analyze each sentence in the answer and classify": (
        "ContextRecallClassificationPrompt",
        _recall_classifications,
    ),
}


class JudgeError(Exception):
    """A request the server refuses, carried to the handler as an OpenAI-style error response."""

    def __init__(self, status: int, message: str, code: str, error_type: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.error_type = error_type


def judge_prompt(prompt: str) -> str:
    """The assistant's answer (JSON text) to one ragas prompt; JudgeError(400) if it is not one."""
    head = prompt.lstrip()
    for instruction, (name, judge) in JUDGES.items():
        if head.startswith(instruction):
            start = prompt.rfind(INPUT_MARKER)
            end = prompt.rfind(OUTPUT_MARKER)
            if start < 0 or end < start:
                raise JudgeError(400, f"{name}: no input JSON after the last input marker", "no_input")
            try:
                data = json.loads(prompt[start + len(INPUT_MARKER) : end])
                return json.dumps(judge(data))
            except (ValueError, KeyError, TypeError) as err:
                raise JudgeError(400, f"{name}: unreadable input ({err!r})", "bad_input") from err
    first_line = head.split("\n", 1)[0][:120]
    raise JudgeError(400, f"prompt not recognised by the fake judge: {first_line!r}", "unrecognised_prompt")


def prompt_text(messages: list[Any]) -> str:
    """The `content` of every message joined by newlines; list contents contribute their text parts."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(
                part["text"]
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
    return "\n".join(texts)


# What an injected status looks like in the error body: (type, code), close to OpenAI's own.
_FAILURE_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "bad_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout", "request_timeout"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "overloaded"),
}


def injected_failure(status: int, why: str) -> JudgeError:
    error_type, code = _FAILURE_KINDS.get(
        status, ("server_error" if status >= 500 else "api_error", "injected")
    )
    return JudgeError(status, f"injected HTTP {status} ({why})", code, error_type)


def completion_body(model: str, prompt: str, content: str, n: int) -> JSONObject:
    """A chat.completion object with `n` identical choices; token counts are whitespace words."""
    prompt_tokens, completion_tokens = len(prompt.split()), len(content.split()) * n
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
            for i in range(n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _JudgeHTTPServer(ThreadingHTTPServer):
    # Handler threads are joined on close (hangs wake on stop), so no thread outlives stop().
    daemon_threads = False
    block_on_close = True

    def __init__(self, judge: "FakeJudgeServer") -> None:
        super().__init__(("127.0.0.1", 0), _JudgeHandler)
        self.judge = judge


class _JudgeHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive thread holds up stop().
    protocol_version = "HTTP/1.0"
    timeout = 5  # a client that connects and sends nothing cannot block stop() for longer

    def do_POST(self) -> None:
        judge = cast(_JudgeHTTPServer, self.server).judge
        if self.path.split("?", 1)[0] != COMPLETIONS_PATH:
            self._send_error(JudgeError(404, f"unknown path {self.path}", "unknown_url"))
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, payload = judge._respond(raw, self.headers.get("Authorization", ""))
        except JudgeError as err:
            self._send_error(err)
            return
        except Exception as err:  # a bug in the fake itself: show it to the client, not as a hang-up
            self._send_error(
                JudgeError(500, f"the fake judge crashed: {err!r}", "judge_crashed", "server_error")
            )
            return
        if status is None:  # the server stopped while this request hung: drop it unanswered
            self.close_connection = True
            return
        self._send_json(status, payload, {})

    def _send_error(self, err: JudgeError) -> None:
        headers = {"Retry-After": "0", "retry-after-ms": "10"} if err.status == 429 else {}
        self._send_json(
            err.status, {"error": {"message": err.message, "type": err.error_type, "code": err.code}}, headers
        )

    def _send_json(self, status: int, payload: JSONObject | None, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nobody is left to tell

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request on stderr would drown the test output


class FakeJudgeServer:
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1 (random free port), in a
    background thread (ThreadingHTTPServer), that judges ragas prompts by word overlap."""

    def __init__(self, api_key: str = "test-judge-key", model: str = "fake-judge") -> None:
        self.api_key = api_key
        self.model = model
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._answered = 0
        self._received = 0
        self._prompts: list[str] = []
        self._failures: deque[int] = deque()
        self._hangs: deque[float] = deque()
        self._markers: dict[str, int] = {}
        self._garbled: set[str] = set()
        self._http: _JudgeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._http is None:
            raise RuntimeError("FakeJudgeServer is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    @property
    def answered(self) -> int:
        """Chat completion requests answered with 200 (counted as the answer is sent, so a hung
        request answered after its client timed out counts too)."""
        with self._lock:
            return self._answered

    @property
    def received(self) -> int:
        """Chat completion requests received, whatever their outcome."""
        with self._lock:
            return self._received

    @property
    def prompts(self) -> list[str]:
        """The prompt text of every request received, in order (a copy)."""
        with self._lock:
            return list(self._prompts)

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` requests get HTTP `status` with an OpenAI-style error body."""
        if not 400 <= status <= 599 or times < 1:
            raise ValueError(f"fail_next needs a 4xx/5xx status and times >= 1, got {status}, {times}")
        with self._lock:
            self._failures.extend([status] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """The next `times` requests wait `seconds` before being answered as usual."""
        if seconds < 0 or times < 1:
            raise ValueError(f"hang_next needs seconds >= 0 and times >= 1, got {seconds}, {times}")
        with self._lock:
            self._hangs.extend([seconds] * times)

    def fail_when(self, marker: str, status: int) -> None:
        """Every request whose prompt text contains `marker` gets HTTP `status`, from now on."""
        if not 400 <= status <= 599 or not marker:
            raise ValueError(f"fail_when needs a marker and a 4xx/5xx status, got {marker!r}, {status}")
        with self._lock:
            self._markers[marker] = status

    def garble_when(self, marker: str) -> None:
        """Every request whose prompt contains `marker` gets a 200 whose content is not JSON, as
        a small model's rambling reply would be (ragas cannot parse it)."""
        with self._lock:
            self._garbled.add(marker)

    def clear_faults(self) -> None:
        """Forget every fail_when and garble_when marker: the judge is healthy again."""
        with self._lock:
            self._markers.clear()
            self._garbled.clear()

    def _respond(self, raw: bytes, authorization: str) -> tuple[int | None, JSONObject | None]:
        """Judge one request body: (200, chat.completion) or JudgeError for any refusal.

        A None status means the server stopped while the request hung: it gets no answer."""
        try:
            request = json.loads(raw or b"null")
        except ValueError:
            request = None
        messages = request.get("messages") if isinstance(request, dict) else None
        prompt = prompt_text(messages) if isinstance(messages, list) else ""
        with self._lock:
            self._received += 1
            self._prompts.append(prompt)
            hang = self._hangs.popleft() if self._hangs else None
            failure = self._failures.popleft() if self._failures else None
        if hang is not None and self._stopping.wait(hang):
            return None, None
        if failure is not None:
            raise injected_failure(failure, "fail_next")
        if not isinstance(request, dict) or not isinstance(messages, list):
            raise JudgeError(400, "the body must be a JSON object with a 'messages' list", "invalid_body")
        payload = self._judge(request, prompt, authorization)
        with self._lock:
            self._answered += 1
        return 200, payload

    def _judge(self, request: JSONObject, prompt: str, authorization: str) -> JSONObject:
        if authorization != f"Bearer {self.api_key}":
            raise JudgeError(401, "Incorrect API key provided.", "invalid_api_key")
        model = request.get("model")
        if model != self.model:
            raise JudgeError(
                404,
                f"The model {model!r} does not exist; this judge serves {self.model!r}.",
                "model_not_found",
            )
        with self._lock:
            marked = [status for marker, status in self._markers.items() if marker in prompt]
        if marked:
            raise injected_failure(marked[0], "fail_when")
        n = request.get("n") or 1
        if not isinstance(n, int) or n < 1:
            raise JudgeError(400, f"'n' must be a positive integer, got {n!r}", "invalid_n")
        with self._lock:
            garbled = any(marker in prompt for marker in self._garbled)
        reply = "Well, it depends on the context, I would say." if garbled else judge_prompt(prompt)
        return completion_body(self.model, prompt, reply, n)

    def start(self) -> "FakeJudgeServer":
        if self._http is not None:
            raise RuntimeError("FakeJudgeServer is already started")
        self._stopping.clear()
        self._http = _JudgeHTTPServer(self)
        # A short poll keeps stop() quick: shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-judge", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self._stopping.set()  # wakes hung requests so the handler threads can be joined
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http, self._thread = None, None

    def __enter__(self) -> "FakeJudgeServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
