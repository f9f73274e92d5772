"""Assertion helpers whose failure messages read like a diff of balances.

They raise ``AssertionError`` with everything needed to fix the test or the
scenario: the account and instant, each figure expected and found, and the
account's last events before that instant with the balances after each.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.errors import DomainError
from ledger.domain.types import Surface
from ledger.tools.checks import recent_events
from ledger.tools.testing.harness import Instant, LedgerRun, instant

WEB_FIELDS = ("plan", "purchased", "balance")
API_FIELDS = ("balance", "tier")


def balance_diff(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Diff-like lines, one per figure of ``actual``: '-' marks an expected figure that
    differs (with the difference); figures the test did not give are context."""
    width = max(len(name) for name in actual)
    lines = [f"    {'':<{width}}  {'expected':>12}  {'actual':>12}"]
    for name, got in actual.items():
        given = name in expected
        want = expected.get(name)
        mark = "-" if given and got != want else " "
        diff = ""
        if mark == "-" and isinstance(got, int) and isinstance(want, int):
            diff = f"  ({got - want:+,})"
        shown = _fmt(want) if given else ""
        lines.append(f"  {mark} {name:<{width}}  {shown:>12}  {_fmt(got):>12}{diff}")
    return lines


def assert_balance(
    run: LedgerRun,
    account: str,
    at: Instant,
    *,
    plan: int | None = None,
    purchased: int | None = None,
    balance: int | None = None,
    tier: int | None = None,
    recent: int = 5,
) -> None:
    """Assert an account's figures at ``at`` (S05); only the figures given are compared."""
    __tracebackhide__ = True
    when = instant(at)
    given = {"plan": plan, "purchased": purchased, "balance": balance, "tier": tier}
    expected = {k: v for k, v in given.items() if v is not None}
    if not expected:
        raise TypeError("assert_balance needs at least one of plan, purchased, balance, tier")
    try:
        found = run.balance(account, when)
    except DomainError as exc:
        raise AssertionError(f"no balances for {account!r} at {when.isoformat()}: {exc}") from None
    shown = WEB_FIELDS if found.surface is Surface.WEB else API_FIELDS
    actual = {name: getattr(found, name) for name in shown}
    for name in expected:
        actual.setdefault(name, getattr(found, name))
    if all(actual[k] == v for k, v in expected.items()):
        return
    lines = [
        f"balances of {account!r} at {when.isoformat()} differ from the test's "
        f"({', '.join(k for k, v in expected.items() if actual[k] != v)}):",
        *balance_diff(expected, actual),
    ]
    trail = recent_events(run.ledger, account, when, recent)
    if trail:
        lines.append(f"  last {len(trail)} event(s) of {account!r} up to then:")
        lines += [f"    {line}" for line in trail]
    raise AssertionError("\n".join(lines))


def assert_expectations(run: LedgerRun) -> None:
    """Assert every expectation of the scenario's ``expect`` block holds."""
    __tracebackhide__ = True
    report = run.check()
    if not report.passed:
        raise AssertionError(report.text())


def assert_invariants(run: LedgerRun) -> None:
    """Assert no whole-run invariant (``ledger.invariants``) is broken."""
    __tracebackhide__ = True
    errors = run.invariants()
    if errors:
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise AssertionError(f"{len(errors)} invariant(s) broken:\n{shown}{more}")


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
