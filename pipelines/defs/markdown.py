"""Markdown for people reading asset metadata in the Dagster UI."""

from collections.abc import Mapping, Sequence


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table; cell text cannot break it (pipes and line breaks are escaped)."""

    def cell(value: object) -> str:
        return " ".join(str(value).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def reasons_table(counts: Mapping[str, int], limit: int = 20) -> str:
    """A two-column table of reason codes by count, most frequent first."""
    if not counts:
        return "No reasons: nothing was quarantined or rejected."
    rows: list[list[object]] = [
        [f"`{reason}`", count]
        for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    if len(rows) > limit:
        rows = [*rows[:limit], [f"… {len(rows) - limit} more", ""]]
    return markdown_table(["reason", "documents"], rows)


def counts_table(title: str, counts: Mapping[str, int]) -> str:
    return markdown_table([title, "count"], sorted(counts.items()))
