"""`corpusgov evals status | diff | compare | rebaseline | lint`. The holdout split never shows here
unless asked for with `rebaseline --holdout`, and every such scoring is counted as an exposure."""

from typing import Annotated, Any

import typer

from evals import IncomparableResultsError
from evals.comparison import Comparison
from evals.generation import GENERATION_METRICS, GenerationSummary
from pipelines.cli.output import fail, notice, print_json, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.errors import CorpusgovError
from pipelines.evaluation import (
    DEV,
    HOLDOUT,
    compare_index_versions,
    eval_results,
    eval_versions,
    holdout_exposures,
    item_resolutions,
    lint_configured_sets,
    rebaseline,
)
from pipelines.evaluation.reversion import signed
from pipelines.governance.ingest import follow_index
from pipelines.governance.versions import removed_index_versions
from pipelines.ledger import Ledger
from pipelines.settings import Settings, load_settings

evals_app = typer.Typer(name="evals", help="Eval sets bound to index versions.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
SetOption = Annotated[
    str | None, typer.Option("--set", help="Eval set name (default: the first configured).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(evals_app)


def _set_name(settings: Settings, name: str | None) -> str:
    if name:
        if not any(s.name == name for s in settings.evals.sets):
            known = ", ".join(s.name for s in settings.evals.sets) or "none"
            raise CorpusgovError(f"Unknown eval set '{name}'. Configured eval sets: {known}.")
        return name
    if not settings.evals.sets:
        raise CorpusgovError("No eval sets configured: add evals.sets to corpusgov.yaml.")
    return settings.evals.sets[0].name


@evals_app.command("status", epilog="Example: corpusgov evals status --json")
def status_command(ctx: typer.Context, set_name: SetOption = None, as_json: JsonOption = False) -> None:
    """The latest eval set version, its changelog, and dev baselines per index version."""
    settings = load_settings(ctx.obj["config"])
    name = _set_name(settings, set_name)
    ledger = Ledger.of(settings)
    versions = eval_versions(ledger, name)
    results = eval_results(ledger, name, DEV)
    exposures = holdout_exposures(ledger, name)
    removed = removed_index_versions(settings) if results else set()
    payload: dict[str, Any] = {
        "eval_set": name,
        "latest_version": versions[0].as_json() if versions else None,
        "baselines": [{**r.as_json(), "rerunnable": r.index_version not in removed} for r in results],
        "holdout_exposures": sum(exposures.values()),
    }
    if as_json:
        print_json(payload)
        return
    if not versions:
        stdout.print(f"Eval set {name}: no version yet (run corpusgov ingest).")
        return
    latest = versions[0]
    stdout.print(
        f"Eval set {name} v{latest.number} on index v{latest.index_version}: "
        f"{latest.active_items}/{latest.items} items active, {latest.changed_share:.0%} changed status"
    )
    for status, ids in latest.routine_changelog().items():
        stdout.print(f"  {status:<10} {', '.join(ids)}", highlight=False)
    held = latest.holdout_counts()
    if held:
        stdout.print("  holdout    " + ", ".join(f"{n} {s}" for s, n in held.items()) + " (counts only)")
    for r in results:
        mark = f"  [superseded: {r.superseded_reason}]" if r.superseded_reason else ""
        if r.index_version in removed:
            mark += f"  [index v{r.index_version} removed by retention or a rebuild: metrics kept, cannot be re-run]"
        shown = ", ".join(f"{k}={v:.3f}" for k, v in r.metrics.items() if "@" in k)
        stdout.print(
            f"  index v{r.index_version} / set v{r.eval_set_version}: {shown}{mark}",
            highlight=False,
            soft_wrap=True,
            markup=False,  # the marks are in brackets, which rich would read as its markup
        )
        stdout.print(f"    generation: {generation_line(r.generation)}", highlight=False, soft_wrap=True)
    stdout.print(f"Holdout exposures so far: {payload['holdout_exposures']}")


@evals_app.command("diff", epilog="Example: corpusgov evals diff 1 2")
def diff_command(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="Older eval set version number.")],
    new: Annotated[int, typer.Argument(help="Newer eval set version number.")],
    set_name: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per item: its status and gold chunks in two eval set versions (the changelog between them)."""
    settings = load_settings(ctx.obj["config"])
    name = _set_name(settings, set_name)
    ledger = Ledger.of(settings)
    by_number = {v.number: v for v in eval_versions(ledger, name)}
    for number in (old, new):
        if number not in by_number:
            raise CorpusgovError(f"Eval set {name} has no version {number}; versions: {sorted(by_number)}.")
    before = {r.item_id: r for r in item_resolutions(ledger, by_number[old].version_hash)}
    after = {r.item_id: r for r in item_resolutions(ledger, by_number[new].version_hash)}
    rows = [
        {
            "item_id": item_id,
            "split": row.split,
            "status": row.status,
            "gold_chunks_changed": item_id not in before
            or before[item_id].gold_chunk_ids != row.gold_chunk_ids,
            "contested_by": list(row.contested_by),
            "detail": row.detail,
        }
        for item_id, row in sorted(after.items())
        if row.split == DEV
    ]
    if as_json:
        print_json(
            {
                "eval_set": name,
                "from": old,
                "to": new,
                "index_versions": [by_number[old].index_version, by_number[new].index_version],
                "items": rows,
            }
        )
        return
    stdout.print(
        f"{name} v{old} (index v{by_number[old].index_version}) -> v{new} (index v{by_number[new].index_version})"
    )
    for row in rows:
        if row["status"] != "unchanged":
            stdout.print(f"  {row['item_id']:<8} {row['status']:<10} {row['detail']}", highlight=False)


@evals_app.command(
    "compare",
    epilog="Examples:\n\n  corpusgov evals compare 1 2\n\n  corpusgov evals compare 1 2 --decompose",
)
def compare_command(
    ctx: typer.Context,
    old: Annotated[int, typer.Argument(help="Index version of the older baseline.")],
    new: Annotated[int, typer.Argument(help="Index version of the newer baseline.")],
    decompose: Annotated[
        bool,
        typer.Option(
            "--decompose", help="Run the newer eval set on the older index (read-only) and split the delta."
        ),
    ] = False,
    set_name: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare dev baselines measured on two index versions; refused unless they are comparable."""
    settings = load_settings(ctx.obj["config"])
    name = _set_name(settings, set_name)
    embedder = embedder_from_settings(settings, notice) if decompose else None
    try:
        outcome = compare_index_versions(settings, embedder, name, old, new, split_delta=decompose)
    except IncomparableResultsError as err:
        fail(f"{err} (compare with --decompose to attribute the change)")
    payload: dict[str, Any]
    if isinstance(outcome, Comparison):
        payload = {"comparable": True, "deltas": dict(outcome.deltas)}
    else:
        payload = {
            "comparable": False,
            "decomposed": True,
            "deltas": {
                metric: {
                    "total": d.total,
                    "eval_set_changed": d.eval_set_changed,
                    "index_changed": d.index_changed,
                }
                for metric, d in outcome.deltas.items()
            },
            "not_decomposed": dict(outcome.refused),
        }
    if as_json:
        print_json(payload)
        return
    for metric, value in payload["deltas"].items():
        if isinstance(value, dict):
            stdout.print(
                f"{metric:<42} {signed(value['total'])} = {signed(value['eval_set_changed'])} (eval set "
                f"changed) {signed(value['index_changed'])} (index changed)",
                soft_wrap=True,
            )
        else:
            stdout.print(f"{metric:<42} {signed(value)}")
    for metric, reason in payload.get("not_decomposed", {}).items():
        stdout.print(f"{metric:<42} not decomposed: {reason}", soft_wrap=True)


@evals_app.command("rebaseline", epilog="Example: corpusgov evals rebaseline")
def rebaseline_command(
    ctx: typer.Context,
    set_name: SetOption = None,
    holdout: Annotated[
        bool, typer.Option("--holdout", help="Score the holdout split (counted as an exposure).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-version if the index moved, then score the latest eval set version again."""
    settings = load_settings(ctx.obj["config"])
    name = _set_name(settings, set_name)
    embedder = embedder_from_settings(settings, notice)
    fresh = [r.result for r in follow_index(settings, embedder) if r.version.eval_set == name]
    # A re-version (or a judge configured since) just scored the dev split: no second scoring.
    result = (
        fresh[0]
        if fresh and fresh[0] is not None and not holdout
        else rebaseline(settings, embedder, name, split=HOLDOUT if holdout else DEV)
    )
    if as_json:
        print_json(result.as_json())
        return
    shown = ", ".join(f"{k}={v:.3f}" for k, v in result.metrics.items() if k not in GENERATION_METRICS)
    stdout.print(f"{name} ({result.split}) on index v{result.index_version}: {shown}", highlight=False)
    stdout.print(f"  generation: {generation_line(result.generation)}", highlight=False, soft_wrap=True)


@evals_app.command("lint", epilog="Examples:\n\n  corpusgov evals lint\n\n  corpusgov evals lint --json")
def lint_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check the configured eval set files on their own: every problem, with its file and line."""
    settings = load_settings(ctx.obj["config"])
    if not settings.evals.sets:
        fail(f"No eval sets to lint: {settings.config_path} configures none. Add evals.sets to it.")
    problems = lint_configured_sets(settings)
    if as_json:
        print_json(
            {
                "eval_sets": [{"name": s.name, "file": s.path} for s in settings.evals.sets],
                "problems": [p.as_json() for p in problems],
            }
        )
    else:
        for problem in problems:
            stdout.print(problem.message, markup=False, highlight=False, soft_wrap=True)
        found = plural(len(problems), "problem") if problems else "no problems"
        stdout.print(f"{plural(len(settings.evals.sets), 'eval set')}, {found}.", highlight=False)
    if problems:
        raise typer.Exit(1)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def generation_line(generation: GenerationSummary) -> str:
    """One line: the judged means (with item counts where they differ) and the judge's calls, or
    why nothing was judged."""
    if not generation.measured:
        return f"not measured ({generation.reason or 'no LLM judge is configured'})"
    counts = generation.measured_items
    most = max(counts.values(), default=0)
    means = ", ".join(
        f"{m}={v:.3f}" + (f" ({counts.get(m, 0)} items)" if counts.get(m, 0) != most else "")
        for m, v in generation.means.items()
    )
    calls = generation.calls
    skipped = "".join(f"; {m} skipped: {why}" for m, why in generation.skipped.items())
    return (
        f"{means} over {most} items; judge {generation.judge}: {calls.get('made', 0)} calls made "
        f"(for {plural(calls.get('items_asked', 0), 'item')}), {calls.get('cached', 0)} cached, "
        f"{len(generation.failures)} judge failures{skipped}"
    )
