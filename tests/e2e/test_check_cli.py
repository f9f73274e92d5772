"""`credit-ledger check`: every example's expectations hold; a wrong one fails readably.

Exit codes (scenario-format.md): 0 every expectation holds, 1 one fails, 2 bad
input, exactly like `run` (the same lines on stderr, nothing written).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.testing.golden import example_scenarios
from scenarios.loader import load_scenario
from tests.e2e.conftest import EXAMPLES, invoke

SCENARIOS = example_scenarios(EXAMPLES)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_every_example_expectation_holds(cli: CliRunner, workdir: Path, scenario: Path) -> None:
    code, out, err = invoke(cli, "check", str(scenario))
    assert code == 0, out + err
    assert out.strip().endswith("all hold")
    # The examples assert something real: several figures each, on several dates.
    data = yaml_expectations(scenario)
    assert len(data) >= 4
    assert len({e["at"] for e in data}) >= 3
    assert (workdir / "runs" / scenario.stem / "ledger.duckdb").is_file()


def yaml_expectations(scenario: Path) -> list[dict[str, object]]:
    loaded = load_scenario(scenario)
    return [e.model_dump(by_alias=True) for e in loaded.scenario.expect]


def one_credit_off(tmp: Path) -> tuple[Path, int]:
    """solo-creator.yaml with `plan: 75` (Jan 22 at 19:00) changed to 76; its line."""
    text = (EXAMPLES / "solo-creator.yaml").read_text(encoding="utf-8")
    old = "{at: 2027-01-22T19:00, account: creator, plan: 75}"
    assert text.count(old) == 1
    path = tmp / "solo-creator.yaml"
    path.write_text(text.replace(old, old.replace("75", "76")), encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if old in t)
    return path, line


def test_an_expectation_one_credit_off_fails_with_a_readable_message(
    cli: CliRunner, workdir: Path
) -> None:
    path, line = one_credit_off(workdir)
    code, out, _ = invoke(cli, "check", str(path), "--junit", "report.xml")
    assert code == 1
    assert f"FAIL {path}:{line}: expect[1] creator plan at 2027-01-22T19:00" in out
    assert "expected: 76\n" in out
    assert "actual:   75  (difference -1)" in out
    # The account's last events before that instant, with the balances after each.
    assert "last 5 event(s) of creator up to then:" in out
    assert (
        "2027-01-22T19:00:00+00:00 GenerationCharged count=3 credits_each=25 "
        "first_at=2027-01-22T19:00:00+00:00" in out
    )
    assert "| plan=75 purchased=0 balance=75" in out
    assert out.strip().endswith("15 expectation field(s), 1 failed")
    # Only the failure is printed: the 14 figures that hold are not.
    assert out.count("FAIL ") == 1 and "ok " not in out
    suites = ET.parse(workdir / "report.xml").getroot()
    assert suites.get("tests") == "15" and suites.get("failures") == "1"
    (failure,) = suites.iter("failure")
    assert failure.get("message") == f"{path}:{line}: creator plan: expected 76, got 75"


def test_verbose_lists_what_holds_too(cli: CliRunner, workdir: Path) -> None:
    code, out, _ = invoke(cli, "check", str(EXAMPLES / "solo-creator.yaml"), "-v")
    assert code == 0
    assert out.count("ok   ") == 15
    assert "ok   " + str(EXAMPLES / "solo-creator.yaml") + ":" in out


def test_json_output_has_every_result(cli: CliRunner, workdir: Path) -> None:
    path, line = one_credit_off(workdir)
    code, out, _ = invoke(cli, "check", str(path), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert (data["passed"], data["expectations"], data["failures"]) == (False, 15, 1)
    (report,) = data["scenarios"]
    failed = [r for r in report["results"] if not r["passed"]]
    assert failed == [
        {
            "index": 1,
            "field": "plan",
            "reason": None,
            "account": "creator",
            "at": "2027-01-22T19:00:00+00:00",
            "from": None,
            "expected": 76,
            "actual": 75,
            "passed": False,
            "file": str(path),
            "line": line,
            "note": None,
            "recent_events": failed[0]["recent_events"],
        }
    ]
    assert len(failed[0]["recent_events"]) == 5
    dollars = next(r for r in report["results"] if r["field"] == "usd_spent")
    assert (dollars["expected"], dollars["actual"]) == ("220.00", "220.00")
    assert dollars["from"] == "2027-01-15T10:00:00+00:00"


def test_junit_has_one_suite_per_scenario_and_one_case_per_expectation(
    cli: CliRunner, workdir: Path
) -> None:
    a, b = EXAMPLES / "solo-creator.yaml", EXAMPLES / "both-surfaces.yaml"
    code, _, _ = invoke(cli, "check", str(a), str(b), "--dir", "out", "--junit", "ci/junit.xml")
    assert code == 0
    root = ET.parse(workdir / "ci" / "junit.xml").getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "Solo creator on Standard",
        "Web and API side by side",
    ]
    assert [s.get("tests") for s in suites] == ["15", "22"]
    names = [c.get("name") for c in suites[0].iter("testcase")]
    assert names[:4] == [
        "creator plan at 2027-01-15T10:00",
        "creator purchased at 2027-01-15T10:00",
        "creator balance at 2027-01-15T10:00",
        "creator plan at 2027-01-22T19:00",
    ]
    assert "creator refused[insufficient_credits] at 2027-01-23T11:00" in names
    assert not list(root.iter("failure"))
    # Several scenarios with --dir: each runs in DIR/<stem>.
    assert (workdir / "out" / "solo-creator" / "run.json").is_file()
    assert (workdir / "out" / "both-surfaces" / "run.json").is_file()


def test_bad_input_exits_2_exactly_like_run_and_writes_nothing(
    cli: CliRunner, workdir: Path
) -> None:
    bad = workdir / "bad.yaml"
    bad.write_text(
        "version: 1\nname: bad\nstart: 2027-01-01\nend: 2027-03-01\n"
        "workspaces:\n  - {id: w, plan: standard, events: [{at: 2027-01-02, buy: 10}]}\n"
        "expect:\n  - {at: 2027-02-01, account: nobody, balance: 1}\n",
        encoding="utf-8",
    )
    run_code, run_out, run_err = invoke(cli, "run", str(bad))
    code, out, err = invoke(cli, "check", str(bad), "--junit", "report.xml")
    assert (code, run_code) == (2, 2)
    assert err == run_err and out == run_out == ""
    assert err.startswith("error: 2 problems found\n")
    assert "bad.yaml, line 6, workspaces[0].events[0].buy" in err
    assert (
        "bad.yaml, line 8, expect[0].account: no workspace or organization is called 'nobody'"
        in err
    )
    assert not (workdir / "runs").exists()
    assert not (workdir / "report.xml").exists()


def test_a_missing_file_is_bad_input(cli: CliRunner, workdir: Path) -> None:
    code, _, err = invoke(cli, "check", "nowhere.yaml")
    assert code == 2
    assert "nowhere.yaml: file not found" in err
