"""Markdown for people reading asset metadata in the Dagster UI."""

from collections.abc import Mapping


def reasons_table(counts: Mapping[str, int], limit: int = 20) -> str:
    """A two-column table of reason codes by count, most frequent first."""
    if not counts:
        return "No reasons: nothing was quarantined or rejected."
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    lines = ["| reason | documents |", "|---|---:|"]
    lines += [f"| `{reason}` | {count} |" for reason, count in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more | |")
    return "\n".join(lines)


def counts_table(title: str, counts: Mapping[str, int]) -> str:
    lines = [f"| {title} | count |", "|---|---:|"]
    lines += [f"| {key} | {value} |" for key, value in sorted(counts.items())]
    return "\n".join(lines)
