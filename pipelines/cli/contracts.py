"""`corpusgov contracts lint`."""

from pathlib import Path
from typing import Annotated

import typer

from contracts import ContractProblem, lint_contract_set
from pipelines.cli.output import fail, print_json, stdout
from pipelines.settings import default_config_path, load_settings

CONTRACT_GLOB = "*.odcs.yaml"

app = typer.Typer(name="contracts", help="Check data contracts before a run uses them.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app)


@app.command(
    "lint",
    epilog="Examples:\n\n  corpusgov contracts lint\n\n  corpusgov contracts lint contracts/strict.odcs.yaml --json",
)
def lint(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Contract files to lint. Default: every *.odcs.yaml in the project's contracts/ folder "
            "and every contract a source in corpusgov.yaml names.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    """Lint ODCS contracts: each file on its own, then against each other (one folder, one contract)."""
    project_dir, paths = _contract_files(ctx.obj["config"], files or [])
    if not paths:
        fail(
            f"No contracts to lint: no {CONTRACT_GLOB} in {project_dir / 'contracts'} and no source names one. "
            "Pass contract files, e.g. corpusgov contracts lint my.odcs.yaml"
        )
    problems = lint_contract_set(paths, project_dir)
    if as_json:
        print_json(
            {
                "contracts": [str(p) for p in paths],
                "problems": [{"file": str(p.path), "field": p.field, "message": p.message} for p in problems],
            }
        )
    else:
        for problem in problems:
            stdout.print(_line(problem), markup=False, highlight=False, soft_wrap=True)
        found = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}" if problems else "no problems"
        stdout.print(f"{len(paths)} contract{'s' if len(paths) != 1 else ''}, {found}.", highlight=False)
    if problems:
        raise typer.Exit(1)


def _contract_files(config: Path | None, files: list[Path]) -> tuple[Path, list[Path]]:
    """The folder relative server paths resolve against, and the contracts to lint (each once)."""
    config_path = config or default_config_path()
    settings = load_settings(config_path) if config_path.is_file() or config is not None else None
    project_dir = settings.config_path.parent if settings else Path.cwd()
    if files:
        candidates = files
    else:
        candidates = sorted((project_dir / "contracts").glob(CONTRACT_GLOB))
        candidates += [Path(s.contract) for s in settings.sources] if settings else []
    unique: dict[Path, Path] = {}
    for path in candidates:
        unique.setdefault(path.resolve(), _shown(path))
    return project_dir, list(unique.values())


def _shown(path: Path) -> Path:
    """Relative to the working directory when under it, so lines stay short and clickable."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _line(problem: ContractProblem) -> str:
    where = f"{problem.path}: {problem.field}: " if problem.field else f"{problem.path}: "
    return " ".join(f"{where}{problem.message}".split())
