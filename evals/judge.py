"""An LLM judge behind an OpenAI-compatible API (vLLM, Ollama, a hosted API), for ragas' metrics.

- `OpenAICompatibleJudge.complete` asks `/chat/completions` once. Timeouts, lost connections,
  429 and 5xx are retried with exponential backoff (or the server's Retry-After); after the last
  attempt `JudgeCallError` says why, and the item it was for is "not measured", never 0. A
  refused key or an unknown model raises `JudgeUnavailableError` at once: no item could be
  judged, so asking again for each one would only repeat the refusal.
- `JudgeCache` keeps completions by (model, server, n, prompt). The pipeline stores them in the ledger,
  so judging again what was judged before costs no call: a re-baseline after a small change
  asks the judge only about the items whose question, answer or contexts changed.
- `RagasJudgeLLM` is the `BaseRagasLLM` ragas' metrics call, counting calls made and cached.

The API key is passed in by the caller and only ever sent in the Authorization header.
"""

import asyncio
import hashlib
import random
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from evals.errors import EvalError

# Longest wait between two attempts, whatever Retry-After says.
MAX_BACKOFF_SECONDS = 60.0
# HTTP statuses worth another attempt: timeouts, rate limits, a server that is busy or restarting.
_RETRIED_STATUSES = frozenset({408, 409, 429})


class JudgeCallError(EvalError):
    """One judge call failed for good (after its retries): the item it served is not measured."""


class JudgeUnavailableError(EvalError):
    """The judge refuses every call (bad key, unknown model): nothing can be judged."""


class JudgeCache(Protocol):
    """Completions by call key: `get` returns None when the call was never made; `forget` drops
    a reply that turned out unusable; `flush` makes what was put durable."""

    def get(self, key: str) -> list[str] | None: ...

    def put(self, key: str, model: str, completions: list[str]) -> None: ...

    def forget(self, keys: list[str]) -> None: ...

    def flush(self) -> None: ...


# The calls the metric being scored made, as (call key, answered from the cache): set around each
# metric so that a reply ragas cannot use is forgotten, and an item's fresh calls are counted.
CALLS_OF_METRIC: ContextVar[list[tuple[str, bool]] | None] = ContextVar("corpusgov_judge_calls", default=None)


@dataclass
class JudgeStats:
    """What judging cost: calls sent and answered, answered from the cache, failed for good."""

    made: int = 0
    cached: int = 0
    failed: int = 0
    retried: int = 0

    def as_json(self) -> dict[str, int]:
        return {"made": self.made, "cached": self.cached, "failed": self.failed, "retried": self.retried}


def call_key(model: str, base_url: str, n: int, prompt: str) -> str:
    """The cache key of one call: the same prompt to the same model on the same server gets the
    same answer (a model name alone could be another quantisation on another server)."""
    return hashlib.sha256(f"{model}\x1f{base_url}\x1f{n}\x1f{prompt}".encode()).hexdigest()


@dataclass
class OpenAICompatibleJudge:
    """A chat model on an OpenAI-compatible server. `api_key` may be empty (Ollama, vLLM)."""

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)  # never in a repr, a log line or an error
    timeout_seconds: float = 60.0
    max_retries: int = 4
    retry_base_seconds: float = 1.0
    # Calls failing in a row (after their retries) before the judge counts as down: then nothing
    # more is asked, instead of every metric of every item waiting out its own retries.
    give_up_after: int = 8
    stats: JudgeStats = field(default_factory=JudgeStats)
    _client: Any = field(default=None, repr=False)
    _failing_in_a_row: int = field(default=0, repr=False)

    async def complete(self, prompt: str, n: int, temperature: float) -> list[str]:
        """`n` completions of `prompt` (servers that ignore `n` return fewer; ragas copes)."""
        import openai

        for attempt in range(self.max_retries + 1):
            try:
                response = await self._api().chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": prompt}],
                    n=n,
                    temperature=temperature,
                )
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as err:
                raise JudgeUnavailableError(_refusal(self, err)) from None
            except (openai.APIConnectionError, openai.APIStatusError) as err:
                status = getattr(err, "status_code", None)
                if status is not None and status < 500 and status not in _RETRIED_STATUSES:
                    message = " ".join(str(getattr(err, "message", "")).split())[:200]
                    raise JudgeCallError(f"the judge refused the call: HTTP {status} ({message})") from None
                if attempt == self.max_retries:
                    self._failing_in_a_row += 1
                    if self._failing_in_a_row >= self.give_up_after:
                        raise JudgeUnavailableError(
                            f"{_gave_up(self, err)}, for {self._failing_in_a_row} calls in a row: the "
                            "judge looks down; once it answers, `corpusgov evals rebaseline` judges again"
                        ) from None
                    raise JudgeCallError(_gave_up(self, err)) from None
                self.stats.retried += 1
                await asyncio.sleep(_backoff(self.retry_base_seconds, attempt, err))
            else:
                self._failing_in_a_row = 0
                self.stats.made += 1
                if any(choice.finish_reason == "length" for choice in response.choices):
                    raise JudgeCallError(
                        "the judge's reply was cut off (finish_reason=length): raise the server's "
                        "maximum output tokens"
                    )
                return [choice.message.content or "" for choice in response.choices]
        raise AssertionError("unreachable: the loop returns or raises")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _api(self) -> Any:
        # Created on first use, inside the event loop that will use it (httpx binds to it).
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                # The client insists on a key; local servers accept any.
                api_key=self.api_key or "no-key",
                timeout=self.timeout_seconds,
                max_retries=0,  # retried here, where each retry is counted
            )
        return self._client


def _backoff(base: float, attempt: int, err: Exception) -> float:
    retry_after = _retry_after(err)
    if retry_after is not None:
        return min(float(retry_after), MAX_BACKOFF_SECONDS)
    # Jitter keeps concurrent items from retrying in lockstep against a rate limit.
    return min(base * (2.0**attempt) * (0.5 + random.random() / 2), MAX_BACKOFF_SECONDS)


def _retry_after(err: Exception) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def _gave_up(judge: OpenAICompatibleJudge, err: Exception) -> str:
    import openai

    if isinstance(err, openai.APITimeoutError):
        what = f"no answer within {judge.timeout_seconds:g} s"
    elif isinstance(err, openai.APIConnectionError):
        what = f"cannot connect to {judge.base_url}"
    else:
        what = f"HTTP {getattr(err, 'status_code', '?')}"
    return f"the judge failed {judge.max_retries + 1} time(s): {what}"


def _refusal(judge: OpenAICompatibleJudge, err: Exception) -> str:
    status = getattr(err, "status_code", None)
    if status == 404:
        return (
            f"the judge at {judge.base_url} answered HTTP 404 for model '{judge.model}': check that "
            "evals.judge.base_url ends where the server's API starts (often /v1) and that "
            "evals.judge.model is a model it serves"
        )
    return (
        f"the judge at {judge.base_url} refused the API key (HTTP {status}): set the environment "
        "variable evals.judge.api_key names to a valid key"
    )


def ragas_judge_llm(judge: OpenAICompatibleJudge, cache: JudgeCache | None) -> Any:
    """A ragas `BaseRagasLLM` that asks `judge` through `cache` (None: always ask)."""
    from evals.metrics import ragas_offline

    ragas_offline()
    from langchain_core.outputs import Generation, LLMResult
    from ragas.llms.base import BaseRagasLLM
    from ragas.run_config import RunConfig

    class RagasJudgeLLM(BaseRagasLLM):
        def generate_text(
            self, prompt: Any, n: int = 1, temperature: float = 0.01, stop: Any = None, callbacks: Any = None
        ) -> LLMResult:
            raise NotImplementedError("corpusgov judges asynchronously; use agenerate_text")

        async def agenerate_text(
            self,
            prompt: Any,
            n: int = 1,
            temperature: float | None = 0.01,
            stop: Any = None,
            callbacks: Any = None,
        ) -> LLMResult:
            text = prompt.to_string()
            key = call_key(judge.model, judge.base_url, n, text)
            completions = cache.get(key) if cache is not None else None
            calls = CALLS_OF_METRIC.get()
            if calls is not None:
                calls.append((key, completions is not None))
            if completions is not None:
                judge.stats.cached += 1
            else:
                try:
                    completions = await judge.complete(text, n, 0.01 if temperature is None else temperature)
                except JudgeCallError:
                    judge.stats.failed += 1
                    raise
                if cache is not None and completions and all(c.strip() for c in completions):
                    cache.put(key, judge.model, completions)
            return LLMResult(generations=[[Generation(text=c) for c in completions]])

        def is_finished(self, response: LLMResult) -> bool:
            return True

    # One attempt in ragas: retries happen in `complete`, where they are counted and bounded.
    return RagasJudgeLLM(run_config=RunConfig(max_retries=1))
