"""`validate` and `run` agree: one function per rule (ledger/domain/rules.py) serves both.

Hypothesis writes short scenarios that stay inside the schema but freely break
the rules a file can break on its face: purchases under the minimum (W07,
A01), Free buying (W07), Enterprise in-app purchases over $9,999 (W07), more
editors than the seats (W03), plan changes to or from Enterprise (W16),
cancelling a workspace that never paid (W13), Auto Refill settings (W15),
autobill recharges under 1,000 credits (A04), and choosing the current plan
while a downgrade or cancellation is scheduled (W12). Each file is checked
both ways:

- every file the loader (`validate`) accepts replays (`run`) without an error;
- every file whose replay, skipping the semantic checks, raises no error is
  accepted by the loader: for these rules the validator refuses nothing the
  aggregates would accept.

Settings: derandomize=True (the same examples everywhere), deadline=None.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.pricing.loader import load_price_book
from scenarios.engine import replay
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario_text
from scenarios.schema import Scenario

SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2027, 3, 1, tzinfo=UTC)
PLANS = ["free", "standard", "pro", "unlimited", "enterprise"]
EDITORS = ["ana", "ben", "chloe", "dev", "eli", "fay"]


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    return START + timedelta(hours=6 * draw(st.integers(0, 4 * 58)))


@st.composite
def workspaces(draw: st.DrawFn, index: int) -> dict[str, Any]:
    plan = draw(st.sampled_from(PLANS))
    ws: dict[str, Any] = {
        "id": f"ws{index}",
        "plan": plan,
        "billing": draw(st.sampled_from(["monthly", "annual"])),
        "editors": EDITORS[: draw(st.integers(1, 6))],
    }
    if plan == "enterprise" or draw(st.integers(0, 5)) == 0:
        ws["contract_credits"] = 5000
    if draw(st.booleans()):
        ws["auto_refill"] = {
            "trigger": draw(st.sampled_from([0, 200])),
            "amount_usd": draw(st.sampled_from([10, 20])),
            "monthly_max_usd": draw(st.sampled_from([10, 15, 60])),
        }
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 5))):
        at = _iso(draw(instants()))
        kind = draw(st.sampled_from(["buy", "change_plan", "cancel", "add_editor", "remove"]))
        if kind == "buy":
            events.append({"at": at, "buy": draw(st.sampled_from([500, 1000, 1_000_000]))})
        elif kind == "change_plan":
            events.append({"at": at, "change_plan": draw(st.sampled_from(PLANS))})
        elif kind == "cancel":
            events.append({"at": at, "cancel": True})
        elif kind == "add_editor":
            events.append({"at": at, "add_editor": draw(st.sampled_from(EDITORS))})
        else:
            events.append({"at": at, "remove_editor": draw(st.sampled_from(EDITORS))})
    ws["events"] = events
    ws["usage"] = [{"every": "week", "time": "10:00", "model": "gen4_turbo", "seconds": 5}]
    return ws


@st.composite
def organizations(draw: st.DrawFn, index: int) -> dict[str, Any]:
    org: dict[str, Any] = {"id": f"org{index}", "tier": draw(st.integers(1, 5))}
    if draw(st.booleans()):
        org["autobill"] = {
            "threshold": draw(st.sampled_from([0, 500])),
            "amount": draw(st.sampled_from([500, 1000, 3000])),
        }
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        at = _iso(draw(instants()))
        if draw(st.booleans()):
            events.append({"at": at, "buy": draw(st.sampled_from([500, 1000, 5000]))})
        else:
            amount = draw(st.sampled_from([500, 2000]))
            events.append({"at": at, "enable_autobill": {"threshold": 100, "amount": amount}})
    org["events"] = events
    org["usage"] = [{"every": "week", "time": "10:00", "model": "gen4_turbo", "seconds": 5}]
    return org


@st.composite
def scenario_texts(draw: st.DrawFn) -> str:
    data = {
        "version": 1,
        "name": "agreement",
        "start": _iso(START),
        "end": _iso(END),
        "workspaces": [draw(workspaces(i)) for i in range(draw(st.integers(1, 2)))],
        "organizations": [draw(organizations(i)) for i in range(draw(st.integers(0, 1)))],
    }
    return yaml.safe_dump(data, sort_keys=False)


def validate_errors(text: str) -> list[str]:
    try:
        load_scenario_text(text, filename="<generated>")
    except ScenarioError as exc:
        return [str(p) for p in exc.problems]
    return []


def run_errors(text: str) -> list[str]:
    """Replay the file with the schema only (no semantic checks): the aggregates decide."""
    scenario = Scenario.model_validate(yaml.safe_load(text))
    ledger = Ledger("memory", run="agreement")
    try:
        replay(scenario, load_price_book(), ledger, file="<generated>")
    except ScenarioError as exc:
        return [str(p) for p in exc.problems]
    return []


@SETTINGS
@given(scenario_texts())
def test_w03_w07_w13_w15_w16_a01_a04_validate_accepts_exactly_what_run_accepts(text: str) -> None:
    by_validate = validate_errors(text)
    by_run = run_errors(text)
    assert bool(by_validate) == bool(by_run), (
        f"validate: {by_validate or 'accepted'}\nrun: {by_run or 'accepted'}\n\n{text}"
    )


def test_w12_validate_and_run_accept_choosing_the_current_plan_during_a_downgrade() -> None:
    # The case: validate accepted it and run exited 2 ("already on ...").
    text = """
version: 1
name: same plan
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: w
    plan: pro
    events:
      - {at: 2027-01-10, change_plan: standard}
      - {at: 2027-01-20, change_plan: pro}
"""
    assert validate_errors(text) == []
    assert run_errors(text) == []


def test_a_breach_has_one_message_in_validate_and_in_run() -> None:
    text = """
version: 1
name: small buy
start: 2027-01-01
end: 2027-03-01
organizations:
  - id: o
    events:
      - {at: 2027-01-10, buy: 500}
"""
    (by_validate,) = validate_errors(text)
    (by_run,) = run_errors(text)
    message = "API credits are bought in at least 1,000 at a time; this buys 500"
    assert message in by_validate
    assert message in by_run
