"""`corpusgov outputs register FILE.jsonl`."""

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.output import print_json, stdout
from pipelines.governance.outputs import register_outputs_file
from pipelines.settings import load_settings

outputs_app = typer.Typer(
    name="outputs", help="The RAG app's own outputs (self-output registry).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(outputs_app)


@outputs_app.command(
    "register",
    epilog='Example: corpusgov outputs register answers.jsonl   (lines like {"id": "a1", "text": "...", "derived_from": ["sample/faq/x.md"]})',
)
def register_command(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="JSONL: id, text, derived_from (doc ids), optional generated_at, model.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Register what the RAG app generated; documents reproducing it are labelled ai_generated."""
    registration = register_outputs_file(load_settings(ctx.obj["config"]), path)
    if as_json:
        print_json(registration.as_json())
        return
    stdout.print(
        f"Registered {registration.registered} outputs ({registration.already_registered} already known). "
        f"{len(registration.documents_to_relabel)} indexed documents reproduce one and are re-labelled on the next run.",
        highlight=False,
    )
