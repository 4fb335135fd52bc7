"""`corpusgov ingest`."""

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pipelines.cli.interrupts import NOTHING_COMMITTED, ignore_interrupts, was_interrupted
from pipelines.cli.output import fail, notice, print_json, stderr, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.governance.ingest import ingest as ingest_corpus
from pipelines.ledger import Ledger
from pipelines.run.ingestion import IngestionReport, blocked_message
from pipelines.settings import Settings, load_settings


def register(app: typer.Typer) -> None:
    app.command(
        "ingest",
        epilog="Examples:\n\n  corpusgov ingest\n\n  corpusgov ingest --source sample --json",
    )(ingest)


def ingest(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable). Default: every source."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
) -> None:
    """Ingest new, changed and removed documents: contract, assessment, embedding, one index version."""
    settings: Settings | None = None
    committed_before: int | None | _Unknown = None
    try:
        settings = load_settings(ctx.obj["config"])
        committed_before = _latest_index_version(settings)
        _ingest(settings, source, as_json)
    except KeyboardInterrupt:
        ignore_interrupts()
        fail(_interrupted(settings, committed_before), code=130)
    except Exception:
        if not was_interrupted():
            raise
        # A library turned the Ctrl-C into an error of its own (DuckDB: "Query interrupted").
        ignore_interrupts()
        fail(_interrupted(settings, committed_before), code=130)
    if was_interrupted():
        # A library swallowed the Ctrl-C and the run went on to its end: it was still interrupted.
        ignore_interrupts()
        fail(_interrupted(settings, committed_before), code=130)


class _Unknown:
    """The ledger could not be read before the run (busy, damaged: the run says why)."""


def _latest_index_version(settings: Settings) -> "int | None | _Unknown":
    """The last index version the ledger holds: the ledger's transaction is a run's commit."""
    try:
        latest = Ledger.of(settings, busy_retry_seconds=0).latest_index_version()
    except Exception:  # noqa: BLE001 - only read to word an interrupt; the run reports its own errors
        return _Unknown()
    return None if latest is None else latest.index_version


def _interrupted(settings: "Settings | None", committed_before: "int | None | _Unknown") -> str:
    """The one line of an interrupted `corpusgov ingest`: did its commit happen before the Ctrl-C."""
    if settings is None:
        return NOTHING_COMMITTED
    after = _latest_index_version(settings)
    if isinstance(committed_before, _Unknown) or isinstance(after, _Unknown):
        return (
            "Interrupted; the ledger could not be read to tell whether this run committed: "
            "`corpusgov index versions` lists what is committed."
        )
    if after is None or after == committed_before:
        return NOTHING_COMMITTED
    return (
        f"Interrupted after the commit: committed as index version {after}. Run `corpusgov ingest` "
        "again to finish what follows the commit (the eval sets, the publication)."
    )


def _ingest(settings: Settings, source: list[str] | None, as_json: bool) -> None:
    if source:
        for name in source:
            settings.source(name)
    embedder = embedder_from_settings(settings, notice)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=as_json,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(tasks[stage], completed=done, total=total or None)

        # One run per process: the parser worker's memory is freed once every file is parsed.
        outcome = ingest_corpus(settings, embedder, source, on_progress, keep_parser=False)
    report, reversions, publication = outcome.report, outcome.reversions, outcome.publication
    if as_json:
        print_json(
            {
                **report.as_json(),
                "eval_sets": [r.version.as_json() for r in reversions],
                "publication": publication.as_json(),
            }
        )
    else:
        _print_report(report)
        for r in reversions:
            stdout.print(r.line(), highlight=False)
        if publication.published is not None:
            stdout.print(
                f"Published index version {publication.published.index_version}: RAG apps reading "
                "`serving` read it now.",
                highlight=False,
            )
        elif publication.candidate is not None:
            stdout.print(
                f"Index version {publication.candidate} is a candidate, not served: {publication.waiting}.",
                highlight=False,
                soft_wrap=True,
            )
    problems = [c.error or "" for c in report.source_errors] + [blocked_message(c) for c in report.blocked]
    interrupted = report.interrupted_message()
    if interrupted is not None:
        problems.append(interrupted)
    if problems:
        fail("; ".join(problems))


def _print_report(report: IngestionReport) -> None:
    if not report.changed and not report.held_back:
        stdout.print(f"No changes: {report.unchanged} documents unchanged, index not touched.")
        return
    counts = report.run_counts()
    stdout.print(
        f"Discovered {report.discovered} files: {report.unchanged} unchanged, "
        + ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        + "."
    )
    version = report.index_version
    if version is None:
        stdout.print("The index did not change (no document entered or left it).")
    else:
        stdout.print(
            f"Index version {version.index_version} (LanceDB version {version.lance_version}, tag "
            f"{version.tag}): {len(version.added)} added, {len(version.modified)} modified, "
            f"{len(version.removed)} removed; {report.chunks_embedded} chunks embedded, "
            f"{report.chunks_reused} reused, {version.total_chunks} in the index."
        )
    if report.held_back:
        stdout.print(
            f"Held back: {len(report.held_back)} changes of blocked sources "
            f"({', '.join(c.source for c in report.blocked)}): corpusgov quarantine list --blocked",
            highlight=False,
        )
    held = [o for o in report.outcomes if o.state.value in ("quarantined", "rejected")]
    for o in held[:20]:
        stdout.print(f"  {o.state.value:<11} {o.doc_id}  {', '.join(o.reasons)}", highlight=False)
    if len(held) > 20:
        stdout.print(f"  … and {len(held) - 20} more: corpusgov documents --state quarantined")
