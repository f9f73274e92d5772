"""Grouped runs and per-task processing give the same ledger (issue: scale).

Each scenario is replayed twice into memory: grouped (runs of identical tasks
handed over whole) and per task (one call and one event per task). Every run
event is expanded back into its tasks; the two expanded streams must be
identical task by task (same instant, outcome, refusal reason, shortfall,
refund), every other event must be identical, the worst queue wait per day
must agree, and balances must agree at every event instant and at random
instants inside runs.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.web import WebWorkspace
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import LoadedScenario, load_scenario, load_scenario_text

EXAMPLES = [
    p
    for p in sorted((Path(__file__).parents[2] / "scenarios" / "examples").glob("*.yaml"))
    if "kind: workload" not in p.read_text(encoding="utf-8")
]
RUN_TYPES = (
    WebWorkspace.GenerationCharged,
    WebWorkspace.GenerationRefused,
    ApiOrganization.TaskCharged,
    ApiOrganization.TaskRefused,
)
# A scenario built to hit every limit: the daily limit (A08), the 30-day cap
# on purchases and autobill (A07), card failures and their retries (A05), lack
# of credits between hourly checks (A03/A04), Auto Refill and its monthly
# maximum (W15), refusals for credits (W09), refunds and safety failures.
EVERY_LIMIT = """
version: 1
name: every limit
start: 2027-01-01
end: 2027-02-21
seed: 9
policies: {autobill_cap: partial}
overrides:  # stay on Tier 1: a $100 cap and 200 images a day
  api.tiers.2.unlock_usd: "100000"
  api.tiers.3.unlock_usd: "100000"
  api.tiers.4.unlock_usd: "100000"
  api.tiers.5.unlock_usd: "100000"
workspaces:
  - id: ws
    plan: standard
    subscribed: 2027-01-01T18:00
    auto_refill: {trigger: 200, amount_usd: 10, monthly_max_usd: 30}
    usage:
      - {every: day, between: ["09:00", "21:00"], model: gen4_turbo, seconds: 5, count: 40,
         failure_rate: 0.1}
      - {every: day, time: "12:00", model: gen4_image, count: 7, safety_failure_rate: 0.2}
organizations:
  - id: org
    tier: 1
    autobill: {threshold: 3000, amount: 5000}
    events:
      - {at: 2027-01-01T08:00, buy: 2000}
      - {at: 2027-01-20, buy: 9000}
      - {at: 2027-01-25, card_fails: 3}
      - {at: 2027-02-10, enable_autobill: true}
    usage:
      - {every: day, between: ["06:00", "23:00"], model: gen4_image, resolution: 720p,
         count: 700, failure_rate: 0.05, safety_failure_rate: 0.02}
      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 260}
      - {every: day, between: ["10:00", "10:30"], model: gen4.5, seconds: 10, count: 30}
"""


# Per-task mode is slow by design; the examples are compared over their first
# months (where every rule they exercise already acts), the limit scenario whole.
HORIZON = timedelta(days=45)


def _replay(
    loaded: LoadedScenario, per_task: bool, until: datetime | None = None, store: Any = "memory"
) -> Ledger:
    ledger = Ledger(store, run="equivalence")
    replay(
        loaded.scenario,
        loaded.price_book,
        ledger,
        options=ReplayOptions(per_task=per_task, until=until),
    )
    return ledger


def _balances(ledger: Ledger, name: str, at: datetime) -> Any:
    try:
        return ledger.balances_at(name, at)
    except DomainError as exc:  # the account did not exist yet at `at`
        return str(exc)


def _expand(ledger: Ledger, aggregate_id: Any) -> tuple[list[tuple[Any, ...]], dict[Any, int]]:
    tasks: list[tuple[Any, ...]] = []
    worst: dict[Any, int] = defaultdict(int)
    for event in ledger.events.get(aggregate_id):
        if isinstance(event, RUN_TYPES):
            step = timedelta(microseconds=event.interval_us)
            refunded = set(getattr(event, "refunded", []))
            safety = set(getattr(event, "safety_failed", []))
            charged = isinstance(
                event, WebWorkspace.GenerationCharged | ApiOrganization.TaskCharged
            )
            for i in range(event.count):
                tasks.append(
                    (
                        event.first_at + i * step,
                        "charged" if charged else "refused",
                        event.model,
                        event.credits_each,
                        getattr(event, "reason", None),
                        getattr(event, "shortfall", None),
                        i in refunded,
                        i in safety,
                    )
                )
            if isinstance(event, ApiOrganization.TaskCharged):
                day = event.first_at.date()
                worst[day] = max(worst[day], event.max_wait_us)
        else:
            state = {
                k: v
                for k, v in vars(event).items()
                if k not in {"originator_version", "originator_id"}
            }
            tasks.append((event.timestamp, type(event).__name__, repr(sorted(state.items()))))
    return tasks, dict(worst)


def _scenarios() -> list[Any]:
    params = [pytest.param(path, id=path.stem) for path in EXAMPLES]
    params.append(pytest.param(None, id="every-limit"))
    return params


@pytest.mark.parametrize("path", _scenarios())
def test_grouped_replay_equals_per_task_replay_task_by_task(
    path: Path | None, tmp_path: Path
) -> None:
    loaded = load_scenario(path) if path else load_scenario_text(EVERY_LIMIT, "every-limit.yaml")
    until = loaded.scenario.start + HORIZON if path else None
    grouped = _replay(loaded, False, until, tmp_path / "grouped.sqlite")
    per_task = _replay(loaded, True, until, tmp_path / "per-task.sqlite")
    names = [w.id for w in loaded.scenario.workspaces] + [
        o.id for o in loaded.scenario.organizations
    ]
    rng = random.Random(2027)
    for name in names:
        aggregate_id, _ = grouped.find_account(name)
        fast, fast_worst = _expand(grouped, aggregate_id)
        slow, slow_worst = _expand(per_task, aggregate_id)
        assert len(fast) == len(slow), name
        for a, b in zip(fast, slow, strict=True):
            assert a == b, (name, a, b)
        assert fast_worst == slow_worst, name
        # Balances at every per-task event instant, and at random instants.
        instants: list[datetime] = [t[0] for t in slow[:: max(1, len(slow) // 120)]]
        start = loaded.scenario.start
        end = min(loaded.scenario.end, until) if until else loaded.scenario.end
        span = int((end - start).total_seconds())
        instants += [start + timedelta(seconds=rng.randrange(span)) for _ in range(60)]
        for at in instants:
            assert _balances(grouped, name, at) == _balances(per_task, name, at), (name, at)


def test_every_limit_scenario_hits_every_limit() -> None:
    """Guards the test above: the limits it claims to exercise are really hit."""
    loaded = load_scenario_text(EVERY_LIMIT, "every-limit.yaml")
    ledger = _replay(loaded, False)
    seen: set[str] = set()
    for name in ("ws", "org"):
        aggregate_id, _ = ledger.find_account(name)
        for event in ledger.events.get(aggregate_id):
            reason = getattr(event, "reason", None)
            seen.add(type(event).__name__ + (f":{reason.value}" if reason else ""))
            if isinstance(event, RUN_TYPES) and getattr(event, "refunded", None):
                seen.add("refund")
            if isinstance(event, ApiOrganization.TaskCharged) and event.max_wait_us > 0:
                seen.add("queue wait")
            if isinstance(event, ApiOrganization.AutobillToppedUp) and event.capped:
                seen.add("capped top-up")
            if isinstance(event, WebWorkspace.CreditsPurchased) and event.refill:
                seen.add("refill")
    expected = {
        "TaskRefused:daily_limit",
        "TaskRefused:insufficient_credits",
        "AutobillFailed:card_declined",
        "AutobillFailed:monthly_cap",
        "capped top-up",
        "PurchaseRefused:monthly_cap",
        "GenerationRefused:insufficient_credits",
        "refill",
        "refund",
        "queue wait",
        "AutobillEnabled",
    }
    assert expected <= seen, expected - seen
