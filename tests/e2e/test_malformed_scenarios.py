"""Bad input never crashes and never half-writes (exit 2, file/line/field, no files).

Each case is one distinct mistake, from YAML syntax to a rule only the replay
discovers; the command must exit 2, name the line and the field in a message
on stderr, and leave no run folder behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import invoke

HEAD = """version: 1
name: bad
start: 2027-01-01
end: 2028-01-01
"""
WS = (
    HEAD
    + """workspaces:
  - id: studio
    plan: standard
"""
)
ORG = (
    HEAD
    + """organizations:
  - id: app
"""
)

# (id, file text, expected line, expected text in the message: the field and the gist)
CASES: list[tuple[str, str, int, list[str]]] = [
    ("yaml-syntax", HEAD + "workspaces: [\n", 6, ["line"]),
    ("tab-indent", WS + "\tevents: []\n", 8, ["line 8"]),
    ("duplicate-key", HEAD + "name: again\n", 5, ["name"]),
    ("unknown-top-field", HEAD + "workspace: []\n", 5, ["workspace"]),
    ("wrong-version", WS.replace("version: 1", "version: 2"), 1, ["version"]),
    ("end-before-start", WS.replace("end: 2028-01-01", "end: 2026-01-01"), 4, ["end"]),
    ("unknown-plan", WS.replace("plan: standard", "plan: platinum"), 7, ["plan"]),
    ("bad-date", WS + "    subscribed: 2027-02-30\n", 8, ["subscribed"]),
    (
        "unknown-web-model",
        WS + "    usage:\n      - {at: 2027-02-01, model: gen9, seconds: 5}\n",
        9,
        ["model", "gen9"],
    ),
    (
        "api-only-model-on-web",
        WS + "    usage:\n      - {at: 2027-02-01, model: veo3, seconds: 5}\n",
        9,
        ["model", "veo3"],
    ),
    (
        "unknown-api-model",
        ORG + "    usage:\n      - {at: 2027-02-01, model: frames}\n",
        8,
        ["model", "frames"],
    ),
    (
        "missing-seconds",
        WS + "    usage:\n      - {at: 2027-02-01, model: gen4_turbo}\n",
        9,
        ["seconds"],
    ),
    (
        "free-buys",
        WS.replace("plan: standard", "plan: free")
        + "    events:\n      - {at: 2027-02-01, buy: 1000}\n",
        9,
        ["buy", "W07"],
    ),
    ("buy-500", WS + "    events:\n      - {at: 2027-02-01, buy: 500}\n", 9, ["buy", "W07"]),
    ("api-buy-500", ORG + "    events:\n      - {at: 2027-02-01, buy: 500}\n", 8, ["buy", "A01"]),
    (
        "enterprise-over-cap",
        WS.replace("plan: standard", "plan: enterprise\n    contract_credits: 1000")
        + "    events:\n      - {at: 2027-02-01, buy: 1000000}\n",
        10,
        ["buy", "9,999"],
    ),
    (
        "explore-model-not-eligible",
        WS.replace("plan: standard", "plan: unlimited")
        + "    usage:\n      - {at: 2027-02-01, model: gen2, seconds: 5, mode: explore}\n",
        9,
        ["mode", "W10"],
    ),
    ("seats-over-cap", WS + "    editors: [a, b, c, d, e, f]\n", 8, ["editors", "W03"]),
    ("duplicate-ids", WS + "organizations:\n  - id: studio\n", 9, ["id", "studio"]),
    ("time-outside-window", WS + "    events:\n      - {at: 2029-01-01, buy: 1000}\n", 9, ["at"]),
    (
        "bad-rrule",
        WS + "    usage:\n      - {rrule: 'FREQ=SOMETIMES', model: gen4_turbo, seconds: 5}\n",
        9,
        ["rrule"],
    ),
    (
        "two-schedules",
        WS + "    usage:\n      - {at: 2027-02-01, every: day, model: gen4_turbo, seconds: 5}\n",
        9,
        ["usage[0]"],
    ),
    ("no-schedule", WS + "    usage:\n      - {model: gen4_turbo, seconds: 5}\n", 9, ["usage[0]"]),
    (
        "failure-rate-1.5",
        WS + "    usage:\n      - {at: 2027-02-01, model: gen4_turbo, seconds: 5, "
        "failure_rate: 1.5}\n",
        9,
        ["failure_rate"],
    ),
    (
        "expect-unknown-account",
        WS + "expect:\n  - {at: 2027-02-01, account: nobody, balance: 1}\n",
        9,
        ["account", "nobody"],
    ),
    (
        "tier-on-workspace",
        WS + "expect:\n  - {at: 2027-02-01, account: studio, tier: 2}\n",
        9,
        ["tier"],
    ),
    ("autobill-500", ORG + "    autobill: {threshold: 100, amount: 500}\n", 7, ["amount", "A04"]),
    (
        "key-by-non-member",
        ORG + "    events:\n      - {at: 2027-02-01, create_key: k1, by: mallory}\n",
        8,
        ["mallory"],
    ),
    ("bad-override", WS + "overrides:\n  web.models.gen9.rate: 3\n", 9, ["overrides"]),
    (
        "between-reversed",
        WS + "    usage:\n      - {every: day, between: ['17:00', '09:00'], model: gen4_turbo, "
        "seconds: 5}\n",
        9,
        ["between"],
    ),
    # Only the replay can discover this one: removing the organization's owner (A10).
    (
        "remove-owner-at-run-time",
        ORG + "    events:\n      - {at: 2027-02-01, remove_member: owner}\n",
        8,
        ["A10"],
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_mistake_exits_2_names_line_and_field_and_writes_nothing(
    workdir: Path, cli: CliRunner, text: str, line: int, needles: list[str]
) -> None:
    scenario = workdir / "bad.yaml"
    scenario.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke(cli, "run", str(scenario))
    assert code == 2, (stdout, stderr)
    assert "bad.yaml" in stderr
    assert f"line {line}" in stderr, stderr
    for needle in needles:
        assert needle in stderr, (needle, stderr)
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_there_are_at_least_25_distinct_mistakes() -> None:
    assert len({c[0] for c in CASES}) >= 25


def test_validate_reports_every_problem_of_a_file_at_once(workdir: Path, cli: CliRunner) -> None:
    text = WS.replace("plan: standard", "plan: free") + (
        "    editors: [a, b]\n"
        "    events:\n      - {at: 2027-02-01, buy: 1000}\n"
        "    usage:\n      - {at: 2027-02-01, model: gen9, seconds: 5}\n"
    )
    scenario = workdir / "three.yaml"
    scenario.write_text(text, encoding="utf-8")
    code, _, stderr = invoke(cli, "validate", str(scenario))
    assert code == 2
    assert "3 problems" in stderr, stderr
    for needle in ("editors", "buy", "gen9"):
        assert needle in stderr


def test_a_failed_rerun_leaves_the_previous_run_intact(workdir: Path, cli: CliRunner) -> None:
    good = WS + "    events:\n      - {at: 2027-02-01, buy: 1000}\n"
    scenario = workdir / "s.yaml"
    scenario.write_text(good, encoding="utf-8")
    assert invoke(cli, "run", str(scenario), "-q")[0] == 0
    before = {p.name: p.read_bytes() for p in (workdir / "runs" / "s").iterdir()}
    scenario.write_text(ORG + "    events:\n      - {at: 2027-02-01, remove_member: owner}\n")
    assert invoke(cli, "run", str(scenario), "-q")[0] == 2
    after = {p.name: p.read_bytes() for p in (workdir / "runs" / "s").iterdir()}
    assert before == after
    assert sorted(p.name for p in (workdir / "runs").iterdir()) == ["s"]


def test_explore_on_a_plan_without_it_warns_and_the_run_refuses_those_generations(
    workdir: Path, cli: CliRunner
) -> None:
    """W10: the contract's own example has Explore lines on a Pro workspace, so
    this is a warning, not an error; the replay records the refusals."""
    text = WS.replace("plan: standard", "plan: pro") + (
        "    usage:\n      - {at: 2027-02-01, model: gen4_turbo, seconds: 5, count: 3, "
        "mode: explore}\n"
    )
    scenario = workdir / "explore.yaml"
    scenario.write_text(text, encoding="utf-8")
    code, _, stderr = invoke(cli, "run", str(scenario))
    assert code == 0
    assert "warning" in stderr and "line 9" in stderr and "W10" in stderr
    code, out, _ = invoke(
        cli, "sql", "SELECT reason, sum(count) FROM refusals GROUP BY reason", "--format", "csv"
    )
    assert out.splitlines()[1:] == ["explore_not_available,3"]


def test_balance_after_an_until_stop_is_refused_not_guessed(workdir: Path, cli: CliRunner) -> None:
    scenario = workdir / "s.yaml"
    scenario.write_text(ORG + "    events:\n      - {at: 2027-02-01, buy: 1000}\n")
    assert invoke(cli, "run", str(scenario), "--until", "2027-03-01", "-q")[0] == 0
    code, out, _ = invoke(cli, "balance", "app", "--at", "2027-03-01", "--format", "json")
    assert code == 0 and '"balance": 1000' in out
    code, _, stderr = invoke(cli, "balance", "app", "--at", "2027-03-02")
    assert code == 2
    assert "stopped its clock at 2027-03-01" in stderr
