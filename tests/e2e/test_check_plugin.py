"""The pytest plugin shipped with the package: fixture, marker, assertion helpers.

The plugin is loaded here the way users get it, through the `pytest11` entry
point of the installed package; the last tests run pytest in a subprocess
to show what a user sees when a test fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.tools.testing import (
    LedgerRun,
    assert_balance,
    assert_expectations,
    assert_invariants,
    frozen_wall_clock,
    instant,
)
from ledger.tools.testing.plugin import ReplayFactory
from scenarios.errors import ScenarioError
from tests.e2e.conftest import EXAMPLES

SOLO = EXAMPLES / "solo-creator.yaml"
API = """
    version: 1
    name: api
    start: 2027-01-01
    end: 2027-02-01
    organizations:
      - id: backend
        tier: 1
        autobill: {threshold: 1000, amount: 2000}
        events:
          - {at: 2027-01-01T08:30, buy: 1000}
        usage:
          - {every: day, time: "09:00", model: gen4_turbo, seconds: 5, count: 10}
    expect:
      - {at: 2027-01-01T09:00, account: backend, balance: 1000}
"""


def test_the_plugin_comes_from_the_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("credit_ledger")
    assert plugin is not None and plugin.__name__ == "ledger.tools.testing.plugin"
    assert any(line.startswith("frozen_clock(") for line in pytestconfig.getini("markers")), (
        "the frozen_clock marker is registered"
    )


def test_a_scenario_file_answers_every_question(credit_ledger: ReplayFactory) -> None:
    run: LedgerRun = credit_ledger(SOLO)
    assert run.accounts == ["creator"]
    assert run.balance("creator", "2027-03-15T10:00").purchased == 50
    assert run.balance("creator", date(2027, 1, 23)).plan == 75
    names = run.event_names("creator")
    assert names[:3] == ["PlanSubscribed", "GenerationCharged", "GenerationCharged"]
    window = run.events("creator", since="2027-03-01", until="2027-03-01T23:59")
    assert [type(e).__name__ for e in window] == ["CreditsPurchased", "GenerationCharged"]
    assert run.scalar("SELECT count(*) FROM events WHERE account_id = ?", ["creator"]) == len(names)
    assert run.sql(
        "SELECT plan, purchased FROM balance_at('creator', TIMESTAMPTZ '2027-03-15 10:00+00')"
    ) == [(625, 50)]
    (jan,) = run.sql_dicts("SELECT * FROM monthly_summary WHERE month = DATE '2027-01-01'")
    assert (jan["granted"], jan["used"]) == (625, 625)
    summary = run.summary("creator")
    assert summary["usd_total"] == Decimal("220.00") == run.usd_spent("creator")
    assert run.audit("creator", until="2027-01-15T19:00", last=2) == run.audit(
        "creator", until="2027-01-15T19:00"
    )
    assert run.audit("creator", until="2027-01-15T19:00")[-1].endswith(
        "| plan=550 purchased=0 balance=550"
    )
    assert run.describe("creator")[0].startswith("2027-01-15T10:00:00+00:00 PlanSubscribed")
    assert run.check().passed
    assert run.invariants() == []
    assert_expectations(run)
    assert_invariants(run)


def test_inline_yaml_is_dedented_and_replayed(credit_ledger: ReplayFactory) -> None:
    run = credit_ledger(API)
    # A04: the 00:00 check buys 2,000 (balance 0 < 1,000); 1,000 bought at 08:30; ten
    # 25-credit clips at 09:00: 3,000 - 250 = 2,750.
    assert_balance(run, "backend", "2027-01-01T09:00", balance=2750, tier=1)
    assert run.folder.name == "1-inline"
    # The second run of a test gets its own folder; the first stays open and usable.
    other = credit_ledger(API, name="again")
    assert other.folder.name == "2-again"
    assert run.balance("backend", "2027-01-01T00:00").balance == 2000


def test_until_stops_the_simulated_clock(credit_ledger: ReplayFactory) -> None:
    run = credit_ledger(API, until="2027-01-02T12:00")
    last = run.events("backend")[-1]
    assert last.timestamp <= instant("2027-01-02T12:00")
    assert run.info.until == instant("2027-01-02T12:00")


def test_bad_inline_yaml_raises_every_problem(credit_ledger: ReplayFactory) -> None:
    with pytest.raises(ScenarioError) as caught:
        credit_ledger(
            API.replace("buy: 1000", "buy: 10").replace("account: backend", "account: front")
        )
    text = str(caught.value)
    assert "<inline>, line 10, organizations[0].events[0].buy" in text
    assert (
        "<inline>, line 14, expect[0].account: no workspace or organization is called 'front'"
        in text
    )


def test_assert_balance_explains_a_difference_like_a_diff(credit_ledger: ReplayFactory) -> None:
    run = credit_ledger(SOLO)
    with pytest.raises(AssertionError) as caught:
        assert_balance(run, "creator", "2027-01-22T19:00", plan=76, purchased=0, balance=75)
    lines = str(caught.value).splitlines()
    assert lines[:5] == [
        "balances of 'creator' at 2027-01-22T19:00:00+00:00 differ from the test's (plan):",
        "                   expected        actual",
        "  - plan                 76            75  (-1)",
        "    purchased             0             0",
        "    balance              75            75",
    ]
    assert lines[5] == "  last 5 event(s) of 'creator' up to then:"
    assert lines[-1].startswith("    2027-01-22T19:00:00+00:00 GenerationCharged count=3")
    assert lines[-1].endswith("| plan=75 purchased=0 balance=75")


def test_assert_balance_on_an_account_not_open_yet(credit_ledger: ReplayFactory) -> None:
    run = credit_ledger(SOLO)
    with pytest.raises(AssertionError, match="no balances for 'creator' at 2027-01-01T00:00"):
        assert_balance(run, "creator", "2027-01-01", plan=0)
    with pytest.raises(TypeError, match="at least one of"):
        assert_balance(run, "creator", "2027-02-01")


def test_assert_expectations_lists_each_failure(credit_ledger: ReplayFactory) -> None:
    run = credit_ledger(API.replace("balance: 1000}", "balance: 2751}"))
    with pytest.raises(AssertionError) as caught:
        assert_expectations(run)
    text = str(caught.value)
    assert text.startswith("<inline>: 1 expectation field(s), 1 failed\nFAIL <inline>:14:")
    assert "expected: 2,751" in text and "actual:   2,750  (difference -1)" in text


@pytest.mark.frozen_clock("2031-05-01T12:00")
def test_the_marker_freezes_the_wall_clock(credit_ledger: ReplayFactory, frozen_clock: Any) -> None:
    assert datetime.now(UTC) == datetime(2031, 5, 1, 12, tzinfo=UTC)
    assert datetime.now(UTC).date() == date(2031, 5, 1)
    frozen_clock.tick(60)
    assert datetime.now(UTC) == datetime(2031, 5, 1, 12, 1, tzinfo=UTC)
    # Replays under a frozen wall clock store simulated instants only (S03).
    run = credit_ledger(API)
    assert run.events("backend")[0].timestamp == instant("2027-01-01")
    assert_balance(run, "backend", "2027-01-01T09:00", balance=2750)


@pytest.mark.frozen_clock("2031-05-01", tick=True)
def test_the_marker_can_let_the_clock_run_on() -> None:
    first = datetime.now(UTC)
    time.sleep(0.01)
    assert datetime(2031, 5, 1, tzinfo=UTC) <= first < datetime.now(UTC)


def test_the_wall_clock_is_real_without_the_marker(tmp_path: Path) -> None:
    # A file's modification time comes from the kernel, which freezegun cannot
    # reach: without the marker, "now" is that clock, not a frozen one.
    stamp = tmp_path / "now"
    stamp.write_text("", encoding="utf-8")
    kernel = stamp.stat().st_mtime
    assert abs(datetime.now(UTC).timestamp() - kernel) < 60


def test_frozen_wall_clock_as_a_context_manager() -> None:
    with frozen_wall_clock("2030-02-03") as clock:
        assert datetime.now(UTC).date() == date(2030, 2, 3)
        clock.move_to("2030-03-01")
        assert datetime.now(UTC).date() == date(2030, 3, 1)
    assert datetime.now(UTC).date() != date(2030, 3, 1)


def run_pytest(
    folder: Path, source: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a test file in a fresh pytest process; the outcome of each test by name."""
    (folder / "test_user.py").write_text(textwrap.dedent(source), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--strict-markers",
            "--junitxml=out.xml",
            "test_user.py",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outcomes = {}
    for case in ET.parse(folder / "out.xml").getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        outcomes[str(case.get("name"))] = kinds[0] if kinds else "passed"
    return result, outcomes


def test_a_user_sees_the_balance_diff_when_a_test_fails(tmp_path: Path) -> None:
    result, outcomes = run_pytest(
        tmp_path,
        f"""
        import pytest
        from ledger.tools.testing import assert_balance

        def test_wrong_plan(credit_ledger):
            run = credit_ledger({str(SOLO)!r})
            assert_balance(run, "creator", "2027-01-22T19:00", plan=76)

        @pytest.mark.frozen_clock
        def test_marker_without_an_instant():
            pass

        def test_fixture_without_the_marker(frozen_clock):
            pass
        """,
    )
    assert outcomes == {
        "test_wrong_plan": "failure",
        "test_marker_without_an_instant": "error",
        "test_fixture_without_the_marker": "error",
    }, result.stdout + result.stderr
    out = result.stdout
    assert "  - plan                 76            75  (-1)" in out
    assert "last 5 event(s) of 'creator' up to then:" in out
    # __tracebackhide__: the traceback stops at the test's own line.
    assert "test_user.py:7: AssertionError" in out
    assert "assertions.py" not in out
    assert (
        '@pytest.mark.frozen_clock needs an instant, e.g. @pytest.mark.frozen_clock("2031-05-01")'
        in out
    )
    assert "the frozen_clock fixture needs the marker" in out
