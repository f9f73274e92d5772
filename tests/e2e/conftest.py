"""End-to-end fixtures: the CLI through typer's CliRunner, in a scratch folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.cli.app import app

EXAMPLES = Path(__file__).parents[2] / "scenarios" / "examples"


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Run each command in an empty folder, so `runs/` lands there."""
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
