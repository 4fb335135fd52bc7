"""`corpusgov index versions | diff | promote | rollback | cleanup`."""

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli.output import fail, notice, print_json, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.governance.ingest import roll_back
from pipelines.governance.publication import promote
from pipelines.governance.versions import cleanup_index, diff_index_versions, list_index_versions
from pipelines.settings import load_settings

index_app = typer.Typer(
    name="index", help="Index versions: list, diff, promote, roll back.", no_args_is_help=True
)
# A hundred years: past it `timedelta` overflows, and no version is that old.
MAX_AGE_DAYS = 36_500
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    app.add_typer(index_app)


@index_app.command("versions", epilog="Example: corpusgov index versions --json")
def versions_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every index version, newest first: whether RAG apps read it (serving) or it waits
    (candidate), tag, time, config hash, counts, documents changed."""
    versions = list_index_versions(load_settings(ctx.obj["config"]))
    if as_json:
        print_json(versions)
        return
    table = Table(
        "version", "status", "tag", "created", "lance", "chunks", "added", "modified", "removed", "config"
    )
    for v in versions:
        table.add_row(
            str(v["index_version"]),
            v["status"],
            v["tag"],
            v["created_at"][:19],
            str(v["lance_version"]),
            str(v["total_chunks"]),
            str(len(v["added"])),
            str(len(v["modified"])),
            str(len(v["removed"])),
            v["config_hash"],
        )
    stdout.print(table)


@index_app.command("diff", epilog="Example: corpusgov index diff 1 3")
def diff_command(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="The older index version.")],
    new: Annotated[int, typer.Argument(help="The newer index version.")],
    as_json: JsonOption = False,
) -> None:
    """Documents added, removed and modified between two index versions."""
    diff = diff_index_versions(load_settings(ctx.obj["config"]), old, new)
    if as_json:
        print_json(diff.as_json())
        return
    stdout.print(
        f"index {old} -> {new}: {len(diff.added)} added, {len(diff.modified)} modified, "
        f"{len(diff.removed)} removed, {diff.unchanged} unchanged"
    )
    for label, ids in (("+", diff.added), ("~", diff.modified), ("-", diff.removed)):
        for doc_id in ids:
            stdout.print(f"  {label} {doc_id}", highlight=False)


@index_app.command("promote", epilog="Example: corpusgov index promote 4")
def promote_command(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The candidate index version to publish.")],
    as_json: JsonOption = False,
) -> None:
    """Publish candidate index version N: RAG apps reading `serving` read it from now on. The
    publication gate's verdict is recorded beside it (it informs, it does not stop a promote)."""
    outcome = promote(load_settings(ctx.obj["config"]), version)
    if as_json:
        print_json(outcome.as_json())
        return
    stdout.print(f"Index version {version} is published: RAG apps reading `serving` read it now.")
    if outcome.verdict is not None and not outcome.verdict.passed:
        stdout.print("The publication gate had held it back:", highlight=False)
        for line in outcome.verdict.failures():
            stdout.print(f"  {line}", highlight=False)


@index_app.command("rollback", epilog="Example: corpusgov index rollback 2")
def rollback_command(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The index version to restore.")],
    as_json: JsonOption = False,
) -> None:
    """Serve what index version N held again, as a new published version, and re-version the
    eval sets on it. Documents deleted at their source or refused by their current contract
    since stay out (listed). Documents that leave the index are held (quarantined,
    `index.rolled_back`) until the next ingestion; fix or pause the sources first, or the next
    run re-applies their changes."""
    settings = load_settings(ctx.obj["config"])
    embedder = embedder_from_settings(settings, notice)
    outcome = roll_back(settings, embedder, version)
    rollback = outcome.rollback
    if as_json:
        print_json({**rollback.as_json(), "eval_sets": [r.version.as_json() for r in outcome.reversions]})
        return
    restored = rollback.version
    stdout.print(
        f"Index version {restored.index_version} now serves what version {version} held: "
        f"{len(restored.added)} documents back, {len(restored.removed)} held out, "
        f"{len(restored.modified)} restored to their earlier content.",
        highlight=False,
    )
    if rollback.held_out:
        stdout.print(f"Not re-admitted ({len(rollback.held_out)}):", highlight=False)
        for held in rollback.held_out:
            stdout.print(f"  {held.doc_id}: {held.reason}", highlight=False)
    for reversion in outcome.reversions:
        stdout.print(reversion.line(), highlight=False)


@index_app.command(
    "cleanup",
    epilog="Example: corpusgov index cleanup   (or --older-than-days 30 in place of `retention:`)",
)
def cleanup_command(
    ctx: typer.Context,
    older_than_days: Annotated[
        float | None,
        typer.Option(
            "--older-than-days",
            help="Remove every version older than this, in place of corpusgov.yaml's retention: "
            "keep_last and keep_days (live baselines it keeps stay).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compact the index and remove the versions corpusgov.yaml's `retention:` lets go; never the
    latest, the served version or a candidate after it. Prints the bytes freed."""
    if older_than_days is not None and not 0 <= older_than_days <= MAX_AGE_DAYS:  # also false for nan
        fail(f"--older-than-days must be a number of days from 0 to {MAX_AGE_DAYS}, got {older_than_days:g}.")
    older_than = None if older_than_days is None else timedelta(days=older_than_days)
    result = cleanup_index(load_settings(ctx.obj["config"]), older_than)
    if as_json:
        print_json(result.as_json())
        return
    # Compaction rewrites small files into one; while the versions that read the old files stay,
    # the folder can grow.
    space = (
        f"freed {result.bytes_freed:,} bytes"
        if result.bytes_freed >= 0
        else f"compaction added {-result.bytes_freed:,} bytes"
    )
    stdout.print(
        f"Kept index versions {', '.join(map(str, result.kept)) or 'none'}; cleaned "
        f"{', '.join(map(str, result.cleaned)) or 'none'}; {space}."
    )
