"""The run summary answers without SQL, and `credit-ledger prices` lists the price book.

- Per web workspace: the day the plan credits ran out in each billing period,
  or "never" (W09 when a generation is refused for want of credits).
- Per account: every refusal and every blocked or cut recharge, by reason
  with its rule id, A07 included.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ledger.pricing.loader import load_price_book
from ledger.tools.cli.prices import figures
from tests.e2e.conftest import EXAMPLES, invoke

ROOT = Path(__file__).resolve().parents[2]

# Standard: 625 plan credits a month; a 10 s Gen-4.5 generation costs 250 on the web.
# Jan 1 (Fri) and Jan 4 use 500: 125 left, so Jan 5's generation is refused (W09):
# the plan credits ran out on Jan 5. Feb 1 and 2 use 500 of the refreshed 625: Feb 3.
# The organization's autobill asks for 20,000 credits ($200) with Tier 1's $100 30-day
# cap and the `skip` policy: no recharge is made (A07, monthly_cap).
CAPPED = """\
version: 1
name: Capped recharges
start: 2027-01-01
end: 2027-03-01
policies:
  autobill_cap: skip
workspaces:
  - id: studio
    plan: standard
    usage:
      - {every: weekday, time: "11:00", model: gen4.5, seconds: 10}
  - id: idle
    plan: pro
organizations:
  - id: app
    tier: 1
    autobill: {threshold: 1000, amount: 20000}
    events:
      - {at: 2027-01-01T06:00, buy: 5000}
    usage:
      - {every: day, time: "09:00", model: gen4.5, seconds: 10, count: 3}
"""


def test_the_summary_says_when_plan_credits_ran_out_and_why_things_were_refused(
    workdir: Path, cli: CliRunner
) -> None:
    (workdir / "capped.yaml").write_text(CAPPED, encoding="utf-8")
    code, out, _ = invoke(cli, "run", "capped.yaml", "--format", "json")
    assert code == 0
    accounts = {a["account"]: a for a in json.loads(out)["accounts"]}
    studio = accounts["studio"]
    assert [(p["start"][:10], p["ran_out"]) for p in studio["plan_credits_ran_out"]] == [
        ("2027-01-01", "2027-01-05"),
        ("2027-02-01", "2027-02-03"),
    ]
    assert [p["ran_out"] for p in accounts["idle"]["plan_credits_ran_out"]] == [None, None]
    (w09,) = studio["refusals_by_rule"]
    assert (w09["what"], w09["reason"], w09["rule"]) == (
        "generation",
        "insufficient_credits",
        "W09",
    )
    # Jan: 5-8, 11-15, 18-22, 25-29 = 19 weekdays; Feb: 3-5, 8-12, 15-19, 22-26 = 18.
    assert w09["count"] == 37
    rules = {(r["what"], r["reason"]): r["rule"] for r in accounts["app"]["refusals_by_rule"]}
    assert rules[("autobill", "monthly_cap")] == "A07"

    code, out, _ = invoke(cli, "run", "capped.yaml")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.split() == ["2027-01-01", "..", "2027-02-01", "625", "2027-01-05"] for line in lines
    )
    assert any(line.split()[-1] == "never" for line in lines)
    assert any(line.split()[:4] == ["autobill", "monthly_cap", "A07", "1"] for line in lines)
    assert any(
        line.split()[:4] == ["generation", "insufficient_credits", "W09", "37"] for line in lines
    )


def test_a_recharge_cut_by_the_cap_is_reported_with_a07(workdir: Path, cli: CliRunner) -> None:
    text = CAPPED.replace("autobill_cap: skip", "autobill_cap: partial")
    (workdir / "cut.yaml").write_text(text, encoding="utf-8")
    code, out, _ = invoke(cli, "run", "cut.yaml", "--format", "json")
    assert code == 0
    app = next(a for a in json.loads(out)["accounts"] if a["account"] == "app")
    cut = [r for r in app["refusals_by_rule"] if r["reason"] == "cut_by_cap"]
    assert [(r["what"], r["rule"]) for r in cut] == [("autobill", "A07")]


def test_prices_lists_every_figure_with_its_source_and_confidence(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "prices", "--format", "json")
    assert code == 0
    data = json.loads(out)
    rows = {row["figure"]: row for row in data["figures"]}
    book = load_price_book(data["price_book"], {}, None)
    assert rows["web.models.gen4.5.rate"]["value"] == book.web.models["gen4.5"].rate
    assert rows["web.plans.standard.monthly_usd"]["value"] == "15"
    assert rows["web.plans.standard.monthly_usd"]["conf"] == "3P"  # its own figure's mark
    assert rows["web.plans.standard.credits"]["conf"] == "R"
    assert "api.tiers.1.monthly_cap_usd" in rows
    assert any(name.startswith("api.tiers.3.limits.") for name in rows)
    assert all(row["conf"] in {"R", "G", "3P", "A"} and row["source"] for row in rows.values())
    assert len(rows) == len(list(figures(book)))

    code, out, _ = invoke(cli, "prices", "--only", "web.plans.pro.")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"price book {data['price_book']}")
    credits = next(line for line in lines if line.startswith("web.plans.pro.credits "))
    assert credits.split()[1:3] == ["2,250", "R"]


def test_prices_of_a_scenario_show_its_overrides(workdir: Path, cli: CliRunner) -> None:
    text = (EXAMPLES / "solo-creator.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 1\n", "version: 1\noverrides: {web.models.gen4.5.rate: 30}\n", 1)
    (workdir / "dear.yaml").write_text(text, encoding="utf-8")
    code, out, _ = invoke(cli, "prices", "--scenario", "dear.yaml", "--format", "json")
    assert code == 0
    rows = {row["figure"]: row for row in json.loads(out)["figures"]}
    assert rows["web.models.gen4.5.rate"]["value"] == 30


def test_the_prices_example_of_commands_md_prints_what_it_shows(cli: CliRunner) -> None:
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8").split("## prices", 1)[1]
    block = text.split("```console", 2)[2].split("```")[0].strip().splitlines()
    command, shown = block[0], block[1:]
    assert command.startswith("$ credit-ledger prices ")
    code, out, _ = invoke(cli, *command.split()[2:])
    assert code == 0
    assert out.splitlines() == shown
