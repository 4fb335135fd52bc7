"""A step that fails on a user's problem says so in one line, as the CLI does.

Dagster shows a step's exception as "An exception was thrown during execution" with the stack
trace, and `run_failure_alert_sensor` had only that line to send. `one_line_failures` turns a
`CorpusgovError` raised in an op or asset body into `dg.Failure` with the error's own message as
its description: what the run page shows first, and what the `run_failed` alert says. Anything
else (a bug) keeps its trace.
"""

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import dagster as dg

from pipelines.errors import CorpusgovError

F = TypeVar("F", bound=Callable[..., Any])


def one_line_failures(body: F) -> F:
    """Wrap an op or asset body (a function or a generator); Dagster reads the signature through
    `functools.wraps`. No retry: the message says what a person must change first."""
    if inspect.isgeneratorfunction(body):

        @functools.wraps(body)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from body(*args, **kwargs)
            except CorpusgovError as err:
                raise dg.Failure(description=str(err), allow_retries=False) from err

        return generator  # type: ignore[return-value]

    @functools.wraps(body)
    def function(*args: Any, **kwargs: Any) -> Any:
        try:
            return body(*args, **kwargs)
        except CorpusgovError as err:
            raise dg.Failure(description=str(err), allow_retries=False) from err

    return function  # type: ignore[return-value]


def failure_message(event: dg.DagsterEvent | None) -> str | None:
    """What a failed step said: a `dg.Failure`'s description, else the innermost cause's first
    line (the error a library raised under Dagster's wrapper). None when there is no error."""
    data = getattr(event, "step_failure_data", None) if event is not None else None
    if data is None:
        return None
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return str(user.description).strip().splitlines()[0]
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None or not error.message:
        return None
    line = error.message.strip().splitlines()[0]
    # "pipelines.errors.StorageError: The S3 server ..." -> the message a user reads.
    prefix = f"{error.cls_name}: " if error.cls_name else ""
    tail = line.split(prefix, 1)[1] if prefix and prefix in line else line
    return tail.strip() or None
