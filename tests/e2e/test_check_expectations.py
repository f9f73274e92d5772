"""What each `expect` field measures (ledger.tools.checks), on a scenario small enough
to work out by hand. Runs come from the package's own pytest fixture."""

from __future__ import annotations

from decimal import Decimal

from ledger.domain.time import to_us
from ledger.tools.checks import ExpectationResult, count_between
from ledger.tools.testing import instant
from ledger.tools.testing.plugin import ReplayFactory

# Standard (625 plan credits, 5 seats) from Jan 10. On Jan 12, 40 generations of
# 5 s Gen-4.5 (125 each) spread over 10:00-11:00, one every 1.5 min: the first 5
# (10:00-10:06) use the 625, the other 35 (10:07:30-10:58:30) are refused.
SCENARIO = """
version: 1
name: checks
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: w
    plan: standard
    subscribed: 2027-01-10
    editors: [a, b, c, d, e]
    events:
      - {at: 2027-01-11, add_editor: f}
    usage:
      - {every: day, from: 2027-01-12, until: 2027-01-13, between: ["10:00", "11:00"],
         model: gen4.5, seconds: 5, count: 40}
expect:
  - {at: 2027-01-05, account: w, balance: 0}
  - {at: 2027-01-12T10:30, account: w, refused: 16, reason: insufficient_credits}
  - {at: 2027-01-12T10:30, account: w, refused: 17}
  - {from: 2027-01-12T10:15, at: 2027-01-12T10:30, account: w, refused: 11}
  - {at: 2027-01-12T10:30, account: w, refused: 1, reason: seat_cap}
  - {at: 2027-01-12T10:03, account: w, plan: 250, purchased: 5}
  - {at: 2027-01-12T12:00, account: w, balance_between: [1, 10]}
  - {at: 2027-01-10, account: w, usd_spent: 75}
  - {at: 2027-02-10, account: w, plan: 625, forfeited_total: 0, balance_between: [625, 625]}
"""


def by_index(results: tuple[ExpectationResult, ...]) -> dict[tuple[int, str], ExpectationResult]:
    return {(r.index, r.field): r for r in results}


def test_each_field_measures_what_the_format_says(credit_ledger: ReplayFactory) -> None:
    report = credit_ledger(SCENARIO).check()
    got = {key: (r.expected, r.actual, r.passed) for key, r in by_index(report.results).items()}
    assert got == {
        # Before the subscription there is no account yet: a failure, not a zero.
        (0, "balance"): (0, None, False),
        # Refused tasks up to 10:30 are i = 5..20 (10:00 + 1.5 min x i <= 10:30): 16.
        (1, "refused"): (16, 16, True),
        # Without a reason every refusal counts: the sixth editor too (W03).
        (2, "refused"): (17, 17, True),
        # From 10:15 (i >= 10) to 10:30 (i <= 20): 11.
        (3, "refused"): (11, 11, True),
        (4, "refused"): (1, 1, True),
        # Inside the charged run (S05): 10:00, 10:01:30, 10:03 are done, 625 - 3 x 125 = 250.
        (5, "plan"): (250, 250, True),
        (5, "purchased"): (5, 0, False),
        (6, "balance_between"): ((1, 10), 0, False),
        # 5 seats x $15 at the subscription.
        (7, "usd_spent"): (Decimal(75), Decimal("75.00"), True),
        # Feb 10: the refresh sets 625; January's plan credits were all used, nothing forfeited.
        (8, "plan"): (625, 625, True),
        (8, "forfeited_total"): (0, 0, True),
        (8, "balance_between"): ((625, 625), 625, True),
    }
    missing = by_index(report.results)[(0, "balance")]
    assert missing.note == "'w' did not exist yet at 2027-01-05T00:00:00+00:00"
    assert "actual:   none ('w' did not exist yet" in missing.describe()


def test_a_failure_inside_a_run_shows_the_run_in_progress(credit_ledger: ReplayFactory) -> None:
    report = credit_ledger(SCENARIO).check()
    failure = by_index(report.results)[(5, "purchased")]
    lines = SCENARIO.strip("\n").splitlines()
    assert failure.file == "<inline>"
    assert failure.line is not None
    assert (
        lines[failure.line - 1] == "  - {at: 2027-01-12T10:03, account: w, plan: 250, purchased: 5}"
    )
    assert failure.recent[-1].endswith("| in progress: 3 of 5 by then")
    assert failure.recent[-1].startswith("2027-01-12T10:06:00+00:00 GenerationCharged count=5")
    assert failure.recent[0].startswith("2027-01-10T00:00:00+00:00 PlanSubscribed")
    assert failure.recent[1].startswith("2027-01-11T00:00:00+00:00 EditorRefused")
    assert failure.recent[1].endswith("| plan=625 purchased=0 balance=625")
    between = by_index(report.results)[(6, "balance_between")]
    assert "expected: between 1 and 10" in between.describe()
    assert between.difference is None


def test_the_report_counts_and_names_every_result(credit_ledger: ReplayFactory) -> None:
    report = credit_ledger(SCENARIO).check()
    assert not report.passed
    assert len(report.results) == 12 and len(report.failures) == 3
    assert report.summary() == "<inline>: 12 expectation field(s), 3 failed"
    assert report.text().count("FAIL <inline>:") == 3
    assert [r.name for r in report.failures] == [
        "w balance at 2027-01-05",
        "w purchased at 2027-01-12T10:03",
        "w balance_between at 2027-01-12T12:00",
    ]


def test_a_run_stopped_early_leaves_later_expectations_unchecked(
    credit_ledger: ReplayFactory,
) -> None:
    report = credit_ledger(SCENARIO, until="2027-01-12T10:30").check()
    assert report.skipped == (6, 8)
    assert {r.index for r in report.results} == {0, 1, 2, 3, 4, 5, 7}
    assert report.summary().endswith("2 expectation(s) after 2027-01-12T10:30 not evaluated")


def test_refused_runs_are_counted_task_by_task_inside_the_interval() -> None:
    first = to_us(instant("2027-01-12T10:00"))
    minute = 60_000_000
    # 10 tasks from 10:00, one a minute (10:00 ... 10:09), and one task alone at 11:00.
    rows = [(10, first, first + 9 * minute), (1, first + 60 * minute, first + 60 * minute)]
    assert count_between(rows, first, first + 9 * minute) == 10
    assert count_between(rows, first + 3 * minute, first + 5 * minute) == 3
    assert count_between(rows, first + 3 * minute + 1, first + 5 * minute - 1) == 1
    assert count_between(rows, first + 10 * minute, first + 59 * minute) == 0
    assert count_between(rows, first, first + 60 * minute) == 11
    # All at one instant (interval 0): all or nothing.
    assert count_between([(5, first, first)], first, first) == 5
    assert count_between([(5, first, first)], first + 1, first + 2) == 0
