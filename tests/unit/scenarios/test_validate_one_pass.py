"""`validate` reports every problem of a file in one pass.

Rule and catalogue checks (W07, A01, A04, W10, unknown models, unknown
accounts) still run on the parts of a file that the schema accepted, also
inside an entry the schema rejected and when the header itself is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.cli.app import app
from scenarios.errors import Problem, ScenarioError
from scenarios.loader import load_scenario_text

TEN_MISTAKES = """\
version: 1
name: Ten mistakes
start: 2027-01-01
end: 2027-13-01
seed: 5
colour: blue
workspaces:
  - id: studio
    plan: platinum
    editors: [ana]
    events:
      - {at: 2027-02-01, buy: 500}
    usage:
      - {every: weekday, time: "11:00", model: gen9, seconds: 5}
  - id: team
    plan: standard
    usage:
      - {every: weekday, time: "25:00", model: gen4.5, seconds: 5}
      - {every: weekday, time: "10:00", model: gen4.5, seconds: 5, mode: explore}
organizations:
  - id: app
    tier: 2
    autobill: {threshold: 1000, amount: 500}
    events:
      - {at: 2027-01-01, buy: 200}
    usage:
      - {every: weekday, time: "11:00", model: gen4.5, seconds: -5}
expect:
  - {at: 2027-02-01, account: nobody, balance: 1}
"""

# (line, field, rule or a word of the message): ten errors and one warning.
EXPECTED = [
    (4, "end", "date"),  # schema: a date that does not exist
    (6, "colour", "unknown field"),  # schema: a field the format does not have
    (9, "workspaces[0].plan", "plan must be one of"),  # schema: an unknown plan
    (12, "workspaces[0].events[0].buy", "W07"),  # rule, inside the entry with the bad plan
    (14, "workspaces[0].usage[0].model", "unknown web model"),  # catalogue, same entry
    (18, "workspaces[1].usage[0].time", "time of day"),  # schema: 25:00
    (19, "workspaces[1].usage[1].mode", "W10"),  # a warning, after a usage line left out
    (23, "organizations[0].autobill.amount", "A04"),  # rule
    (25, "organizations[0].events[0].buy", "A01"),  # rule
    (27, "organizations[0].usage[0].seconds", "at least 1"),  # schema: a negative duration
    (29, "expect[0].account", "no workspace or organization is called 'nobody'"),
]


def _found(problems: Sequence[Problem]) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.field, str(p)) for p in problems]


def test_ten_mistakes_of_different_kinds_are_all_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(TEN_MISTAKES, filename="ten.yaml")
    found = _found(caught.value.problems)
    assert len(found) == len(EXPECTED), "\n".join(text for _, _, text in found)
    for (line, field, word), (got_line, got_field, text) in zip(EXPECTED, found, strict=True):
        assert (got_line, got_field) == (line, field), text
        assert word in text, text
    assert sum(1 for *_, text in found if "warning:" in text) == 1


def test_the_cli_prints_all_eleven_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "ten.yaml"
    path.write_text(TEN_MISTAKES, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 11 problems found"
    assert [int(line.split(", line ")[1].split(",")[0]) for line in lines[1:]] == [
        line for line, _, _ in EXPECTED
    ]


def test_a_stand_in_for_a_bad_plan_raises_nothing_of_its_own() -> None:
    # `platinum` is not a plan; the salvaged entry must not be judged as some other plan:
    # no W10 warning for Explore Mode, no W07 refusal of a purchase.
    text = """\
version: 1
name: stand-in
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: studio
    plan: platinum
    events:
      - {at: 2027-02-01, buy: 1000}
    usage:
      - {every: weekday, time: "10:00", model: gen4.5, seconds: 5, mode: explore}
"""
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, filename="x.yaml")
    assert [(p.line, p.field) for p in caught.value.problems] == [(7, "workspaces[0].plan")]


def test_a_bad_end_does_not_hide_the_checks_nor_add_window_problems() -> None:
    text = """\
version: 1
name: bad end
start: 2027-01-01
end: someday
organizations:
  - id: app
    events:
      - {at: 2027-06-01, buy: 200}
"""
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, filename="x.yaml")
    found = [(p.line, p.field, p.rule) for p in caught.value.problems]
    assert found == [(4, "end", None), (8, "organizations[0].events[0].buy", "A01")]


def test_the_json_of_validate_holds_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "ten.yaml"
    path.write_text(TEN_MISTAKES, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert [(p["line"], p["field"]) for p in data["problems"]] == [
        (line, field) for line, field, _ in EXPECTED
    ]
    assert [p["rule"] for p in data["problems"] if p["rule"]] == ["W07", "W10", "A04", "A01"]
    assert [p["severity"] for p in data["problems"]].count("warning") == 1
