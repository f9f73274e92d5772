"""Progress of long commands: a bar on a terminal's stderr, nothing when piped.

One helper for every command that can take more than a moment (``run``,
``report``, ``compare --breakeven``): the bar appears only after a second
(short commands never flicker), is drawn on stderr (stdout stays the data),
is removed when the work ends, and is disabled when stderr is not a terminal,
so pipes, files and CI logs get no control characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOW_AFTER_S = 1.0  # wall time only decides whether to show the bar

Update = Callable[[float | None, str], None]


@contextmanager
def progress_bar(label: str, total: float | None = None) -> Iterator[Update]:
    """Yield ``update(completed, description)``; ``total=None`` is a bar with no end."""
    started = time.monotonic()
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        bar = progress.add_task("", total=total, visible=False)

        def update(completed: float | None, description: str) -> None:
            if time.monotonic() - started > SHOW_AFTER_S:
                progress.update(bar, completed=completed, description=description, visible=True)

        yield update


@contextmanager
def replay_progress(start: datetime, end: datetime) -> Iterator[Callable[[datetime], None]]:
    """A bar over the simulated window, fed the replay's simulated instant."""
    with progress_bar("replaying", (end - start).total_seconds()) as update:

        def tick(at: datetime) -> None:
            update((at - start).total_seconds(), at.date().isoformat())

        yield tick


@contextmanager
def sample_progress(total: int) -> Iterator[Callable[[int, int], None]]:
    """A bar over a forecast's samples, fed ``(done, total)`` as they come back."""
    with progress_bar("sampling", total) as update:

        def tick(done: int, of: int) -> None:
            update(done, f"{done:,} of {of:,} samples")

        yield tick


@contextmanager
def count_progress(label: str, unit: str) -> Iterator[Callable[[int], None]]:
    """A bar with no known end, fed a running count (``12 route replays``)."""
    with progress_bar(label) as update:

        def tick(done: int) -> None:
            update(None, f"{done:,} {unit}")

        yield tick
