"""`corpusgov quarantine list | show | release`."""

from typing import Annotated

import typer
from rich.table import Table

from contracts import contract_ref
from pipelines.cli.output import print_json, stdout
from pipelines.governance.quarantine import (
    list_held_back,
    list_quarantine,
    release_document,
    show_quarantined,
)
from pipelines.settings import load_settings

quarantine_app = typer.Typer(
    name="quarantine",
    help="Documents held back from the index, and recorded releases.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app)


@quarantine_app.command(
    "list",
    epilog="Examples:\n\n  corpusgov quarantine list --source sample --json\n\n"
    "  corpusgov quarantine list --blocked",
)
def list_command(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    blocked: Annotated[
        bool,
        typer.Option(
            "--blocked",
            help="Instead: the changes held back because their source was over its contract's "
            "error budget in its latest run, with the state each would have had.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Quarantined documents with their reasons, contract version, first and last seen."""
    settings = load_settings(ctx.obj["config"])
    if blocked:
        held = list_held_back(settings, source)
        if as_json:
            print_json(held)
            return
        _print_documents(
            ("source", "would be", "contract"),
            [(r["doc_id"], r["source"], r["would_be"], r["contract"], ", ".join(r["reasons"])) for r in held],
        )
        stdout.print(f"{len(held)} changes held back by blocked sources")
        return
    rows = list_quarantine(settings, source)
    if as_json:
        print_json(rows)
        return
    _print_documents(
        ("contract", "first seen", "last seen"),
        [
            (r["doc_id"], r["contract"], r["first_seen"][:19], r["last_seen"][:19], ", ".join(r["reasons"]))
            for r in rows
        ],
    )
    stdout.print(f"{len(rows)} quarantined")


@quarantine_app.command(
    "show", epilog="Example: corpusgov quarantine show sample/support/escalation-playbook.md"
)
def show_command(
    ctx: typer.Context,
    doc_id: Annotated[str, typer.Argument(help="The document id, <source>/<path>.")],
    as_json: JsonOption = False,
) -> None:
    """Why one document is quarantined: reasons, quality signals, provenance and safety evidence."""
    row = show_quarantined(load_settings(ctx.obj["config"]), doc_id)
    if as_json:
        print_json(row)
        return
    stdout.print(
        f"[bold]{row['doc_id']}[/]  grade {row['grade']}  provenance {row['provenance']}", highlight=False
    )
    stdout.print(
        f"contract {contract_ref(row['contract_id'], row['contract_version'])}; quarantined since {row['first_seen'][:19]}, last seen {row['last_seen'][:19]}"
    )
    stdout.print("reasons: " + ", ".join(row["reasons"]), highlight=False)
    low = {k: v for k, v in row.get("quality_signals", {}).items() if v < 0.5}
    if low:
        stdout.print("weak quality signals: " + ", ".join(f"{k}={v}" for k, v in sorted(low.items())))
    for flag in row.get("safety", []):
        stdout.print(f"safety: {flag['code']} x{flag['count']}: {flag['detail']}", highlight=False)
    for evidence in row.get("provenance_evidence", []):
        stdout.print(
            f"provenance evidence: {evidence['field']}={evidence['value']} -> {evidence['indicates']}",
            highlight=False,
        )
    for release in row["releases"]:
        stdout.print(
            f"released {release['released_at'][:19]} by {release['released_by']}: {release['release_reason']}",
            highlight=False,
        )


@quarantine_app.command(
    "release",
    epilog='Example: corpusgov quarantine release sample/faq/draft.md --reason "reviewed by legal, 2026-11-23"',
)
def release_command(
    ctx: typer.Context,
    doc_id: Annotated[str, typer.Argument(help="The document id, <source>/<path>.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the document may be indexed (recorded).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who releases it (default: $CORPUSGOV_USER or your login).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Release a quarantined document: a recorded override; it is indexed on the next run.

    The release holds for these exact bytes under this contract version; if either changes, the
    document is checked again.
    """
    released = release_document(load_settings(ctx.obj["config"]), doc_id, reason, by)
    if as_json:
        print_json(released)
        return
    stdout.print(
        f"Released {doc_id} (overrides {', '.join(released['overridden_reasons'])}). It is indexed "
        "on the next `corpusgov ingest`.",
        highlight=False,
    )


def _print_documents(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table of documents: doc_id first, `columns`, then the reasons (both may wrap)."""
    table = Table(*columns)
    table.add_column("reasons", overflow="fold")
    table.add_column("doc_id", overflow="fold")
    table.columns.insert(0, table.columns.pop())
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
