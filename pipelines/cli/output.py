"""How the CLI talks: JSON on stdout for machines, rich text for people, errors on stderr."""

import json
import sys
from typing import Any, NoReturn

from rich.console import Console

stdout = Console()
stderr = Console(stderr=True)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    stderr.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def notice(message: str) -> None:
    """A one-time note on stderr (the model export): never mixed into JSON on stdout."""
    stderr.print(message, highlight=False, soft_wrap=True, style="dim")
