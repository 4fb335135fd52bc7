"""Root of the `corpusgov` CLI. A user mistake prints one red line and exits 1, never a traceback."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from contracts import ContractError
from pipelines.cli import contracts, doctor, evals, index, ingest, outputs, quarantine, read, serve
from pipelines.cli.output import fail, stdout
from pipelines.errors import CorpusgovError

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
evals.register(app)
outputs.register(app)
doctor.register(app)
serve.register(app)


def main() -> None:
    try:
        code = app(standalone_mode=False, prog_name="corpusgov")
    except typer.Abort:
        fail("Interrupted. Nothing half-written: a run commits at its end or not at all.", code=130)
    except TyperException as err:
        # Typer's own parse errors (its vendored click): no usage box, one line with the fix.
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError" and ctx is not None:
            stdout.print(ctx.get_help(), highlight=False)
            sys.exit(0)
        command = ctx.command_path if ctx is not None else "corpusgov"
        message = err.format_message().strip()
        fail(f"{message}{'' if message.endswith(('.', '?', '!')) else '.'} See `{command} --help`.")
    except (CorpusgovError, ContractError) as err:
        fail(str(err))
    except KeyboardInterrupt:
        fail("Interrupted. Nothing half-written: a run commits at its end or not at all.", code=130)
    sys.exit(code if isinstance(code, int) else 0)
