"""What every `rag` command shares: the two consoles and the way a command fails."""

from __future__ import annotations

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    """Print a clear error on stderr and exit with `code` (2: the command was used wrongly)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
