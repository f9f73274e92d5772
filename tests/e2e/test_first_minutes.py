"""The first five minutes of a new user, and the conventions of mature command-line tools.

Real processes and real pipes where the behaviour depends on them (piped
output, a reader that closes the pipe, NO_COLOR); typer's CliRunner elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from ledger.tools.cli import conventions, output
from ledger.tools.cli.app import app
from tests.e2e.conftest import EXAMPLES, invoke

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "credit-ledger")
DEMO = EXAMPLES / "solo-creator.yaml"  # the Makefile's DEMO
ANSI_COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3\d|9\d|38)")


def shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "80", **env},
    )


# ------------------------------------------------------------ README after make demo


def readme_example() -> list[str]:
    """The command lines of the README's five-line example."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## A five-line example", 1)[1].split("```console", 1)[1].split("```")[0]
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def test_the_readme_example_works_right_after_make_demo(workdir: Path) -> None:
    assert shell(f"{CLI} run {DEMO} --quiet", workdir).returncode == 0  # what `make demo` did
    time.sleep(0.01)  # distinct modification times, even on a coarse file system
    lines = readme_example()
    assert len(lines) == 4
    outputs = []
    for line in lines:
        command = line.replace(".venv/bin/credit-ledger", CLI).replace(
            "scenarios/examples/", f"{EXAMPLES}/"
        )
        result = shell(command, workdir)
        assert result.returncode == 0, (line, result.stderr)
        outputs.append(result)
    # The README shows the balance line verbatim.
    assert outputs[1].stdout.strip() == (
        '{"account": "app", "surface": "api", "at": "2027-06-30T23:00:00+00:00", '
        '"balance": 1520, "tier": 3}'
    )
    # Each read command said which of the two runs it read.
    for result in outputs[1:]:
        assert "using runs/both-surfaces, the most recently written of 2 runs" in result.stderr
    assert outputs[3].stdout.startswith("2027-01-01T09:00:00+00:00  PlanSubscribed")


def test_run_and_dir_still_choose_an_older_run(workdir: Path, cli: CliRunner) -> None:
    assert invoke(cli, "run", str(DEMO), "--quiet")[0] == 0
    assert invoke(cli, "run", str(EXAMPLES / "both-surfaces.yaml"), "--quiet")[0] == 0
    for choice in (["--run", "solo-creator"], ["--dir", "runs/solo-creator"]):
        code, out, err = invoke(cli, "sql", "SELECT account_id FROM accounts", *choice)
        assert code == 0
        assert "creator" in out and "creative" not in out
        assert "most recently written" not in err
    # With one run there is nothing to choose, so nothing is said.
    code, _, err = invoke(cli, "runs", "rm", "both-surfaces")
    assert code == 0
    code, out, err = invoke(cli, "sql", "SELECT account_id FROM accounts")
    assert code == 0 and "creator" in out and err == ""


# ------------------------------------------------------------ no figure is ever cut


def test_piped_tables_print_every_figure_in_full(workdir: Path) -> None:
    assert shell(f"{CLI} run {EXAMPLES / 'both-surfaces.yaml'} --quiet", workdir).returncode == 0
    piped = shell(f"{CLI} sql 'SELECT * FROM monthly_summary ORDER BY ALL' | cat", workdir)
    assert piped.returncode == 0, piped.stderr
    assert "…" not in piped.stdout
    wide = invoke(
        CliRunner(), "sql", "SELECT * FROM monthly_summary ORDER BY ALL", "--format", "csv"
    )[1].splitlines()
    header, *rows = (line.split(",") for line in wide)
    lines = piped.stdout.splitlines()
    assert lines[0].split() == header
    for row, line in zip(rows, lines[2:], strict=True):
        # Every cell, as the CSV has it (figures with thousands separators), in order.
        cells = line.split()
        assert cells[0] == row[0] and len(cells) == len(row)
        assert [c.replace(",", "") for c in cells] == [c.replace(",", "") for c in row]
    summary = shell(f"{CLI} report {EXAMPLES / 'both-surfaces.yaml'} | cat", workdir)
    assert "…" not in summary.stdout
    assert re.search(r"dollars spent\s+[\d,]+\.\d\d$", summary.stdout, re.MULTILINE)


def test_on_a_narrow_terminal_tables_wrap_instead_of_cutting(
    workdir: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(cli, "run", str(EXAMPLES / "both-surfaces.yaml"), "--quiet")[0] == 0
    terminal = Console(force_terminal=True, width=60, highlight=False, color_system=None)
    monkeypatch.setattr(output, "out", terminal)
    query = "SELECT * FROM monthly_summary ORDER BY ALL"
    with terminal.capture() as captured:
        code, _, _ = invoke(cli, "sql", query)
    assert code == 0
    text = captured.get()
    assert "…" not in text
    assert "closing_balance" not in text  # the header is folded over lines, not cut
    header = [line.split("┃")[1:-1] for line in text.splitlines() if line.startswith("┃")]
    assert "".join(cells[-1].strip() for cells in header) == "closing_balance"
    # Every figure is there, folded within its column: read the column back.
    code, out, _ = invoke(cli, "sql", query, "--format", "json")
    first = json.loads(out)[0]
    rows = [line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│")]
    column = list(first).index("usd_spent")
    cells = [row[column].strip() for row in rows]
    everything = json.loads(out)
    assert "".join(cells) == "".join(f"{float(r['usd_spent']):,.2f}" for r in everything)
    assert len(rows) > len(everything)  # folded over several lines


# ------------------------------------------------------------ conventions


def test_version(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "--version")
    assert code == 0
    assert out == f"credit-ledger {conventions.version()}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", conventions.version())


def test_shell_completion_is_typers(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out
    result = shell(f"{CLI} --show-completion bash", ROOT)
    assert result.returncode == 0 and "complete" in result.stdout


def _helps() -> list[tuple[str, str]]:
    root = get_command(app)
    paths = ["", *sorted({path for path, _ in conventions.options(root) if path})]
    runner = CliRunner()
    texts = []
    for path in paths:
        result = runner.invoke(app, [*path.split(), "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        texts.append((path, result.output))
    return texts


def test_help_shows_no_internal_metavars() -> None:
    helps = _helps()
    assert len(helps) >= 12  # the root, every command, runs rm
    for path, text in helps:
        for internal in ("<bool>", "<str>", "<path>", "<list", "<int>"):
            assert internal not in text, f"credit-ledger {path} --help shows {internal}"
        assert not re.search(r"\{\w+\}", text), f"credit-ledger {path} --help shows {{name}}"


def test_every_instant_option_shows_its_format() -> None:
    root = get_command(app)
    names = {"--at", "--since", "--until", "--from"}
    seen = []
    for path, option in conventions.options(root):
        if option.metavar == "DAY":  # a whole day (import, reconcile): shown with its format too
            assert "2027-03-01" in (option.help or ""), (path, option.opts)
            continue
        if names & set(option.opts) or option.metavar == "INSTANT":
            assert option.metavar == "INSTANT", (path, option.opts)
            assert "2027-03-01T10:00" in (option.help or ""), (path, option.opts)
            seen.append((path, option.opts[0]))
    assert ("balance", "--at") in seen and ("run", "--until") in seen
    assert ("events", "--since") in seen and ("events", "--until") in seen


def test_a_closed_pipe_ends_quietly_with_exit_0(workdir: Path, cli: CliRunner) -> None:
    assert invoke(cli, "run", str(EXAMPLES / "both-surfaces.yaml"), "--quiet")[0] == 0
    # 300,000 rows: far more than a pipe buffer holds, so the writer meets the closed pipe.
    for command in (
        "sql 'SELECT range AS n FROM range(300000)' --format json",
        "sql 'SELECT range AS n FROM range(300000)'",
        "sql 'SELECT range AS n FROM range(300000)' --format csv",
    ):
        result = shell(f"{CLI} {command} | head -1", workdir)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stderr == "", (command, result.stderr)
        assert len(result.stdout.splitlines()) == 1


def test_no_color_and_the_no_color_flag(workdir: Path) -> None:
    forced = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}
    coloured = shell(f"{CLI} balance", workdir, **forced)
    assert coloured.returncode == 2
    assert ANSI_COLOUR.search(coloured.stderr)  # the check can fail: colour is there by default
    plain = shell(f"{CLI} balance", workdir, NO_COLOR="1", **forced)
    assert plain.returncode == 2 and "Missing" in plain.stderr
    assert not ANSI_COLOUR.search(plain.stderr)
    flagged = shell(f"{CLI} --no-color balance", workdir, **forced)
    assert flagged.returncode == 2 and "Missing" in flagged.stderr
    assert not ANSI_COLOUR.search(flagged.stderr)


# ------------------------------------------------------------ --format json everywhere


def test_every_command_that_prints_data_has_format_json() -> None:
    root = get_command(app)
    with_json = {path for path, option in conventions.options(root) if "--format" in option.opts}
    printing = {"run", "validate", "balance", "events", "sql", "export", "check", "report"}
    printing |= {"compare", "diff", "runs"}
    assert printing <= with_json


def test_json_from_run_events_validate_report_export(workdir: Path, cli: CliRunner) -> None:
    example = str(EXAMPLES / "both-surfaces.yaml")
    code, out, _ = invoke(cli, "run", example, "--format", "json")
    assert code == 0
    summary = json.loads(out)
    app_org = next(a for a in summary["accounts"] if a["account"] == "app")
    assert app_org["final_balance"] == 1520 and summary["stopped_at"] is None
    code, out, _ = invoke(cli, "validate", example, "--format", "json")
    assert code == 0 and json.loads(out)["valid"] is True
    code, out, _ = invoke(cli, "events", "creative", "--until", "2027-01-02", "--format", "json")
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["event"] == "PlanSubscribed" and records[0]["after"]["plan"] == 2250
    assert records[1]["after"]["plan"] == 2000
    code, out, _ = invoke(cli, "report", "runs/both-surfaces", "--format", "json")
    assert code == 0 and json.loads(out)["accounts"] == summary["accounts"]
    code, out, _ = invoke(cli, "export", "out", "--to", "csv", "--format", "json")
    assert code == 0 and "out/monthly_summary.csv" in json.loads(out)
