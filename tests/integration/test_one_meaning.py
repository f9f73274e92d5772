"""Issue 15, one meaning of "used": compare's and diff's figures are SQL's, figure by figure.

``compare`` and ``diff`` count through ``ledger.tools.decide.measure`` (a fold of
each event's declared effects); ``run``, ``report`` and SQL read the DuckDB
projection through the read API of ``projections/``. On every example that
replays, the run folder ``credit-ledger run`` writes and a replay into
``MeasuringLedger`` (what ``compare`` replays into) give, for every account and
every month of the window, the same dollars paid (``Decimal``), credits bought,
charged, refunded, used, forfeited and refused (``int``), and the same balances
at the month's end; and over the window the same totals, refusals by reason
and final balance. ``diff``'s replay (``Ledger("memory")``) measures the same.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.domain.types import Surface
from ledger.tools.decide.diff import replay_figures
from ledger.tools.decide.measure import AccountFigures, MeasuringLedger, measure
from ledger.tools.runs import run_scenario
from ledger.tools.testing.golden import example_scenarios
from projections import queries
from scenarios.engine import replay
from scenarios.loader import LoadedScenario, load_scenario

EXAMPLES = example_scenarios(Path(__file__).parents[2] / "scenarios" / "examples")

# Each key of queries.MonthlyFigures, the attribute of measure.MonthFigures of that name.
MONTH_FIGURES = (
    "usd",
    "bought",
    "charged",
    "refunded",
    "used",
    "forfeited",
    "refused",
    "balance",
    "plan",
    "purchased",
    "tier",
)


def compare_figures(loaded: LoadedScenario) -> dict[str, AccountFigures]:
    """Every account's figures as ``compare`` measures a route: a replay into memory."""
    scenario = loaded.scenario
    ledger = MeasuringLedger()
    try:
        replay(scenario, loaded.price_book, ledger, file=loaded.path, line_of=loaded.line_of)
        accounts = [(Surface.WEB, w.id) for w in scenario.workspaces] + [
            (Surface.API, o.id) for o in scenario.organizations
        ]
        return {
            name: measure(ledger, name, surface, scenario.start, scenario.end)
            for surface, name in accounts
        }
    finally:
        ledger.close()


def test_every_example_is_checked() -> None:
    assert len(EXAMPLES) >= 7  # the bundled scenarios; workload files are compare's own input


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_compare_figures_equal_sql_on_every_example(path: Path, tmp_path: Path) -> None:
    loaded = load_scenario(path)
    info = run_scenario(path, tmp_path / path.stem, loaded=loaded)  # as `credit-ledger run`
    measured = compare_figures(loaded)
    diffed = {name: f for (_, name), f in replay_figures(loaded, "a").items()}
    con = queries.connect(info.duckdb_path)
    try:
        accounts = queries.accounts(con)
        assert sorted(name for name, _ in accounts) == sorted(measured)
        for account, surface in accounts:
            figures = measured[account]
            assert figures.surface.value == surface
            assert diffed[account] == figures, account
            months = queries.monthly_figures(con, account)
            assert [m["month"] for m in months] == [m.month for m in figures.months], account
            for sql, folded in zip(months, figures.months, strict=True):
                assert isinstance(sql["usd"], Decimal) and isinstance(folded.usd, Decimal)
                row: dict[str, object] = dict(sql)
                for key in MONTH_FIGURES:
                    assert row[key] == getattr(folded, key), (account, sql["month"], key)

            summary = queries.account_summary(con, account)
            assert isinstance(summary["usd_total"], Decimal)
            assert summary["usd_total"] == figures.usd_total, account
            assert summary["bought"] == figures.bought, account
            assert summary["charged"] == figures.charged, account
            assert summary["refunded"] == figures.refunded, account
            assert summary["used"] == figures.used == figures.charged - figures.refunded, account
            assert summary["forfeited"] == figures.forfeited, account
            assert summary["final_balance"] == figures.final_balance, account
            by_reason: Counter[str] = Counter()
            for (reason, _), count in figures.refused_by.items():
                by_reason[reason.value] += count
            assert summary["refused"] == dict(by_reason), account
            assert sum(summary["refused"].values()) == figures.refused, account
            assert sum(summary["other_refusals"].values()) == figures.other_refusals, account
            # the window's months add up to the window
            assert sum((m["usd"] for m in months), Decimal("0.00")) == figures.usd_total
            assert sum(m["used"] for m in months) == figures.used, account
    finally:
        con.close()
