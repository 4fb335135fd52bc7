"""Root of the `corpusgov` CLI. A user mistake prints one red line and exits 1, never a traceback."""

from pipelines.cli.interrupts import (
    INTERRUPTED,
    NOTHING_COMMITTED,
    end_without_finalizing,
    ignore_interrupts,
    interrupts_noted,
    listen_for_interrupts,
    was_interrupted,
)

# Loading the commands takes about a second (they import the stack): a Ctrl-C then stops the
# program right after, with its one line rather than the traceback of an import.
with interrupts_noted():
    import sys
    from pathlib import Path
    from typing import Annotated

    import typer
    from typer.exceptions import TyperException

    from contracts import ContractError
    from pipelines.cli import contracts, doctor, erase, evals, index, ingest, outputs, quarantine, read, serve
    from pipelines.cli.output import fail, stdout
    from pipelines.errors import CorpusgovError
if was_interrupted():
    fail(NOTHING_COMMITTED, code=130)

app = typer.Typer(
    name="corpusgov",
    help="Governance for the document corpus behind a RAG app: contracts, quality, provenance, a "
    "versioned LanceDB index.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="corpusgov.yaml to use (default: $CORPUSGOV_CONFIG or ./corpusgov.yaml)."
        ),
    ] = None,
) -> None:
    ctx.obj = {"config": config}


ingest.register(app)
read.register(app)
contracts.register(app)
quarantine.register(app)
index.register(app)
erase.register(app)
evals.register(app)
outputs.register(app)
doctor.register(app)
serve.register(app)


def main() -> None:
    """The `corpusgov` program: runs one command, then ends the process with its exit code."""
    try:
        _run_command()
    except SystemExit as end:
        if was_interrupted():
            end_without_finalizing(end.code if isinstance(end.code, int) else 130)
        raise


def _run_command() -> None:
    listen_for_interrupts()
    try:
        code = app(standalone_mode=False, prog_name="corpusgov")
    except typer.Abort:
        ignore_interrupts()
        fail(INTERRUPTED, code=130)
    except TyperException as err:
        # Typer's own parse errors (its vendored click): no usage box, one line with the fix.
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            stdout.print(ctx.get_help(), highlight=False)
            sys.exit(0)
        command = ctx.command_path if ctx is not None else "corpusgov"
        message = err.format_message().strip()
        fail(f"{message}{'' if message.endswith(('.', '?', '!')) else '.'} See `{command} --help`.")
    except KeyboardInterrupt:
        ignore_interrupts()
        fail(INTERRUPTED, code=130)
    except Exception as err:
        if was_interrupted():
            # A library turned the Ctrl-C into an error of its own (DuckDB: "Query interrupted").
            ignore_interrupts()
            fail(INTERRUPTED, code=130)
        if isinstance(err, CorpusgovError | ContractError):
            fail(str(err))
        raise
    finally:
        ignore_interrupts()
    if was_interrupted():
        # Typer answers a KeyboardInterrupt in a command with code 130 and no word, and a library
        # may have swallowed it: a command that did not say so itself is said interrupted here.
        fail(INTERRUPTED, code=130)
    sys.exit(code if isinstance(code, int) else 0)
