"""Billing rules as regression tests, with the credit-ledger pytest plugin.

The scenario is written inline; each test replays it into its own temporary
folder through the `credit_ledger` fixture. Figures are computed by hand:
Standard gives 625 plan credits a month (W01), a 10 s Gen-4.5 generation
costs 250 web credits, and there is one every Saturday.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger.testing import assert_balance, assert_expectations

SCENARIO = """
    version: 1
    name: Saturday finals on Standard
    start: 2027-01-15T10:00
    end: 2027-04-15T10:00
    workspaces:
      - id: creator
        plan: standard
        subscribed: 2027-01-15T10:00
        events:
          - {at: 2027-03-01, buy: 1000}
        usage:
          - {rrule: "FREQ=WEEKLY;BYDAY=SA", time: "11:00", model: gen4.5, seconds: 10}
    expect:
      # Jan 16 and 23 use 2 x 250: 625 - 500 = 125 left; Jan 30 needs 250 and is refused.
      - {at: 2027-02-14, account: creator, plan: 125, refused: 3}
      # The refresh on Feb 15 forfeits those 125 and sets the bucket to 625 (W06).
      - {at: 2027-02-15T10:00, account: creator, plan: 625, forfeited_total: 125}
"""


def test_a_refresh_forfeits_the_rest_and_sets_the_allowance(credit_ledger):
    run = credit_ledger(SCENARIO)
    assert_balance(run, "creator", "2027-02-14", plan=125, purchased=0)
    assert_balance(run, "creator", "2027-02-15T10:00", plan=625)
    forfeited = run.scalar("SELECT sum(amount) FROM forfeited_credits WHERE reason = 'reset'")
    assert forfeited == 125


def test_purchased_credits_survive_the_refresh(credit_ledger):
    run = credit_ledger(SCENARIO)
    # Feb 20 and 27 leave 125 plan credits; 1,000 bought on Mar 1. Mar 6 takes the 125
    # plan credits first, then 125 purchased ones (W08); Mar 13 takes 250 more.
    assert_balance(run, "creator", "2027-03-13T11:00", plan=0, purchased=625)
    # The refresh on Mar 15 sets plan credits and leaves purchased ones alone (W07).
    assert_balance(run, "creator", "2027-03-15T10:00", plan=625, purchased=625, balance=1250)


def test_the_scenario_expectations_hold(credit_ledger):
    run = credit_ledger(SCENARIO)
    assert_expectations(run)
    assert len(run.check().results) == 4  # one result per figure: plan, refused, plan, forfeited


def test_the_summary_of_the_quarter(credit_ledger):
    summary = credit_ledger(SCENARIO).summary("creator")
    # Refused on Jan 30, Feb 6 and Feb 13; three $15 seats and $10 of credits.
    assert summary["refused"] == {"insufficient_credits": 3}
    assert summary["usd_total"] == Decimal("55.00")


def test_the_clock_can_stop_early(credit_ledger):
    run = credit_ledger(SCENARIO, until="2027-02-01")
    assert run.event_names("creator") == [
        "PlanSubscribed",
        "GenerationCharged",
        "GenerationCharged",
        "GenerationRefused",
    ]
    assert run.balance("creator", "2027-02-01").plan == 125


def test_a_scenario_file(credit_ledger, tmp_path):
    path = tmp_path / "saturdays.yaml"
    path.write_text(SCENARIO.replace("\n    ", "\n"), encoding="utf-8")
    run = credit_ledger(path)
    rows = run.sql("SELECT month, used FROM monthly_summary ORDER BY month")
    # Saturdays charged: Jan 16, 23; Feb 20, 27; Mar 6, 13, 20, 27; Apr 3, 10 (x 250).
    assert [used for _, used in rows] == [500, 500, 1000, 500]


@pytest.mark.frozen_clock("2031-05-01")
def test_code_that_reads_now_sees_the_frozen_clock(credit_ledger):
    assert datetime.now(UTC).date().isoformat() == "2031-05-01"
    run = credit_ledger(SCENARIO)
    # The ledger never reads the wall clock: events carry simulated instants (S03).
    assert run.events("creator")[0].timestamp == datetime(2027, 1, 15, 10, tzinfo=UTC)
