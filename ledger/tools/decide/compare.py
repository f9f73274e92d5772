"""Compare: replay one workload on every route that could carry it, cheapest first.

A route is one way of paying: a web workspace on a plan and a billing
period, optionally with Explore Mode, or an API organization. For each,
``compare`` builds an in-memory ``Scenario`` (one account, always named
``team`` so every route draws the same failures from the seed), replays it
with the engine into ``Ledger("memory")`` and reads the figures with
``measure``. A route *carries* the workload when nothing is refused.

Each route gets the top-ups it needs, found by replaying (docs/deciding.md):

* Web (paid plans): a measuring replay with every credit bought up front
  says how many purchased credits each billing period uses (the split
  between plan and purchased credits is forced by W08, so it does not depend
  on when they were bought); the schedule buys that need, in whole
  thousands, on each billing date (W07), and a second replay proves it
  carries. A refusal left (a refunded generation still needs the credits to
  start, W14) adds 1,000 credits to that period and replays again.
* Free cannot buy (W07): it carries only if the 125 one-time credits do.
* API: autobill checked hourly (A04). The threshold is one peak hour of
  gross demand (so an hour never outruns the balance between checks); the
  recharge starts at that size and climbs a 1-2-5 ladder while credits run
  short; when the refusals are daily limits (A08) or the 30-day cap (A07),
  the organization instead buys its way up one more tier at opening (A06).
  The first setting whose replay refuses nothing is kept.

Web and API never mix (S01): a line whose model exists in one catalogue
only keeps the other surface's routes from carrying, and says so.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from ledger.domain.time import to_us
from ledger.domain.types import Billing, GenerationMode, Plan, RefusalReason, Surface, Tier
from ledger.pricing.models import PriceBook
from ledger.tools.decide.demand import Demand, demand
from ledger.tools.decide.measure import AccountFigures, MeasuringLedger, measure
from scenarios.draws import Draws
from scenarios.engine import ReplayOptions, replay
from scenarios.schema import (
    Autobill,
    Buy,
    Organization,
    Scenario,
    UsageLine,
    Workload,
    Workspace,
)

ACCOUNT = "team"  # the one account of every route (failure draws hash the account id)
WEB_PLANS = (Plan.STANDARD, Plan.PRO, Plan.UNLIMITED)
BILLINGS = (Billing.MONTHLY, Billing.ANNUAL)
LADDER = (1, 2, 5)  # recharge sizes: 1, 2, 5, 10, 20, 50 ... thousand credits
MAX_API_TRIES = 16
MAX_WEB_REPAIRS = 24
CENT = Decimal("0.01")


# ------------------------------------------------------------------ routes


@dataclass(frozen=True, slots=True)
class Route:
    """One way of paying for a workload."""

    id: str
    surface: Surface
    plan: Plan | None = None
    billing: Billing | None = None
    explore: bool = False  # W10: eligible lines run in Explore Mode

    @property
    def family(self) -> str:
        """The route without its billing period: 'web:pro', 'web:unlimited:explore', 'api'."""
        if self.surface is Surface.API:
            return "api"
        assert self.plan is not None
        return f"web:{self.plan.value}" + (":explore" if self.explore else "")


def routes(workload: Workload, book: PriceBook, *, explore: bool = True) -> list[Route]:
    """Every route compare tries, in a fixed order (the tie-break of the ranking)."""
    found = [Route("web:free", Surface.WEB, Plan.FREE, Billing.MONTHLY)]
    eligible = any(_explore_eligible(line, book) for line in workload.usage)
    for plan in WEB_PLANS:
        for billing in BILLINGS:
            base = f"web:{plan.value}:{billing.value}"
            found.append(Route(base, Surface.WEB, plan, billing))
            if explore and eligible and book.plan(plan).explore:
                found.append(Route(f"{base}:explore", Surface.WEB, plan, billing, explore=True))
    found.append(Route("api", Surface.API))
    return found


def _explore_eligible(line: UsageLine, book: PriceBook) -> bool:
    model = book.web.models.get(line.model)
    return model is not None and model.explore


# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What one route costs and whether it carries the workload."""

    route: Route
    carries: bool
    usd_total: Decimal  # every dollar paid in the window
    usd_per_month: Decimal
    forfeited: int  # plan credits lost at resets (W06)
    refused: int  # tasks and generations refused
    top_ups: int  # purchases, refills and autobill recharges
    credits_bought: int
    binding_limit: str  # what shaped the route ('' when nothing did)
    reason: str  # why it cannot carry ('' when it carries)
    top_up_plan: str  # the purchases the search settled on, in words
    notes: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # for JSON: the chosen setting
    figures: AccountFigures | None = None  # the verifying replay (None: not replayable)
    credits_charged: int = 0  # charged for tasks, refunded ones included
    credits_refunded: int = 0  # given back for tasks that failed (W14, A11)
    credits_used: int = 0  # charged - refunded, as in `run`, `diff` and SQL

    @property
    def id(self) -> str:
        return self.route.id

    @property
    def surface(self) -> Surface:
        return self.route.surface

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (contract: route, surface, carries, usd_total as a string, reason)."""
        out: dict[str, Any] = {
            "route": self.route.id,
            "surface": self.route.surface.value,
            "carries": self.carries,
            "usd_total": f"{self.usd_total:.2f}",
            "usd_per_month": f"{self.usd_per_month:.2f}",
            "forfeited": self.forfeited,
            "refused": self.refused,
            "top_ups": self.top_ups,
            "credits_bought": self.credits_bought,
            "credits_charged": self.credits_charged,
            "credits_refunded": self.credits_refunded,
            "credits_used": self.credits_used,
            "binding_limit": self.binding_limit,
            "reason": self.reason,
            "top_up_plan": self.top_up_plan,
            "plan": self.route.plan.value if self.route.plan else None,
            "billing": self.route.billing.value if self.route.billing else None,
            "explore": self.route.explore,
            "replayed": self.figures is not None,
            "settings": self.settings,
            "notes": list(self.notes),
        }
        if self.route.surface is Surface.API and self.figures is not None:
            out["tiers"] = [{"at": at.isoformat(), "tier": t} for at, t in self.figures.tiers]
        return out


def rank(results: Iterable[RouteResult]) -> list[RouteResult]:
    """Routes that carry first, cheapest first; ties keep the route order."""
    ordered = sorted(enumerate(results), key=lambda p: (not p[1].carries, p[1].usd_total, p[0]))
    return [result for _, result in ordered]


def compare(
    workload: Workload,
    book: PriceBook,
    *,
    explore: bool = True,
    draws: Draws | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RouteResult]:
    """Replay ``workload`` on every route (``book`` has the workload's overrides applied).

    ``draws``: one forecast sample's draws of the workload's uncertain inputs
    (``compare --samples``); None replays their typical values. ``progress`` is
    told how many routes have been replayed so far.
    """
    results = []
    for route in routes(workload, book, explore=explore):
        results.append(evaluate(route, workload, book, draws))
        if progress is not None:
            progress(len(results))
    return rank(results)


def evaluate(
    route: Route, workload: Workload, book: PriceBook, draws: Draws | None = None
) -> RouteResult:
    if route.surface is Surface.API:
        return _api_route(route, workload, book, draws)
    return _web_route(route, workload, book, draws)


# ------------------------------------------------------------------ helpers


def months_in(start: datetime, end: datetime) -> Decimal:
    """Calendar months in [start, end): whole months, then the share of the next one."""
    delta = relativedelta(end, start)
    full = delta.years * 12 + delta.months
    anchor = start + relativedelta(months=full)
    if anchor >= end:
        return Decimal(full)
    following = start + relativedelta(months=full + 1)
    share = Decimal(to_us(end) - to_us(anchor)) / Decimal(to_us(following) - to_us(anchor))
    return Decimal(full) + share


def per_month(usd: Decimal, start: datetime, end: datetime) -> Decimal:
    return (usd / months_in(start, end)).quantize(CENT, rounding=ROUND_HALF_UP)


def round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _lines_for(route: Route, workload: Workload, book: PriceBook) -> tuple[list[UsageLine], str]:
    """The usage lines this route's catalogue can run, and why others cannot (S01)."""
    catalogue = book.web.models if route.surface is Surface.WEB else book.api.models
    other = "API" if route.surface is Surface.WEB else "web"
    kept: list[UsageLine] = []
    missing: list[str] = []
    for index, line in enumerate(workload.usage):
        if line.model not in catalogue:
            missing.append(f"{line.model} (usage line {index + 1})")
            continue
        explore = route.explore and _explore_eligible(line, book)
        mode = GenerationMode.EXPLORE if explore else GenerationMode.CREDITS
        kept.append(line.model_copy(update={"mode": mode}))
    if not missing:
        return kept, ""
    surface = "the web app" if route.surface is Surface.WEB else "the API"
    names = ", ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    return kept, f"{names} {verb} only in the {other} catalogue: {surface} cannot run it (S01)"


def _scenario(workload: Workload, route: Route, account: Workspace | Organization) -> Scenario:
    return Scenario(
        version=1,
        name=f"{workload.name} [{route.id}]",
        start=workload.start,
        end=workload.end,
        seed=workload.seed,
        price_book=workload.price_book,
        overrides=dict(workload.overrides),
        workspaces=[account] if isinstance(account, Workspace) else [],
        organizations=[account] if isinstance(account, Organization) else [],
    )


def _replay(
    scenario: Scenario, book: PriceBook, surface: Surface, draws: Draws | None = None
) -> AccountFigures:
    ledger = MeasuringLedger()
    try:
        replay(scenario, book, ledger, options=ReplayOptions(draws=draws))
        return measure(ledger, ACCOUNT, surface, scenario.start, scenario.end)
    finally:
        ledger.close()


def _not_replayable(route: Route, workload: Workload, reason: str, binding: str) -> RouteResult:
    return RouteResult(
        route=route,
        carries=False,
        usd_total=Decimal("0.00"),
        usd_per_month=Decimal("0.00"),
        forfeited=0,
        refused=0,
        top_ups=0,
        credits_bought=0,
        binding_limit=binding,
        reason=reason,
        top_up_plan="not replayed: the route cannot be opened",
    )


def _result(
    route: Route,
    workload: Workload,
    figures: AccountFigures,
    *,
    binding: str,
    reason: str,
    top_up_plan: str,
    notes: Sequence[str] = (),
    settings: dict[str, Any] | None = None,
) -> RouteResult:
    carries = figures.refused == 0 and not reason
    return RouteResult(
        route=route,
        carries=carries,
        usd_total=figures.usd_total,
        usd_per_month=per_month(figures.usd_total, workload.start, workload.end),
        forfeited=figures.forfeited,
        refused=figures.refused,
        top_ups=figures.top_ups,
        credits_bought=figures.bought,
        binding_limit=binding,
        reason=reason,
        top_up_plan=top_up_plan,
        notes=tuple(notes),
        settings=settings or {},
        figures=figures,
        credits_charged=figures.charged,
        credits_refunded=figures.refunded,
        credits_used=figures.used,
    )


# ------------------------------------------------------------------ web routes


def _web_route(
    route: Route, workload: Workload, book: PriceBook, draws: Draws | None = None
) -> RouteResult:
    assert route.plan is not None and route.billing is not None
    spec = book.plan(route.plan)
    name = route.plan.value.capitalize()
    if workload.editors > spec.seat_cap:
        reason = (
            f"{name} allows {spec.seat_cap} editor{'s' if spec.seat_cap != 1 else ''} "
            f"per workspace; the workload has {workload.editors} (W03)"
        )
        return _not_replayable(route, workload, reason, "seat cap")
    lines, missing = _lines_for(route, workload, book)
    editors = [f"editor{i}" for i in range(1, workload.editors + 1)]

    def run(buys: Sequence[tuple[datetime, int]]) -> AccountFigures:
        workspace = Workspace(
            id=ACCOUNT,
            plan=route.plan,
            billing=route.billing,
            subscribed=workload.start,
            editors=editors,
            events=[Buy(at=at, buy=credits) for at, credits in buys],
            usage=lines,
        )
        return _replay(_scenario(workload, route, workspace), book, Surface.WEB, draws)

    notes: list[str] = []
    if route.explore:
        free = sorted({line.model for line in lines if line.mode is GenerationMode.EXPLORE})
        notes.append(
            "Explore Mode (W10) for " + ", ".join(free) + ": relaxed queue, no credits; "
            "eligible models and fair use are assumptions"
        )
    if not spec.can_buy:
        figures = run([])
        reason = missing
        binding = "catalogue" if missing else ""
        if figures.refused:
            first = figures.first_refusal
            assert first is not None
            reason = reason or (
                f"{name}'s {spec.credits:,} one-time credits run out on {first.at.date()} (W01) "
                f"and {name} cannot buy credits (W07): {figures.refused:,} generations refused"
            )
            binding = binding or f"one-time {spec.credits:,} credits"
        return _result(
            route,
            workload,
            figures,
            binding=binding,
            reason=reason,
            top_up_plan="none: this plan cannot buy credits",
            notes=notes,
        )
    figures, buys = _web_top_ups(run, lines, workload, book)
    reason = missing
    if figures.refused and not reason:
        reason = f"{figures.refused:,} generations still refused after {len(buys)} top-ups"
    binding = (
        "catalogue" if missing else (f"plan credits ({spec.credits:,} a month)" if buys else "")
    )
    return _result(
        route,
        workload,
        figures,
        binding=binding,
        reason=reason,
        top_up_plan=_describe_buys(buys),
        notes=notes,
        settings={"purchases": [{"at": at.isoformat(), "credits": c} for at, c in buys]},
    )


def _web_top_ups(
    run: Any, lines: Sequence[UsageLine], workload: Workload, book: PriceBook
) -> tuple[AccountFigures, list[tuple[datetime, int]]]:
    """The smallest billing-date purchases (whole thousands) with no refusal, and its replay."""
    unit = book.web.min_purchase_credits
    need = demand(lines, Surface.WEB, book, workload.start, workload.end).total_credits
    if need == 0:
        return run([]), []
    # The measuring replay: everything bought at the start, so nothing is refused.
    probe: AccountFigures = run([(workload.start, max(unit, round_up(need, unit)))])
    periods = sorted(probe.billing_dates)
    needs = [0] * len(periods)
    for first_at, credits in probe.purchased_use:
        needs[max(0, bisect.bisect_right(periods, first_at) - 1)] += credits
    extra = [0] * len(periods)
    for _ in range(MAX_WEB_REPAIRS + 1):
        buys = _schedule(periods, needs, extra, unit)
        figures: AccountFigures = run(buys)
        if figures.refused == 0 or figures.first_refusal is None:
            return figures, buys
        # W14: a refunded generation needs the credits to start; give its period 1,000 more.
        extra[max(0, bisect.bisect_right(periods, figures.first_refusal.at) - 1)] += unit
    return figures, buys


def _schedule(
    periods: Sequence[datetime], needs: Sequence[int], extra: Sequence[int], unit: int
) -> list[tuple[datetime, int]]:
    """Buy on each billing date what the period needs beyond what is left, in whole units."""
    owned = cumulative = 0
    buys = []
    for at, need, more in zip(periods, needs, extra, strict=True):
        cumulative += need + more
        if cumulative > owned:
            credits = round_up(cumulative - owned, unit)
            buys.append((at, credits))
            owned += credits
    return buys


def _describe_buys(buys: Sequence[tuple[datetime, int]]) -> str:
    if not buys:
        return "none: plan credits suffice"
    total = sum(c for _, c in buys)
    biggest = max(c for _, c in buys)
    return (
        f"{len(buys)} purchase{'s' if len(buys) != 1 else ''} on billing dates, "
        f"{total:,} credits in all (largest {biggest:,})"
    )


# ------------------------------------------------------------------ API route


def ramp_purchases(book: PriceBook, target: int) -> list[int]:
    """Credits bought at opening to lift a Tier 1 organization to ``target`` (A06, A07).

    Each purchase is the most the 30-day cap of the current tier allows, and
    no more than reaching ``target`` needs. With the bundled book: $50 for
    Tier 2; $100 for Tier 3; $100 then $900 for Tier 4; $100, $1,900 (the rest
    of Tier 3's cap) and $3,000 for Tier 5, $5,000 in all.
    """
    price = book.api.credit_price_usd
    tiers = sorted(book.api.tiers.items())
    tier, cumulative, window = 1, Decimal(0), Decimal(0)
    buys: list[int] = []
    unlock = book.tier(Tier(target)).unlock_usd
    while tier < target:
        room = book.tier(Tier(tier)).monthly_cap_usd - window
        usd = min(unlock - cumulative, room)
        credits = max(book.api.min_purchase_credits, int(usd / price))
        usd = credits * price
        if usd <= 0 or usd > room:
            break  # the cap leaves no room to climb: the replay will show it
        buys.append(credits)
        cumulative += usd
        window += usd
        tier = max(int(t) for t, spec in tiers if spec.unlock_usd <= cumulative)
    return buys


def daily_tier(book: PriceBook, peaks: dict[str, int]) -> int:
    """A08: the lowest tier whose 24 h limits cover every model's busiest day (6 if none)."""
    for tier in Tier:
        if all(book.limit(tier, model).daily >= n for model, n in peaks.items()):
            return int(tier)
    return len(Tier) + 1


def _next_rung(amount: int) -> int:
    magnitude = 1000
    while True:
        for step in LADDER:
            if step * magnitude > amount:
                return step * magnitude
        magnitude *= 10


def _api_route(
    route: Route, workload: Workload, book: PriceBook, draws: Draws | None = None
) -> RouteResult:
    lines, missing = _lines_for(route, workload, book)
    need: Demand = demand(lines, Surface.API, book, workload.start, workload.end)
    unit = book.api.min_purchase_credits
    threshold = max(unit, round_up(need.peak_hour_credits, unit))
    amount = max(book.api.autobill_min_credits, threshold, round_up(need.max_task_credits, unit))
    top_tier = max(int(t) for t in Tier)
    wanted = daily_tier(book, need.peak_day_tasks)
    ramp = min(wanted, top_tier)
    binding = _daily_binding(book, need) if wanted > 1 else ""
    cap = book.tier(Tier(top_tier)).monthly_cap_usd / book.api.credit_price_usd

    def run(ramp_to: int, amount: int) -> AccountFigures:
        organization = Organization(
            id=ACCOUNT,
            tier=Tier.T1,
            opened=workload.start,
            autobill=Autobill(threshold=threshold, amount=amount) if lines else None,
            events=[Buy(at=workload.start, buy=c) for c in ramp_purchases(book, ramp_to)],
            usage=lines,
        )
        return _replay(_scenario(workload, route, organization), book, Surface.API, draws)

    figures = run(ramp, amount)
    for _ in range(MAX_API_TRIES):
        if figures.refused == 0:
            break
        cause = _api_cause(figures)
        if cause != "credits":
            binding = cause
            if ramp >= top_tier:
                break
            ramp += 1
        else:
            if amount >= cap:
                break
            binding = "credits between hourly checks"
            amount = _next_rung(amount)
        figures = run(ramp, amount)
    if not binding and figures.capped_autobills:
        binding = "30-day cap"
    reason = missing
    if figures.refused and not reason:
        reason = _api_refusal_reason(figures, book, need, wanted)
    ramp_buys = ramp_purchases(book, ramp)
    notes = _api_notes(figures, book, need)
    plan = f"autobill: below {threshold:,} credits buy {amount:,}" + (
        f"; at opening buy {sum(ramp_buys):,} credits to reach tier {ramp} at once"
        if ramp_buys
        else ""
    )
    return _result(
        route,
        workload,
        figures,
        binding=binding,
        reason=reason,
        top_up_plan=plan,
        notes=notes,
        settings={
            "autobill": {"threshold": threshold, "amount": amount},
            "opening_purchases": ramp_buys,
            "tier_at_opening": ramp,
        },
    )


def _daily_binding(book: PriceBook, need: Demand) -> str:
    """The model whose busiest 24 h is furthest over its Tier 1 limit."""
    worst = max(
        need.peak_day_tasks,
        key=lambda m: (Decimal(need.peak_day_tasks[m]) / book.limit(Tier.T1, m).daily, m),
    )
    return f"daily limit {worst}"


def _api_cause(figures: AccountFigures) -> str:
    """Why a replay refused tasks: a daily limit, the 30-day cap, or credits between checks."""
    daily = sorted(
        model for reason, model in figures.refused_by if reason is RefusalReason.DAILY_LIMIT
    )
    if daily:
        return f"daily limit {daily[0]}"
    if figures.capped_autobills or figures.cap_failures:
        return "30-day cap"
    return "credits"


def _api_refusal_reason(figures: AccountFigures, book: PriceBook, need: Demand, wanted: int) -> str:
    first = figures.first_refusal
    assert first is not None
    if wanted > len(Tier):
        model = max(need.peak_day_tasks, key=lambda m: need.peak_day_tasks[m])
        top = book.limit(Tier.T5, model).daily
        return (
            f"{model} needs {need.peak_day_tasks[model]:,} tasks in 24 h; "
            f"tier 5 allows {top:,} (A08): {figures.refused:,} refused"
        )
    if first.reason is RefusalReason.DAILY_LIMIT:
        return f"daily limit of {first.model} (A08): {figures.refused:,} tasks refused"
    if figures.capped_autobills or figures.cap_failures:
        return f"the 30-day purchase cap (A07) starves autobill: {figures.refused:,} refused"
    return f"{figures.refused:,} tasks refused for credits (A03)"


def _api_notes(figures: AccountFigures, book: PriceBook, need: Demand) -> list[str]:
    notes = []
    if figures.tiers:
        reached = ", ".join(f"tier {t} on {at.date()}" for at, t in figures.tiers[1:])
        if reached:
            notes.append(f"tiers reached: {reached} (A06)")
    final = figures.tiers[-1][1] if figures.tiers else 1
    cap = book.tier(Tier(final)).monthly_cap_usd
    notes.append(
        f"most bought in any 30 days: ${figures.peak_window_usd:,.2f} "
        f"(tier {final} cap ${cap:,.0f}; {figures.capped_autobills} recharges cut by it, A07)"
    )
    over = [
        f"{model} {n:,} in 24 h (tier 1 allows {book.limit(Tier.T1, model).daily:,})"
        for model, n in sorted(need.peak_day_tasks.items())
        if n > book.limit(Tier.T1, model).daily
    ]
    if over:
        notes.append("daily limits (A08): " + "; ".join(over))
    return notes


__all__ = [
    "ACCOUNT",
    "Route",
    "RouteResult",
    "compare",
    "daily_tier",
    "evaluate",
    "months_in",
    "per_month",
    "ramp_purchases",
    "rank",
    "routes",
]
