"""Root of the `corpusgov` CLI. A user mistake prints one red line and exits 1, never a traceback."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from contracts import ContractError
from pipelines.cli import contracts, doctor, evals, index, ingest, outputs, quarantine, read
from pipelines.cli.output import fail
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


def main() -> None:
    try:
        app()
    except (CorpusgovError, ContractError) as err:
        fail(str(err))
    except KeyboardInterrupt:
        fail("Interrupted. Nothing half-written: a run commits at its end or not at all.", code=130)
    sys.exit(0)
