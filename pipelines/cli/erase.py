"""`corpusgov erase DOC --reason TEXT`, `--release CONTENT_HASH`, `--list`."""

from typing import Annotated, Any

import typer

from pipelines.cli.output import fail, notice, print_json, stdout
from pipelines.embedding.backends import embedder_from_settings
from pipelines.governance.erasure import erase, release_erased_content
from pipelines.ledger import Ledger
from pipelines.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command(
        "erase",
        epilog="Example: corpusgov erase hr/case-114.md --reason 'GDPR art. 17 request 2026-114'",
    )(erase_command)


def erase_command(
    ctx: typer.Context,
    document: Annotated[
        str | None, typer.Argument(help="The document: its id (source/path) or its path in its source.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit row.")] = "",
    release: Annotated[
        str | None,
        typer.Option("--release", help="Let the bytes with this content hash be indexed again."),
    ] = None,
    list_erasures: Annotated[
        bool, typer.Option("--list", help="List the erasures and their tombstones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Erase a document for good: out of the served index, every retained index version (their
    data files deleted), the ledger (its text-bearing fields hashed) and the data dir; its bytes
    are refused by every later run (`policy.erased`). Prints a certificate of what was removed
    where, and what it cannot reach. Run it again to finish an erasure that was interrupted."""
    settings = load_settings(ctx.obj["config"])
    if list_erasures:
        _list(Ledger.of(settings), as_json)
        return
    if release is not None:
        release_erased_content(settings, release, reason)
        stdout.print(f"Released {release}: files with these bytes are indexed again from the next run.")
        return
    if document is None:
        fail("Name the document to erase (or use --release / --list). See `corpusgov erase --help`.")
    if not reason.strip():
        fail("Say why with --reason, e.g. --reason 'GDPR art. 17 request 2026-114'.")
    assert document is not None
    outcome = erase(settings, embedder_from_settings(settings, notice), document, reason)
    erasure = outcome.erasure
    if as_json:
        print_json({**erasure.as_json(), "eval_sets": [r.version.as_json() for r in outcome.reversions]})
        return
    for line in certificate_lines(document, erasure.certificate, erasure.already_done):
        stdout.print(line, highlight=False)
    for reversion in outcome.reversions:
        stdout.print(reversion.line(), highlight=False)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def certificate_lines(document: str, certificate: dict[str, Any], already_done: bool) -> list[str]:
    """The certificate as a person reads it."""
    index = certificate.get("index", {})
    ledger = certificate.get("ledger", {})
    data_dir = certificate.get("data_dir", {})
    evals = certificate.get("eval", {})
    head = index.get("head_version")
    lines = [
        f"{'Already erased' if already_done else 'Erased'} {document} "
        f"(now {certificate['document']}; erasure {certificate['erasure_id']}, by {certificate['erased_by']} "
        f"at {certificate['erased_at']}: {certificate['reason']}).",
        f"  Index: {'removed from the head as index version ' + str(head) if head else 'not in the latest version'}"
        f"{', published' if index.get('published') else ''}; "
        f"{_count(len(index.get('versions_rewritten', {})), 'retained version')} rewritten without it, "
        f"{_count(len(index.get('files_deleted', [])), 'data file')} deleted.",
        f"  Ledger: text fields hashed, its id replaced in {_count(sum(ledger.get('rows_renamed', {}).values()), 'row')}, "
        f"{_count(ledger.get('judge_cache_entries_cleared', 0), 'judge cache entry', 'judge cache entries')} cleared, "
        f"{_count(ledger.get('self_outputs_removed', 0), 'self-output row')} removed; "
        f"{_count(len(certificate.get('tombstoned_content_hashes', [])), 'content hash', 'content hashes')} tombstoned (policy.erased).",
        f"  Data dir: {_count(len(data_dir.get('staged_runs_removed', [])), 'staged run')} removed, "
        f"{_count(len(data_dir.get('files_rewritten', [])), 'file')} rewritten, ledger file written afresh.",
        f"  Evals: {_count(evals.get('results_marked', 0), 'result')} on rewritten versions marked superseded.",
    ]
    citing = evals.get("items_citing", [])
    if citing:
        items = ", ".join(f"{c['eval_set']}:{c['item_id']}" for c in citing)
        lines.append(f"  Eval items whose gold cites it (edit your eval set files): {items}")
    lines.append("  Not reached by this command:")
    lines.extend(f"  - {note}" for note in certificate.get("not_reached", []))
    return lines


def _list(ledger: Ledger, as_json: bool) -> None:
    rows = ledger.erasures()
    if as_json:
        print_json(
            [
                {
                    "erasure_id": e.erasure_id,
                    "document": e.doc_id,
                    "erased_by": e.erased_by,
                    "erased_at": e.erased_at.isoformat(),
                    "reason": e.reason,
                    "completed": e.completed_at is not None,
                    "certificate": e.certificate,
                }
                for e in rows
            ]
        )
        return
    if not rows:
        stdout.print("No erasures.")
        return
    for e in rows:
        state = "done" if e.completed_at is not None else "NOT FINISHED: run `corpusgov erase` on it again"
        hashes = ", ".join(e.certificate.get("tombstoned_content_hashes", []))
        stdout.print(
            f"{e.erasure_id} {e.doc_id} by {e.erased_by} at {e.erased_at:%Y-%m-%d %H:%M} ({e.reason}): {state}; "
            f"tombstoned: {hashes or 'none'}",
            highlight=False,
        )
