"""Read commands: `status`, `documents`, `search`. Each has `--json`."""

from typing import Annotated

import typer
from rich.table import Table

from corpus_quality.vocabulary import Grade
from pipelines.cli.output import fail, notice, print_json, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.governance.catalog import corpus_status, list_documents, search_corpus
from pipelines.settings import load_settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    app.command("status", epilog="Example: corpusgov status --json")(status)
    app.command(
        "documents",
        epilog="Examples:\n\n  corpusgov documents --state quarantined\n\n"
        "  corpusgov documents --flag safety.injection_like --json",
    )(documents)
    app.command(
        "search",
        epilog='Example: corpusgov search "how do I return a damaged parcel" --exclude-label ai_generated --min-grade B',
    )(search)


def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The current index version and how many documents are in each state."""
    status = corpus_status(load_settings(ctx.obj["config"]))
    if as_json:
        print_json(status.as_json())
        if status.index_problem:
            raise typer.Exit(1)
        return
    version = status.index_version
    stdout.print(
        f"Index version: {version if version is not None else 'none yet (run corpusgov ingest)'}"
        + (f" (LanceDB version {status.lance_version}, {status.chunks} chunks)" if version else "")
    )
    if version is not None:
        served = status.serving_version
        stdout.print(
            f"Served to RAG apps (tag `serving`): index version {served}"
            if served is not None
            else f"Served to RAG apps: nothing yet (`corpusgov index promote {version}` publishes the candidate)",
            highlight=False,
        )
    if status.embedding_model:
        stdout.print(f"Embedded with {status.embedding_model}", highlight=False, soft_wrap=True)
    for state, count in status.documents.items():
        stdout.print(f"  {state:<12}{count}")
    if status.index_problem:
        fail(
            f"{status.index_problem}. Run `corpusgov doctor` for details, `corpusgov doctor --repair` to fix."
        )


def documents(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option("--state", help="indexed | quarantined | rejected | removed")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    flag: Annotated[
        str | None,
        typer.Option(
            "--flag",
            help="Only documents carrying this flag, e.g. safety.injection_like or safety.pii_email.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every document the ledger knows, with its state, flags and the reasons it is not indexed."""
    rows = list_documents(load_settings(ctx.obj["config"]), state=state, source=source, flag=flag)
    if as_json:
        print_json(rows)
        return
    table = Table("state", "grade", "provenance", "flags")
    table.add_column("reasons", overflow="fold")
    table.add_column("doc_id", overflow="fold")
    table.columns.insert(0, table.columns.pop())
    for r in rows:
        table.add_row(
            r["doc_id"],
            r["state"],
            r["grade"] or "",
            r["provenance"] or "",
            ", ".join(f.removeprefix("safety.") for f in r["safety_flags"]),
            ", ".join(r["reasons"]),
        )
    stdout.print(table)
    stdout.print(f"{len(rows)} documents")


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in natural language.")],
    k: Annotated[int, typer.Option("--k", help="How many chunks to return.")] = 5,
    exclude_label: Annotated[
        list[str] | None,
        typer.Option("--exclude-label", help="Leave out chunks with this provenance label (repeatable)."),
    ] = None,
    min_grade: Annotated[
        str | None,
        typer.Option(
            "--min-grade", help=f"Only chunks of documents graded this or better ({', '.join(Grade)})."
        ),
    ] = None,
    exclude_flag: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude-flag",
            help="Leave out chunks carrying this safety flag, e.g. safety.injection_like (repeatable).",
        ),
    ] = None,
    as_of: Annotated[
        int | None, typer.Option("--as-of", help="Search index version N as it was (read-only).")
    ] = None,
    candidate: Annotated[
        bool,
        typer.Option(
            "--candidate",
            help="Search the newest committed version, published or not (default: the served one).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Semantic search over the served index version (what the RAG app reads), with governance filters."""
    settings = load_settings(ctx.obj["config"])
    embedder = embedder_from_settings(settings, notice)
    hits = search_corpus(
        settings,
        embedder,
        query,
        k=k,
        exclude_labels=tuple(exclude_label or ()),
        min_grade=min_grade,
        as_of=as_of,
        exclude_flags=tuple(exclude_flag or ()),
        candidate=candidate,
    )
    if as_json:
        print_json([h.as_json() for h in hits])
        return
    for rank, hit in enumerate(hits, 1):
        stdout.print(
            f"[bold]{rank}. {hit.doc_id}[/]  score {hit.score:.3f}  grade {hit.grade}  {hit.provenance}",
            highlight=False,
        )
        stdout.print("   " + hit.text[:300].replace("\n", " "), highlight=False)
