"""`corpusgov doctor [--repair]`."""

from typing import Annotated

import typer

from pipelines.cli.output import fail, notice, print_json, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.governance.doctor import DoctorReport, examine_data_dir, repair_data_dir
from pipelines.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command(
        "doctor",
        epilog="Examples:\n\n  corpusgov doctor\n\n  corpusgov doctor --repair --json",
    )(doctor)


def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Restore the invariants: roll back an interrupted run, or set a damaged index "
            "(or ledger) aside under <data_dir>/damaged/ and rebuild it from the sources.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check that every row of the ledger reads, that the ledger and the index agree and that
    every document is accounted for. Exits 1 when something is wrong (after --repair: when it is
    still wrong)."""
    settings = load_settings(ctx.obj["config"])
    if repair:
        # Imported here: only a rebuild needs the evals, and they pull in ragas.
        from pipelines.governance.ingest import follow_index

        embedder = embedder_from_settings(settings, notice)
        report = repair_data_dir(settings, embedder)
        if report.rebuild is not None and report.rebuild.index_version is not None:
            follow_index(settings, embedder)
    else:
        report = examine_data_dir(settings)
    if as_json:
        print_json(report.as_json())
    else:
        _print(report, repair)
    if not report.healthy:
        fail(
            "the data dir needs repair: run `corpusgov doctor --repair`."
            if not repair
            else "the data dir is still not healthy after the repair; see above."
        )


def _print(report: DoctorReport, repaired: bool) -> None:
    if repaired:
        for action in report.repairs:
            stdout.print(f"repaired: {action}", highlight=False)
    for finding in report.findings:
        mark = "[green]ok[/]  " if finding.ok else "[bold red]FAIL[/]"
        stdout.print(f"{mark} {finding.check}: {finding.detail}", highlight=False)
