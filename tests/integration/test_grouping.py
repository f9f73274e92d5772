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
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.web import WebWorkspace
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import LoadedScenario, load_scenario, load_scenario_text
from tests.expansion import RUN_TYPES, expand

EXAMPLES = [
    p
    for p in sorted((Path(__file__).parents[2] / "scenarios" / "examples").glob("*.yaml"))
    if "kind: workload" not in p.read_text(encoding="utf-8")
]
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


# Usage lines that interleave through the day while every limit is hit (issue
# 10): on the organization, a daily limit (A08) and a concurrency queue (A09)
# on gen4.5 and on gen4_image while the other models keep running; two lines of
# one model sharing its window and slots; credits running out between hourly
# checks and an autobill top-up (A04) restoring them until the 30-day cap (A07)
# stops it; refunds and safety failures (A11); a key disabled mid-day (A10); on
# the workspace, Credits and Explore lines in the same hours whose plan credits
# run out between a Credits and an Explore generation (W08, W10), refunds
# (W14), Auto Refill and its monthly maximum (W15), a billing date (W05) and a
# plan change (W11) inside a busy hour.
INTERLEAVED = """
version: 1
name: interleaved limits
start: 2027-01-01
end: 2027-02-04
seed: 5
policies: {autobill_cap: partial}
overrides:  # stay on Tier 1: a $100 cap, 200 a day and 2 at once per model
  api.tiers.2.unlock_usd: "100000"
  api.tiers.3.unlock_usd: "100000"
  api.tiers.4.unlock_usd: "100000"
  api.tiers.5.unlock_usd: "100000"
workspaces:
  - id: ws
    plan: pro
    subscribed: 2027-01-01T10:20
    auto_refill: {trigger: 300, amount_usd: 10, monthly_max_usd: 40}
    events:
      - {at: 2027-01-01T12:00, buy: 2000}
      - {at: 2027-01-12T10:37, change_plan: unlimited}
    usage:
      - {every: day, between: ["09:00", "12:00"], model: gen4_turbo, seconds: 5, count: 18,
         failure_rate: 0.1}
      - {every: day, between: ["09:10", "11:50"], model: gen4.5, seconds: 5, count: 25,
         mode: explore}
      - {every: day, time: "10:30", model: gen4_image, count: 4, safety_failure_rate: 0.2}
      - {every: day, between: ["10:00", "11:00"], model: gen4_image, count: 7, failure_rate: 0.1}
organizations:
  - id: org
    tier: 1
    autobill: {threshold: 1500, amount: 2500}
    events:
      - {at: 2027-01-01T07:00, buy: 3000}
      - {at: 2027-01-01T07:00, create_key: k1}
      - {at: 2027-01-09T11:15, disable_key: k1}
      - {at: 2027-01-20T12:00, buy: 1000}
    usage:
      - {every: day, between: ["08:00", "18:00"], model: gen4_image, resolution: 720p, count: 150,
         failure_rate: 0.05}
      - {every: day, between: ["08:30", "17:30"], model: gen4_image, resolution: 1080p, count: 90,
         safety_failure_rate: 0.05}
      - {every: day, between: ["09:00", "09:40"], model: gen4.5, seconds: 5, count: 90}
      - {every: day, between: ["08:45", "16:00"], model: gen4_image_turbo, count: 120, key: k1}
      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 6}
      - {every: day, time: "10:00", model: gen4.5, seconds: 5, count: 3, failure_rate: 0.3}
"""


# A08 policy defer while lines interleave (issues 10 and 13): two lines of one
# model over its 200-a-day window, so tasks wait and are resubmitted one by one
# as room comes, while another model and a concurrency-bound one keep running;
# credits run short between hourly checks and autobill restores them; refunds
# and safety failures ride along on deferred tasks; a key disabled mid-day.
INTERLEAVED_DEFER = """
version: 1
name: interleaved defer
start: 2027-01-01
end: 2027-01-12
seed: 11
policies: {on_daily_limit: defer, autobill_cap: partial}
overrides:  # stay on Tier 1: a $100 cap, 200 a day and 2 at once per model
  api.tiers.2.unlock_usd: "100000"
  api.tiers.3.unlock_usd: "100000"
  api.tiers.4.unlock_usd: "100000"
  api.tiers.5.unlock_usd: "100000"
organizations:
  - id: org
    tier: 1
    autobill: {threshold: 1200, amount: 1500}
    events:
      - {at: 2027-01-01T07:00, buy: 2500}
      - {at: 2027-01-01T07:00, create_key: k1}
      - {at: 2027-01-06T13:20, disable_key: k1}
    usage:
      - {every: day, between: ["06:00", "20:00"], model: gen4_image_turbo, count: 140,
         failure_rate: 0.05, safety_failure_rate: 0.03}
      - {every: day, between: ["08:30", "22:10"], model: gen4_image_turbo, count: 90, key: k1}
      - {every: day, between: ["07:00", "19:00"], model: gen4_image, resolution: 720p, count: 60}
      - {every: day, between: ["10:00", "10:20"], model: gen4.5, seconds: 5, count: 25,
         failure_rate: 0.2}
      - {every: day, time: "12:00", model: gen4_image_turbo, count: 30}
"""

# A08 defer with no task over the daily limit: a day's lines form one long batch,
# and the replay must end it at the first hourly check that might buy (A04) and
# make that check alone (under `defer` the checks are not made inside a batch).
DEFER_AUTOBILL = """
version: 1
name: defer with top-ups inside long batches
start: 2027-01-01
end: 2027-01-06
seed: 5
policies: {on_daily_limit: defer}
organizations:
  - id: org
    tier: 3
    autobill: {threshold: 3000, amount: 2000}
    events:
      - {at: 2027-01-01T00:00, buy: 5000}
    usage:
      - {every: day, between: ["06:00", "20:00"], model: gen4_image_turbo, count: 400,
         failure_rate: 0.05}
      - {every: day, between: ["07:00", "19:00"], model: gen4_image, resolution: 720p, count: 120}
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


BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "realistic-year.yaml"
INLINE = {
    "every-limit": EVERY_LIMIT,
    "interleaved": INTERLEAVED,
    "interleaved-defer": INTERLEAVED_DEFER,
    "defer-autobill": DEFER_AUTOBILL,
}


def _scenarios() -> list[Any]:
    params = [pytest.param(path, id=path.stem) for path in EXAMPLES]
    params += [pytest.param(name, id=name) for name in INLINE]
    # 186,000 tasks one by one: minutes, so `make test-long` runs it, not `make test`.
    params.append(pytest.param(BENCHMARK, id="realistic-year-first-month", marks=pytest.mark.long))
    return params


def _load(path: Path | str) -> LoadedScenario:
    if isinstance(path, str):
        return load_scenario_text(INLINE[path], f"{path}.yaml")
    return load_scenario(path)


@pytest.mark.parametrize("path", _scenarios())
def test_grouped_replay_equals_per_task_replay_task_by_task(
    path: Path | str, tmp_path: Path
) -> None:
    loaded = _load(path)
    horizon = timedelta(days=31) if path == BENCHMARK else HORIZON
    until = loaded.scenario.start + horizon if isinstance(path, Path) else None
    grouped = _replay(loaded, False, until, tmp_path / "grouped.sqlite")
    per_task = _replay(loaded, True, until, tmp_path / "per-task.sqlite")
    names = [w.id for w in loaded.scenario.workspaces] + [
        o.id for o in loaded.scenario.organizations
    ]
    rng = random.Random(2027)
    for name in names:
        aggregate_id, _ = grouped.find_account(name)
        fast, fast_worst = expand(grouped, aggregate_id)
        slow, slow_worst = expand(per_task, aggregate_id)
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


def test_interleaved_scenario_hits_every_limit_while_lines_interleave() -> None:
    """Guards the interleaved case above: each limit binds inside a batch of
    several lines (events of one batch, ``batch_at``, overlapping in time)."""
    loaded = load_scenario_text(INTERLEAVED, "interleaved.yaml")
    ledger = _replay(loaded, False)
    seen: set[str] = set()
    for name in ("ws", "org"):
        aggregate_id, _ = ledger.find_account(name)
        events = list(ledger.events.get(aggregate_id))
        batches: dict[Any, list[Any]] = defaultdict(list)
        for event in events:
            if isinstance(event, RUN_TYPES):
                batches[event.batch_at].append(event)
        for batch in batches.values():
            if len({e.model + e.label for e in batch}) < 2:
                continue  # a batch of one line proves nothing here
            for event in batch:
                reason = getattr(event, "reason", None)
                seen.add(type(event).__name__ + (f":{reason.value}" if reason else ""))
                if getattr(event, "refunded", None):
                    seen.add("refund")
                if getattr(event, "safety_failed", None):
                    seen.add("safety failure")
                if isinstance(event, ApiOrganization.TaskCharged) and event.max_wait_us > 0:
                    seen.add(f"queue wait:{event.model}")
                if isinstance(event, WebWorkspace.GenerationCharged):
                    if event.plan_part and not event.purchased_part:
                        seen.add("plan only")
                    if event.purchased_part and not event.plan_part:
                        seen.add("purchased only")
        for event in events:
            if isinstance(event, ApiOrganization.AutobillToppedUp):
                seen.add("autobill")
                if event.batch_at is not None:
                    seen.add("autobill inside a batch")
            if isinstance(event, ApiOrganization.AutobillFailed):
                seen.add(f"AutobillFailed:{event.reason.value}")
            if isinstance(event, WebWorkspace.CreditsPurchased) and event.refill:
                seen.add("refill")
            if isinstance(event, WebWorkspace.PlanUpgraded):
                seen.add("upgrade")
    expected = {
        "TaskRefused:daily_limit",
        "TaskRefused:insufficient_credits",
        "TaskRefused:unknown_key",
        "TaskCharged",
        "queue wait:gen4.5",
        "autobill",
        "autobill inside a batch",
        "AutobillFailed:monthly_cap",
        "GenerationCharged",
        "GenerationRefused:insufficient_credits",
        "GenerationRefused:explore_not_available",
        "plan only",
        "purchased only",
        "refill",
        "refund",
        "safety failure",
        "upgrade",
    }
    assert expected <= seen, expected - seen


def test_interleaved_defer_scenario_defers_inside_batches_of_several_lines() -> None:
    """Guards the defer case above: tasks wait while other lines run in the same
    batch, wait behind a backlog, are resubmitted and sometimes refused then."""
    loaded = load_scenario_text(INTERLEAVED_DEFER, "interleaved-defer.yaml")
    ledger = _replay(loaded, False)
    aggregate_id, _ = ledger.find_account("org")
    events = list(ledger.events.get(aggregate_id))
    batches: dict[Any, set[str]] = defaultdict(set)
    seen: set[str] = set()
    for event in events:
        reason = getattr(event, "reason", None)
        seen.add(type(event).__name__ + (f":{reason.value}" if reason else ""))
        if isinstance(event, RUN_TYPES):
            batches[event.batch_at].add(type(event).__name__ + ":" + event.model)
        if isinstance(event, ApiOrganization.TaskDeferred) and event.count > 1:
            seen.add("deferred run")
        if isinstance(event, ApiOrganization.TaskCharged) and event.max_wait_us > 0:
            seen.add("queue wait")
    mixed = [kinds for kinds in batches.values() if len(kinds) > 1]
    assert any(
        "TaskDeferred:gen4_image_turbo" in kinds and "TaskCharged:gen4_image" in kinds
        for kinds in mixed
    )
    expected = {
        "TaskDeferred",
        "deferred run",
        "TaskResubmitted",
        "DeferredTaskRefused:insufficient_credits",
        "TaskRefused:unknown_key",
        "AutobillToppedUp",
        "queue wait",
    }
    assert expected <= seen, expected - seen


def test_a04_defer_autobill_scenario_tops_up_in_the_middle_of_a_days_batch() -> None:
    """Guards the defer-autobill case above: under A08 `defer` the checks that buy
    fall inside a day's usage window (so the batch had to end there), and no task
    waited (the batch was not cut for a deferral instead)."""
    loaded = load_scenario_text(DEFER_AUTOBILL, "defer-autobill.yaml")
    ledger = _replay(loaded, False)
    aggregate_id, _ = ledger.find_account("org")
    events = list(ledger.events.get(aggregate_id))
    top_ups = [e.timestamp for e in events if isinstance(e, ApiOrganization.AutobillToppedUp)]
    assert len(top_ups) >= 3
    assert all(time(6) < t.time() < time(20) for t in top_ups), top_ups
    assert not any(isinstance(e, ApiOrganization.TaskDeferred) for e in events)
