"""The pytest plugin of credit-ledger, registered through the ``pytest11`` entry point.

* ``credit_ledger``: a fixture factory. ``credit_ledger(source, until=None,
  name=None)`` replays a scenario (a file path, or YAML text written in the
  test) into the test's temporary folder and returns a ``LedgerRun``; every
  run it made is closed when the test ends.
* ``@pytest.mark.frozen_clock("2031-05-01")``: freezes the wall clock with
  freezegun for the whole test (fixtures included), for code under test that
  reads "now". ``tick=True`` lets it run on from there. The ``frozen_clock``
  fixture gives freezegun's factory (``.tick()``, ``.move_to()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from ledger.tools.testing.harness import Instant, LedgerRun, frozen_wall_clock, is_inline, replay

MARKER = "frozen_clock"
PYTEST_MODULES = ("_pytest", "pluggy")


class ReplayFactory(Protocol):
    def __call__(
        self, source: str | Path, *, until: Instant | None = None, name: str | None = None
    ) -> LedgerRun: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(instant, tick=False): freeze the wall clock at `instant` (UTC) for the "
        "whole test with freezegun (credit-ledger)",
    )


@pytest.fixture
def credit_ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReplayFactory]:
    """Replay scenarios into a temporary folder: ``run = credit_ledger("x.yaml")``."""
    folder = tmp_path_factory.mktemp("credit-ledger")
    base_dir = Path(request.path).parent
    runs: list[LedgerRun] = []

    def factory(
        source: str | Path, *, until: Instant | None = None, name: str | None = None
    ) -> LedgerRun:
        label = name or ("inline" if is_inline(source) else Path(source).stem)
        run = replay(
            source,
            folder / f"{len(runs) + 1}-{label}",
            until=until,
            base_dir=base_dir,
            name=name,
        )
        runs.append(run)
        return run

    yield factory
    for run in runs:
        run.close()


@pytest.fixture(autouse=True)
def _credit_ledger_frozen_clock(request: pytest.FixtureRequest) -> Iterator[Any]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        yield None
        return
    if not marker.args:
        raise pytest.UsageError(
            f'@pytest.mark.{MARKER} needs an instant, e.g. @pytest.mark.{MARKER}("2031-05-01")'
        )
    tick = bool(marker.kwargs.get("tick", False))
    # pytest's own timings (durations, JUnit times) keep the real clock.
    with frozen_wall_clock(marker.args[0], tick=tick, ignore=PYTEST_MODULES) as clock:
        yield clock


@pytest.fixture
def frozen_clock(_credit_ledger_frozen_clock: Any) -> Any:
    """freezegun's factory for the test's frozen wall clock (``.tick()``, ``.move_to()``)."""
    if _credit_ledger_frozen_clock is None:
        raise pytest.UsageError(
            f'the frozen_clock fixture needs the marker: @pytest.mark.{MARKER}("2031-05-01")'
        )
    return _credit_ledger_frozen_clock
