"""Long commands show progress on a terminal and are silent when piped (issue 10).

The bar is drawn on stderr only when stderr is a terminal, and only once the
work has taken a second; the tests force a console of each kind and no delay.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ledger.tools.cli import progress
from ledger.tools.cli.app import app

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "scenarios" / "examples"


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=100), buffer


def test_a_replay_bar_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buffer = _console(terminal=True)
    monkeypatch.setattr(progress, "err", console)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    with progress.replay_progress(START, END) as tick:
        tick(datetime(2027, 7, 2, tzinfo=UTC))
    assert "replaying" in buffer.getvalue()
    assert "2027-07-02" in buffer.getvalue()


def test_a_count_bar_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buffer = _console(terminal=True)
    monkeypatch.setattr(progress, "err", console)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    with progress.count_progress("comparing routes", "route replays") as tick:
        tick(1234)
    assert "comparing routes" in buffer.getvalue()
    assert "1,234 route replays" in buffer.getvalue()


def test_nothing_is_drawn_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buffer = _console(terminal=False)
    monkeypatch.setattr(progress, "err", console)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    with progress.replay_progress(START, END) as tick:
        tick(datetime(2027, 7, 2, tzinfo=UTC))
    with progress.count_progress("comparing routes", "route replays") as count:
        count(12)
    assert buffer.getvalue() == ""


def test_nothing_is_drawn_before_a_second_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buffer = _console(terminal=True)
    monkeypatch.setattr(progress, "err", console)
    with progress.count_progress("comparing routes", "route replays") as tick:
        tick(1)
    assert "route replays" not in buffer.getvalue()


def test_compare_feeds_the_bar_every_route_replay_and_stays_silent_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts: list[int] = []
    real = progress.count_progress

    @contextmanager
    def spy(label: str, unit: str) -> Iterator[Callable[[int], None]]:
        with real(label, unit) as tick:

            def record(done: int) -> None:
                counts.append(done)
                tick(done)

            yield record

    monkeypatch.setattr("ledger.tools.cli.decide.count_progress", spy)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    result = CliRunner().invoke(app, ["compare", str(EXAMPLES / "workload-images-2000.yaml")])
    assert result.exit_code == 0, result.output
    assert counts == list(range(1, len(counts) + 1)) and len(counts) >= 5
    assert "route replays" not in result.stderr  # CliRunner's stderr is not a terminal
