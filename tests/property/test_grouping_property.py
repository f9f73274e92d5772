"""Grouped batches equal per-task processing, whatever the interleaving (issue 10).

Hypothesis writes short scenarios (three days, in memory) whose account has 2
to 6 usage lines of random models, spreads, counts and failure rates, so their
tasks interleave in every way: same instants, overlapping spreads, lines of
one model sharing its rolling window and concurrency slots (A08, A09). The
organization sits on Tier 1 or 2 (limits that bind) with or without hourly
autobill (A04), rejecting or deferring tasks over the daily limit (A08) and
with little or much prepaid credit (A03); the workspace is on
any paid plan, with or without purchased credits and Auto Refill (W08, W09,
W10, W14, W15). Each scenario is replayed grouped (the replay's batches) and
per task; both event streams, expanded into tasks, must be identical task by
task, and the balances equal at instants inside the batches (S05).

Settings: max_examples=30, derandomize=True (the same examples on every run
and machine), deadline=None (replay time varies with the machine).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.errors import DomainError
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import LoadedScenario, load_scenario_text
from tests.expansion import expand

SETTINGS = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
API_MODELS: list[dict[str, Any]] = [
    {"model": "gen4_image", "resolution": "720p"},
    {"model": "gen4_image", "resolution": "1080p"},
    {"model": "gen4_image_turbo"},
    {"model": "gen4_turbo", "seconds": 5},
    {"model": "gen4.5", "seconds": 5},
]
WEB_MODELS: list[dict[str, Any]] = [
    {"model": "gen4_turbo", "seconds": 5},
    {"model": "gen4.5", "seconds": 5},
    {"model": "gen4_image"},
]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def usage_line(draw: st.DrawFn, models: list[dict[str, Any]], web: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"every": "day", **draw(st.sampled_from(models))}
    start = draw(st.integers(8 * 60, 11 * 60))
    if draw(st.booleans()):
        line["between"] = [_hhmm(start), _hhmm(start + draw(st.integers(10, 240)))]
    else:
        line["time"] = _hhmm(start)
    line["count"] = draw(st.integers(1, 60))
    line["failure_rate"] = draw(st.sampled_from([0, 0, 0.1, 0.3]))
    line["safety_failure_rate"] = draw(st.sampled_from([0, 0, 0.1]))
    if web and draw(st.integers(0, 3)) == 0:
        line["mode"] = "explore"
    return line


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    web = draw(st.booleans())
    n = draw(st.integers(2, 6))
    data: dict[str, Any] = {
        "version": 1,
        "name": "interleaving",
        "start": "2027-01-01",
        "end": "2027-01-04",
        "seed": draw(st.integers(0, 99)),
    }
    if web:
        ws: dict[str, Any] = {
            "id": "ws",
            "plan": draw(st.sampled_from(["standard", "pro", "unlimited"])),
            "subscribed": "2027-01-01",
            "usage": [draw(usage_line(WEB_MODELS, True)) for _ in range(n)],
        }
        if draw(st.booleans()):
            ws["events"] = [{"at": "2027-01-02T09:30", "buy": 1000 * draw(st.integers(1, 3))}]
        if draw(st.booleans()):
            ws["auto_refill"] = {
                "trigger": draw(st.sampled_from([100, 400])),
                "amount_usd": 10,
                "monthly_max_usd": draw(st.sampled_from([10, 30])),
            }
        data["workspaces"] = [ws]
    else:
        data["overrides"] = {f"api.tiers.{t}.unlock_usd": "100000" for t in (2, 3, 4, 5)}
        org: dict[str, Any] = {
            "id": "org",
            "tier": draw(st.sampled_from([1, 2])),
            "opened": "2027-01-01",
            "events": [{"at": "2027-01-01", "buy": 1000 * draw(st.integers(1, 20))}],
            "usage": [draw(usage_line(API_MODELS, False)) for _ in range(n)],
        }
        if draw(st.booleans()):
            data["policies"] = {"on_daily_limit": "defer"}  # A08: tasks wait for room
        if draw(st.booleans()):
            org["autobill"] = {
                "threshold": draw(st.sampled_from([500, 2000])),
                "amount": draw(st.sampled_from([1000, 4000])),
            }
        data["organizations"] = [org]
    return data


def _replay(loaded: LoadedScenario, per_task: bool) -> Ledger:
    ledger = Ledger("memory", run="property")
    replay(loaded.scenario, loaded.price_book, ledger, options=ReplayOptions(per_task=per_task))
    return ledger


def _tasks(ledger: Ledger, name: str) -> list[tuple[Any, ...]]:
    aggregate_id, _ = ledger.find_account(name)
    return expand(ledger, aggregate_id)[0]


def _balances(ledger: Ledger, name: str, at: datetime) -> Any:
    try:
        return ledger.balances_at(name, at)
    except DomainError as exc:
        return str(exc)


@SETTINGS
@given(scenarios())
def test_grouped_batches_equal_per_task_processing(data: dict[str, Any]) -> None:
    loaded = load_scenario_text(yaml.safe_dump(data, sort_keys=False), "interleaving.yaml")
    grouped, per_task = _replay(loaded, False), _replay(loaded, True)
    name = "ws" if "workspaces" in data else "org"
    fast, slow = _tasks(grouped, name), _tasks(per_task, name)
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert a == b, (a, b)
    rng = random.Random(len(slow))
    instants = [t[0] for t in slow[:: max(1, len(slow) // 10)]]
    instants += [
        loaded.scenario.start + timedelta(seconds=rng.randrange(3 * 86_400)) for _ in range(10)
    ]
    for at in instants:
        assert _balances(grouped, name, at) == _balances(per_task, name, at), at
