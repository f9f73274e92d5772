"""Run folders never collide silently; `runs` shows where a run stopped; `balance --at`
after the window says so."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.conftest import invoke

PLAN = """\
version: 1
name: {name}
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: creator
    plan: standard
    usage:
      - {{every: weekday, time: "11:00", model: gen4.5, seconds: 5}}
"""


def _two_plans(workdir: Path) -> None:
    for team in ("a", "b"):
        (workdir / team).mkdir()
        (workdir / team / "plan.yaml").write_text(PLAN.format(name=f"team {team}"), "utf-8")


def test_two_files_of_the_same_name_cannot_overwrite_each_others_run(
    workdir: Path, cli: CliRunner
) -> None:
    _two_plans(workdir)
    assert invoke(cli, "run", "a/plan.yaml", "--quiet")[0] == 0
    for command in (["run", "b/plan.yaml"], ["check", "b/plan.yaml"], ["report", "b/plan.yaml"]):
        code, out, err = invoke(cli, *command)
        assert code == 2, command
        assert "runs/plan holds the run of" in err and "a/plan.yaml" in err
        assert "nothing was replaced" in err and "--run NAME" in err
    meta = json.loads((workdir / "runs" / "plan" / "run.json").read_text("utf-8"))
    assert meta["name"] == "team a"  # a's run is intact
    # The same file again replaces its own run; another name or folder keeps both.
    assert invoke(cli, "run", "a/plan.yaml", "--quiet")[0] == 0
    assert invoke(cli, "run", "b/plan.yaml", "--run", "plan-b", "--quiet")[0] == 0
    assert invoke(cli, "run", "b/plan.yaml", "--dir", "elsewhere", "--quiet")[0] == 0
    code, out, _ = invoke(cli, "runs", "--format", "json")
    assert sorted((r["run"], r["name"]) for r in json.loads(out)) == [
        ("plan", "team a"),
        ("plan-b", "team b"),
    ]


def test_runs_shows_where_a_run_stopped(workdir: Path, cli: CliRunner) -> None:
    _two_plans(workdir)
    assert invoke(cli, "run", "a/plan.yaml", "--until", "2027-01-10T12:00", "--quiet")[0] == 0
    assert invoke(cli, "run", "b/plan.yaml", "--run", "full", "--quiet")[0] == 0
    code, out, _ = invoke(cli, "runs")
    assert code == 0
    stopped = next(line for line in out.splitlines() if line.startswith("plan "))
    assert "2027-01-01 .. 2027-01-10T12:00:00+00:00 (stopped by --until" in stopped
    assert "the scenario runs to 2027-03-01" in stopped
    full = next(line for line in out.splitlines() if line.startswith("full "))
    assert "2027-01-01 .. 2027-03-01" in full and "stopped" not in full
    code, out, _ = invoke(cli, "runs", "--format", "json")
    listed = {r["run"]: r["stopped_at"] for r in json.loads(out)}
    assert listed == {"plan": "2027-01-10T12:00:00+00:00", "full": None}


def test_balance_after_the_window_says_so(workdir: Path, cli: CliRunner) -> None:
    _two_plans(workdir)
    assert invoke(cli, "run", "a/plan.yaml", "--quiet")[0] == 0
    code, inside, err = invoke(
        cli, "balance", "creator", "--at", "2027-02-28T23:00", "--format", "json"
    )
    assert code == 0 and err == ""
    code, after, err = invoke(cli, "balance", "creator", "--at", "2028-01-01", "--format", "json")
    assert code == 0
    assert "note: 2028-01-01T00:00:00+00:00 is after the run's window" in err
    assert "ends 2027-03-01T00:00:00+00:00" in err
    assert json.loads(after)["balance"] == json.loads(inside)["balance"]
