"""`credit-ledger diff A.yaml B.yaml`: what changes, per account and month, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

# Three 5-second Gen-4 Turbo clips every weekday evening: 3 x 5 x 5 = 75 credits.
# Q1 2027 has 21 + 20 + 23 = 64 weekdays.
STANDARD = """version: 1
name: Maya on Standard
start: 2027-01-01
end: 2027-04-01
workspaces:
  - id: maya
    plan: standard
    events:
      - {at: 2027-01-01, buy: 1000}
    usage:
      - {every: weekday, time: "19:00", model: gen4_turbo, seconds: 5, count: 3}
"""
PRO = STANDARD.replace("plan: standard", "plan: pro").replace(
    "    events:\n      - {at: 2027-01-01, buy: 1000}\n", ""
)
WITH_API = (
    STANDARD
    + """organizations:
  - id: app
    events:
      - {at: 2027-01-01, buy: 5000}
    usage:
      - {at: 2027-02-01T12:00, model: gen4_image, resolution: 720p, count: 100}
"""
)


def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return name


def diff_json(cli: CliRunner, a: str, b: str) -> dict[str, Any]:
    code, out, err = invoke(cli, "diff", a, b, "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_a_scenario_against_itself_changes_nothing(workdir: Path, cli: CliRunner) -> None:
    a = write(workdir, "a.yaml", STANDARD)

    code, out, err = invoke(cli, "diff", a, a)

    assert code == 0, err
    assert "= maya (web workspace): unchanged" in out
    assert out.rstrip().endswith("0 of 1 accounts changed")
    assert "Totals: dollars $55.00 -> $55.00;" in out


def test_standard_to_pro_month_by_month_as_computed_by_hand(workdir: Path, cli: CliRunner) -> None:
    a = write(workdir, "standard.yaml", STANDARD)
    b = write(workdir, "pro.yaml", PRO)

    data = diff_json(cli, a, b)

    (maya,) = data["accounts"]
    assert (maya["account"], maya["surface"], maya["status"]) == ("maya", "web", "changed")
    months = {m["month"]: {c["field"]: c for c in m["changes"]} for m in maya["months"]}
    # January: Standard $15 + 1,000 credits $10 = $25; Pro $35 (+$10.00).
    # Standard: 21 x 75 = 1,575 credits, 625 from the plan and 950 bought: 50 left.
    # Pro: 2,250 - 1,575 = 675 plan credits left at the month's end.
    assert months["2027-01"]["usd"] == {
        "field": "usd",
        "a": "25.00",
        "b": "35.00",
        "delta": "10.00",
    }
    assert months["2027-01"]["balance"] == {"field": "balance", "a": 50, "b": 675, "delta": 625}
    # February: 20 x 75 = 1,500 asked. Standard has 625 + 50 = 675: 9 clips
    # of 75... 675 / 25 = 27 clips go through, 60 - 27 = 33 are refused. Pro
    # forfeits January's 675 at the reset (W06) and uses all 1,500.
    assert months["2027-02"]["refused"]["a"] == 33
    assert months["2027-02"]["refused"]["b"] == 0
    assert months["2027-02"]["forfeited"]["b"] == 675
    # March: 69 clips; Standard's 625 pay for 25 of them, 44 are refused.
    assert months["2027-03"]["refused"]["a"] == 44
    totals = maya["totals"]
    assert totals["usd_total"] == {
        "field": "usd_total",
        "a": "55.00",
        "b": "105.00",
        "delta": "50.00",
    }
    assert totals["refused"]["delta"] == -77
    assert maya["plans"] == {"a": ["standard from 2027-01-01"], "b": ["pro from 2027-01-01"]}
    assert data["totals"]["usd_total"]["delta"] == "50.00"


def test_the_table_shows_changed_months_with_signed_deltas(workdir: Path, cli: CliRunner) -> None:
    a = write(workdir, "standard.yaml", STANDARD)
    b = write(workdir, "pro.yaml", PRO)

    code, out, _ = invoke(cli, "diff", a, b)

    assert code == 0  # a change is not a failure
    lines = out.splitlines()
    assert lines[0] == "diff standard.yaml -> pro.yaml"
    assert "~ maya (web workspace): changed" in lines
    january = next(line for line in lines if line.strip().startswith("2027-01"))
    assert "dollars $25.00 -> $35.00 (+$10.00)" in january
    assert "purchased 50 -> 0 (-50)" in january
    assert "    plans: standard from 2027-01-01 -> pro from 2027-01-01" in lines
    assert lines[-1] == "1 of 1 accounts changed"
    assert lines[-2].startswith("Totals: dollars $55.00 -> $105.00 (+$50.00);")


def test_an_account_on_one_side_only_is_added_or_removed(workdir: Path, cli: CliRunner) -> None:
    a = write(workdir, "a.yaml", STANDARD)
    b = write(workdir, "b.yaml", WITH_API)

    code, forward, _ = invoke(cli, "diff", a, b)
    _, backward, _ = invoke(cli, "diff", b, a)
    data = diff_json(cli, a, b)

    assert code == 0
    # 5,000 credits bought, $50; 100 images x 5 = 500 used: 4,500 left.
    assert "+ app (API organization): added" in forward
    assert "top-ups 1; bought 5,000; charged 500; refunded 0; used 500" in forward
    assert "- app (API organization): removed" in backward
    assert "= maya (web workspace): unchanged" in forward
    app = next(acc for acc in data["accounts"] if acc["account"] == "app")
    assert app["status"] == "added"
    assert app["totals"]["final_balance"] == {
        "field": "final_balance",
        "a": None,
        "b": 4500,
        "delta": None,
    }
    # $50 of purchases reaches Tier 2 at once (A06).
    assert app["tiers"]["b"] == ["tier 1 on 2027-01-01", "tier 2 on 2027-01-01"]
    assert data["totals"]["usd_total"]["delta"] == "50.00"


def test_s01_a_workspace_and_an_organization_of_one_name_are_two_accounts(
    workdir: Path, cli: CliRunner
) -> None:
    # Ids are unique within a scenario, but A may call a workspace what B
    # calls an organization: that is one account removed and another added.
    a = write(workdir, "a.yaml", STANDARD.replace("id: maya", "id: twin"))
    org_only = (
        WITH_API[: WITH_API.index("workspaces:")] + WITH_API[WITH_API.index("organizations:") :]
    )
    b = write(workdir, "b.yaml", org_only.replace("id: app", "id: twin"))

    data = diff_json(cli, a, b)

    statuses = {(acc["surface"], acc["account"]): acc["status"] for acc in data["accounts"]}
    assert statuses == {("web", "twin"): "removed", ("api", "twin"): "added"}


def test_bad_input_on_either_side_exits_2_and_names_the_file(workdir: Path, cli: CliRunner) -> None:
    a = write(workdir, "a.yaml", STANDARD)
    bad = write(workdir, "bad.yaml", STANDARD.replace("plan: standard", "plan: platinum"))

    code, out, err = invoke(cli, "diff", a, bad)
    code_missing, _, err_missing = invoke(cli, "diff", "nope.yaml", a)

    assert code == 2 and out == ""
    assert "bad.yaml" in err and "plan" in err
    assert code_missing == 2 and "nope.yaml" in err_missing


def test_two_bundled_examples_diff_deterministically(cli: CliRunner) -> None:
    a, b = str(EXAMPLES / "solo-creator.yaml"), str(EXAMPLES / "both-surfaces.yaml")

    first = invoke(cli, "diff", a, b, "--format", "json")
    second = invoke(cli, "diff", a, b, "--format", "json")

    assert first == second
    assert first[0] == 0
    statuses = {acc["status"] for acc in json.loads(first[1])["accounts"]}
    assert statuses <= {"added", "removed", "changed", "unchanged"}
    assert "removed" in statuses and "added" in statuses
