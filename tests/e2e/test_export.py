"""`export` writes the same bytes whatever the machine's time zone (instants in UTC)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

ROOT = Path(__file__).parents[2]


def export_under(tz: str, workdir: Path, dest: str) -> dict[str, bytes]:
    """``credit-ledger export DEST --to csv`` in a fresh process with ``TZ`` set."""
    env = dict(os.environ, TZ=tz, PYTHONPATH=str(ROOT))
    code = "import sys; from ledger.tools.cli.app import main; main(sys.argv[1:])"
    result = subprocess.run(
        [sys.executable, "-c", code, "export", dest, "--to", "csv"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {p.name: p.read_bytes() for p in sorted((workdir / dest).iterdir())}


def test_export_is_byte_identical_under_any_time_zone(workdir: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "run", str(EXAMPLES / "solo-creator.yaml"), "--quiet")
    assert code == 0, err
    utc = export_under("UTC", workdir, "utc")
    new_york = export_under("America/New_York", workdir, "new-york")
    assert utc.keys() == new_york.keys() and "ledger_entries.csv" in utc
    assert utc == new_york
    first_entry = utc["ledger_entries.csv"].decode().splitlines()[1]
    assert "2027-01-15 10:00:00+00" in first_entry  # the subscription's grant, in UTC
