"""A build that fails reports why it failed, even when its clean-up fails too.

After a PostgreSQL server crash, both the build and its clean-up (dropping
the build schema) fail; the user must read the first error, not the second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger import stores
from ledger.application import Ledger
from ledger.tools import runs

SCENARIO = Path(__file__).parents[2] / "scenarios" / "examples" / "solo-creator.yaml"


class CrashedServerBuild:
    """A team-store build whose server went away: everything fails."""

    run = "x"
    aborted = False

    def ledger(self) -> Ledger:
        raise stores.StoreError("saving run 'x' in postgresql://a:***@h/db failed: server closed")

    def record(self, position: int | None) -> dict[str, Any]:
        return {}

    def commit(self, meta: dict[str, Any]) -> None:
        raise AssertionError("not reached")

    def abort(self) -> None:
        self.aborted = True
        raise stores.StoreError("cleaning up run 'x' in postgresql://a:***@h/db failed")

    def close(self) -> None:
        pass


def test_the_original_error_is_reported_not_the_failed_clean_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = CrashedServerBuild()
    monkeypatch.setattr(stores, "open_build", lambda *args: build)
    with pytest.raises(stores.StoreError, match="server closed"):
        runs.run_scenario(SCENARIO, tmp_path / "run")
    assert build.aborted
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder left behind
