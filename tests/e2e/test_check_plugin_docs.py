"""docs/testing.md is true: its examples are the files we run, its outputs are what
the commands print, and its worked example passes under pytest."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.testing import assert_balance
from ledger.tools.testing.plugin import ReplayFactory
from tests.e2e.conftest import EXAMPLES, invoke

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
EXAMPLE = ROOT / "docs" / "examples" / "test_plugin_example.py"


def blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(rf"^( *)```{language}\n(.*?)^ *```", text, flags=re.S | re.M)
    # A block inside a list item is indented: take the indentation off.
    return [re.sub(rf"(?m)^{indent}", "", body) for indent, body in found]


def test_the_worked_example_in_the_doc_is_the_example_file() -> None:
    (python, *_) = [b for b in blocks("python") if b.startswith('"""Billing rules')]
    assert python == EXAMPLE.read_text(encoding="utf-8")


def test_the_worked_example_passes_under_pytest(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^7 passed", result.stdout, flags=re.M), result.stdout


def test_the_check_output_in_the_doc_is_what_check_prints(cli: CliRunner, workdir: Path) -> None:
    (console,) = [b for b in blocks("console") if b.startswith("$ credit-ledger check my-solo")]
    command, *printed = console.splitlines()
    text = (EXAMPLES / "solo-creator.yaml").read_text(encoding="utf-8")
    old = "{at: 2027-01-22T19:00, account: creator, plan: 75}"
    (workdir / "my-solo.yaml").write_text(text.replace(old, old.replace("75", "76")), "utf-8")
    code, out, _ = invoke(cli, *command.split()[2:])
    assert code == 1
    assert out.splitlines() == printed


def test_the_assert_balance_message_in_the_doc_is_what_it_raises(
    credit_ledger: ReplayFactory,
) -> None:
    (shown,) = [b for b in blocks("text") if b.startswith("AssertionError: balances of")]
    with pytest.raises(AssertionError) as caught:
        assert_balance(
            credit_ledger(EXAMPLES / "solo-creator.yaml"), "creator", "2027-01-22T19:00", plan=76
        )
    real = f"AssertionError: {caught.value}".splitlines()
    for doc_line, line in zip(shown.splitlines(), real, strict=False):
        if doc_line.strip() == "...":
            break
        head, _, tail = doc_line.partition(" ...")
        assert line.startswith(head) and line.endswith(tail), (doc_line, line)


def test_the_yaml_and_golden_samples_are_taken_from_the_files() -> None:
    (yaml_sample,) = blocks("yaml")
    example = (EXAMPLES / "solo-creator.yaml").read_text(encoding="utf-8")
    for line in yaml_sample.splitlines()[1:]:
        assert line in example.splitlines(), line
    golden_line = next(b for b in blocks("text") if b.startswith("creator ")).strip()
    assert golden_line.startswith("creator 2027-01-15T19:00:00+00:00 v2 GenerationCharged")
    golden = (ROOT / "tests" / "golden" / "solo-creator.events.txt").read_text(encoding="utf-8")
    assert golden_line in golden.splitlines()


def test_the_documented_options_are_the_commands(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "check", "--help")
    assert code == 0
    for option in ("--dir", "--format", "--junit", "--verbose"):
        assert option in out
    text = DOC.read_text(encoding="utf-8")
    assert "[--dir DIR] [--format table|json] [--junit FILE] [--verbose]" in text
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "python -m ledger.tools.testing.golden scenarios/examples tests/golden" in makefile
    assert "`python -m ledger.tools.testing.golden scenarios/examples tests/golden`" in text
