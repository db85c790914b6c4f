"""Progress bars for every long wait of the CLI (rich, on stderr so stdout stays data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

STDERR = Console(stderr=True)


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator:
    """``update(fraction, message, at=None)``: moves a bar (0..1) with the latest message beside
    it, and the simulated time reached when the engine tells one."""
    if not enabled:
        yield lambda fraction, message="", at=None: None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
    )
    with Progress(*columns, console=STDERR, transient=False) as bar:
        task = bar.add_task(label, total=100.0, message="")

        def update(fraction: float, message: str = "", at: datetime | None = None) -> None:
            told = f"{message} ({at:%Y-%m-%d %H:%M})" if at is not None else message
            bar.update(task, completed=max(0.0, min(1.0, fraction)) * 100.0, message=told)

        yield update
