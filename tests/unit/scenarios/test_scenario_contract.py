"""The user contract: every example in docs/scenario-format.md loads as written."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from ledger.domain.types import Billing, GenerationMode, Plan, Tier
from ledger.pricing.loader import raw_price_book
from scenarios.errors import Severity
from scenarios.loader import load_scenario, load_scenario_text, load_workload_text
from scenarios.schema import (
    AddMember,
    Buy,
    CardFails,
    ChangePlan,
    CreateKey,
    Every,
    Scenario,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "scenarios" / "examples"

# Copied verbatim from scenario-format.md ("Scenario file"); never edit it to
# make a test pass: the contract says every release accepts it as it is.
CONTRACT_SCENARIO = """\
version: 1
name: Acme 2027                # free text
start: 2027-01-01              # first simulated instant
end: 2028-01-01                # exclusive
seed: 7                        # drives every random draw (failure rates); default 0
price_book: runway-2026-05     # a bundled price book id, or a path relative to this file
policies:                      # optional; see domain-rules.md for each policy and its default
  month_end: clamp
  tier_upgrade: spend_only
  autobill_cap: partial
  on_daily_limit: reject
  downgrade: at_renewal
overrides:                     # optional: replace price-book figures for this scenario
  web.models.gen4.5.rate: 25

workspaces:                    # web app workspaces (surface "web")
  - id: studio                 # unique across the whole scenario
    plan: standard             # free | standard | pro | unlimited | enterprise
    billing: monthly           # monthly | annual
    subscribed: 2027-01-31     # billing anchor
    editors: [ana]
    contract_credits: 60000    # enterprise only
    auto_refill: {trigger: 100, amount_usd: 10, monthly_max_usd: 50}   # optional
    events:                    # one-off account actions
      - {at: 2027-02-10, buy: 1000}            # credits
      - {at: 2027-04-01, change_plan: pro}
      - {at: 2027-05-01, add_editor: ben}
      - {at: 2027-06-01, remove_editor: ben}
      - {at: 2027-11-30, cancel: true}
    usage:                     # planned generations
      - {at: 2027-02-15T10:00, model: gen4_turbo, seconds: 10, count: 10}
      - {every: weekday, time: "09:00", model: gen4_image, resolution: 1080p, count: 3}
      - {rrule: "FREQ=MONTHLY;BYMONTHDAY=1", model: gen4.5, seconds: 5, count: 2, mode: explore}

organizations:                 # API organizations (surface "api")
  - id: product
    tier: 1
    opened: 2027-01-01
    autobill: {threshold: 1000, amount: 2000}  # credits
    events:
      - {at: 2027-01-01, buy: 5000}
      - {at: 2027-03-01, add_member: dev2}
      - {at: 2027-03-02, create_key: k2, by: dev2}
      - {at: 2027-06-01, remove_member: dev2}
      - {at: 2027-07-01, disable_key: k2}
      - {at: 2027-08-01, card_fails: 2}        # the next 2 autobill charges fail
    usage:
      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 20}
      - {every: day, between: ["09:00", "17:00"], model: gen4_image, resolution: 720p,
         count: 400, failure_rate: 0.02}

expect:                        # balance assertions, checked by `check`
  - {at: 2027-02-27, account: studio, plan: 125, purchased: 1000}
  - {at: "2027-01-31T23:00", account: product, balance: 1500}
  - {at: 2027-12-31, account: product, tier: 3}
"""

CONTRACT_WORKLOAD = """\
version: 1
kind: workload
name: Agency social videos
start: 2027-01-01
end: 2028-01-01
price_book: runway-2026-05
editors: 3                     # people who generate (seats on web routes)
usage:                         # same usage lines as in a scenario
  - {every: weekday, time: "10:00", model: gen4_turbo, seconds: 10, count: 6}
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_contract_example_scenario_loads_verbatim() -> None:
    loaded = load_scenario_text(CONTRACT_SCENARIO, filename="acme.yaml")

    scenario = loaded.scenario
    assert scenario.name == "Acme 2027"
    assert (scenario.start, scenario.end, scenario.seed) == (utc(2027, 1, 1), utc(2028, 1, 1), 7)
    assert loaded.price_book.web.models["gen4.5"].rate == 25  # the override applied
    studio = scenario.workspaces[0]
    assert (studio.plan, studio.billing, studio.subscribed) == (
        Plan.STANDARD,
        Billing.MONTHLY,
        utc(2027, 1, 31),
    )
    assert studio.auto_refill is not None and studio.auto_refill.amount_usd == 10
    assert isinstance(studio.events[0], Buy) and studio.events[0].buy == 1000
    assert isinstance(studio.events[1], ChangePlan) and studio.events[1].change_plan is Plan.PRO
    assert studio.usage[0].at == utc(2027, 2, 15, 10)
    assert (studio.usage[1].every, studio.usage[1].time) == (Every.WEEKDAY, time(9))
    assert studio.usage[2].mode is GenerationMode.EXPLORE


def test_the_contract_example_organization_reads_every_event_kind() -> None:
    product = load_scenario_text(CONTRACT_SCENARIO).scenario.organizations[0]

    assert product.tier is Tier.T1 and product.members == ["owner"]
    assert product.autobill is not None and product.autobill.amount == 2000
    assert isinstance(product.events[1], AddMember)
    assert isinstance(product.events[2], CreateKey) and product.events[2].by == "dev2"
    assert isinstance(product.events[5], CardFails) and product.events[5].card_fails == 2
    assert product.usage[1].between == (time(9), time(17))
    assert product.usage[1].failure_rate == 0.02


def test_the_contract_example_expectations_keep_quoted_times_in_utc() -> None:
    expect = load_scenario_text(CONTRACT_SCENARIO).scenario.expect

    assert expect[1].at == utc(2027, 1, 31, 23)
    assert expect[0].plan == 125 and expect[0].purchased == 1000
    assert expect[2].tier is Tier.T3
    assert all(e.from_ == utc(2027, 1, 1) for e in expect)


def test_w10_w16_the_contract_example_warns_about_what_the_replay_will_ignore_or_refuse() -> None:
    warnings = load_scenario_text(CONTRACT_SCENARIO, filename="acme.yaml").warnings

    assert [(w.line, w.field, w.rule) for w in warnings] == [
        (22, "workspaces[0].contract_credits", "W16"),
        (33, "workspaces[0].usage[2].mode", "W10"),
    ]
    assert all(w.severity is Severity.WARNING for w in warnings)


def test_the_contract_example_workload_loads_verbatim() -> None:
    loaded = load_workload_text(CONTRACT_WORKLOAD)

    assert loaded.workload.editors == 3
    assert loaded.workload.usage[0].count == 6
    assert loaded.warnings == ()


def test_omitted_fields_take_the_documented_defaults() -> None:
    scenario = load_scenario_text(
        "version: 1\nname: d\nstart: 2027-03-01\nend: 2027-04-01\n"
        "workspaces: [{id: w, plan: pro}]\norganizations: [{id: o}]\n"
        "expect: [{at: 2027-03-31, account: o, usd_spent: 12.5}]\n"
    ).scenario

    assert scenario.seed == 0 and scenario.price_book == "runway-2026-05"
    assert scenario.policies.month_end.value == "clamp"
    assert scenario.policies.enterprise_pool.value == "annual"
    assert scenario.workspaces[0].subscribed == utc(2027, 3, 1)
    assert scenario.workspaces[0].editors == ["owner"]
    assert scenario.organizations[0].opened == utc(2027, 3, 1)
    assert scenario.organizations[0].tier is Tier.T1
    assert scenario.expect[0].usd_spent == Decimal("12.5")


def test_times_in_any_accepted_form_become_aware_utc_datetimes() -> None:
    scenario = Scenario.model_validate(
        {
            "version": 1,
            "name": "t",
            "start": "2027-01-01",
            "end": datetime(2027, 6, 1, 12),  # noqa: DTZ001 - naive on purpose: read as UTC
            "workspaces": [
                {"id": "w", "plan": "pro", "subscribed": "2027-01-31T23:00+02:00"},
            ],
            "organizations": [{"id": "o", "opened": "2027-02-01 08:30"}],
        }
    )

    assert scenario.start == utc(2027, 1, 1)
    assert scenario.end == utc(2027, 6, 1, 12)
    assert scenario.workspaces[0].subscribed == utc(2027, 1, 31, 21)
    assert scenario.organizations[0].opened == utc(2027, 2, 1, 8, 30)
    assert all(t.tzinfo is UTC for t in (scenario.start, scenario.end))


def test_an_unquoted_time_of_day_is_read_as_a_time_not_as_yaml_sexagesimal() -> None:
    loaded = load_scenario_text(
        "version: 1\nname: t\nstart: 2027-01-01\nend: 2027-02-01\n"
        "workspaces:\n  - id: w\n    plan: pro\n    usage:\n"
        "      - {every: day, time: 10:00, model: gen4_turbo, seconds: 5}\n"
    )

    assert loaded.scenario.workspaces[0].usage[0].time == time(10)


def test_a_price_book_path_is_read_relative_to_the_scenario_file(tmp_path: Path) -> None:
    book = raw_price_book("runway-2026-05")
    book["web"]["models"]["gen4.5"]["rate"] = 30
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "mine.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
    scenario_file = tmp_path / "plan.yaml"
    scenario_file.write_text(
        "version: 1\nname: t\nstart: 2027-01-01\nend: 2027-02-01\nprice_book: books/mine.yaml\n",
        encoding="utf-8",
    )

    loaded = load_scenario(scenario_file)

    assert loaded.path == str(scenario_file)
    assert loaded.price_book.web.models["gen4.5"].rate == 30


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_example_scenario_loads(path: Path) -> None:
    # Workloads live beside scenarios; each loads with its own loader.
    text = path.read_text(encoding="utf-8")
    if "kind: workload" in text:
        workload = load_workload_text(text, str(path), path.parent)
        assert workload.workload.usage, f"{path.name} has no usage line"
    else:
        loaded = load_scenario(path)
        assert loaded.path == str(path)
        assert loaded.scenario.accounts(), f"{path.name} has no account"


def test_a_loaded_scenario_finds_accounts_by_id_and_lines_by_path() -> None:
    loaded = load_scenario_text(CONTRACT_SCENARIO)

    accounts = loaded.scenario.accounts()

    assert sorted(accounts) == ["product", "studio"]
    assert accounts["product"] is loaded.scenario.organizations[0]
    assert loaded.line_of(("organizations", 0, "events", 5)) == 46
    assert loaded.line_of(("organizations", 0, "events", 5, "card_fails", "nothing")) == 46
