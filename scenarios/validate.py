"""Checks a schema cannot make: domain rules, the price book, the scenario window.

Each check returns a list of ``Problem`` values and never raises (beancount's
``ops/validation.py`` habit), so the loader can report every mistake of a file
in one run. The loader calls these only on parts that passed the schema.

Only what is certain from the file is reported. Whether an editor added at
some instant is already there, or a buy happens after a downgrade to Free has
taken effect, depends on the replay; the domain refuses those at run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from ledger.domain import rules
from ledger.domain.rules import Breach, plan_names
from ledger.domain.time import billing_date
from ledger.domain.types import Billing, GenerationMode, Plan, Surface
from ledger.pricing.models import (
    ApiModel,
    DurationError,
    Meter,
    PriceBook,
    PricingError,
    WebModel,
)
from scenarios.errors import DataPath, Problem, Severity, did_you_mean, format_path
from scenarios.schedule import account_actions, parse_rrule
from scenarios.schema import (
    SUM_FIELDS,
    UNIT_FIELDS,
    AddMember,
    Buy,
    Cancel,
    ChangePlan,
    CreateKey,
    DisableKey,
    EnableAutobill,
    Expectation,
    Organization,
    RemoveMember,
    Scenario,
    UsageLine,
    Workload,
    Workspace,
)
from scenarios.source import SourceMap

AccountRef: TypeAlias = tuple[DataPath, str, Surface]  # where an account is, its id, its surface


@dataclass(frozen=True)
class Context:
    """What every check needs: the file's lines, the window and the price book.

    ``book`` is None when the price book itself could not be loaded; checks
    that need it are skipped (that problem is already reported).
    """

    src: SourceMap
    start: datetime
    end: datetime
    book: PriceBook | None

    @property
    def window_ok(self) -> bool:
        return self.start < self.end

    def problem(
        self,
        path: DataPath,
        message: str,
        rule: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        return self.src.problem(path, message, rule, severity)

    def breaches(self, path: DataPath, *found: Breach | None) -> list[Problem]:
        """The rule functions' breaches (``ledger.domain.rules``) as problems at ``path``."""
        return [self.problem(path, b.message, b.rule) for b in found if b is not None]


@dataclass(frozen=True)
class Opening:
    """When an account comes into existence, and the field that says so."""

    at: datetime
    field: str  # "subscribed" or "opened"


# ---------------------------------------------------------------- whole files


def check_scenario(scenario: Scenario, book: PriceBook | None, src: SourceMap) -> list[Problem]:
    """Every semantic check of a scenario that passed the schema."""
    accounts: list[AccountRef] = [
        (("workspaces", i), w.id, Surface.WEB) for i, w in enumerate(scenario.workspaces)
    ]
    accounts += [
        (("organizations", i), o.id, Surface.API) for i, o in enumerate(scenario.organizations)
    ]
    return check_sections(
        scenario,
        book,
        src,
        workspaces=list(enumerate(scenario.workspaces)),
        organizations=list(enumerate(scenario.organizations)),
        expectations=list(enumerate(scenario.expect)),
        accounts=accounts,
    )


def check_sections(
    header: Scenario,
    book: PriceBook | None,
    src: SourceMap,
    *,
    workspaces: Sequence[tuple[int, Workspace]],
    organizations: Sequence[tuple[int, Organization]],
    expectations: Sequence[tuple[int, Expectation]],
    accounts: Sequence[AccountRef],
) -> list[Problem]:
    """The checks over whichever entries passed the schema, by their index in the file.

    ``accounts`` names every account of the file, including entries the
    schema rejected, so an expectation on one is not also called unknown.
    """
    ctx = Context(src, header.start, header.end, book)
    problems = check_window(ctx)
    problems += check_unique_ids(accounts, ctx)
    for index, workspace in workspaces:
        problems += check_workspace(workspace, ("workspaces", index), ctx)
    for index, organization in organizations:
        problems += check_organization(organization, ("organizations", index), ctx)
    surfaces = {account_id: surface for _, account_id, surface in accounts}
    for index, expectation in expectations:
        problems += check_expectation(expectation, ("expect", index), ctx, surfaces)
    return problems


def check_workload(workload: Workload, book: PriceBook | None, src: SourceMap) -> list[Problem]:
    ctx = Context(src, workload.start, workload.end, book)
    problems = check_window(ctx)
    for index, line in enumerate(workload.usage):
        problems += check_usage_line(line, ("usage", index), ctx, surface=None)
    return problems


def check_window(ctx: Context) -> list[Problem]:
    if ctx.window_ok:
        return []
    message = f"end ({_show(ctx.end)}) must be after start ({_show(ctx.start)})"
    return [ctx.problem(("end",), message)]


def check_unique_ids(accounts: Sequence[AccountRef], ctx: Context) -> list[Problem]:
    first_seen: dict[str, DataPath] = {}
    problems = []
    for path, account_id, _ in accounts:
        if account_id in first_seen:
            other = first_seen[account_id]
            problems.append(
                ctx.problem(
                    (*path, "id"),
                    f"the id {account_id!r} is already used by {format_path(other)} "
                    f"(line {ctx.src.line(other)}); ids are unique across the whole scenario",
                )
            )
        else:
            first_seen[account_id] = path
    return problems


# ---------------------------------------------------------------- web workspaces


def check_workspace(workspace: Workspace, path: DataPath, ctx: Context) -> list[Problem]:
    plans = _plans_over_time(workspace)
    opening = Opening(workspace.subscribed, "subscribed")
    problems = _opening(workspace.subscribed, (*path, "subscribed"), ctx)
    problems += _repeated_names(workspace.editors, (*path, "editors"), ctx, "editor")
    problems += _contract_credits(workspace, path, ctx, {plan for _, plan in plans})
    problems += _auto_refill(workspace, path, ctx, {plan for _, plan in plans})
    problems += _seats(workspace, path, ctx)
    for index, event in enumerate(workspace.events):
        event_path = (*path, "events", index)
        problems += _event_time(event.at, event_path, ctx, opening)
        if isinstance(event, Buy):
            problems += _web_buy(event, event_path, ctx, plans)
        elif isinstance(event, ChangePlan | Cancel):
            problems += _plan_change(event, event_path, ctx, plans)
    book = ctx.book
    explore_possible = book is None or any(book.plan(plan).explore for _, plan in plans)
    for index, line in enumerate(workspace.usage):
        problems += check_usage_line(
            line,
            (*path, "usage", index),
            ctx,
            surface=Surface.WEB,
            opening=opening,
            explore_possible=explore_possible,
        )
    return problems


def _plans_over_time(workspace: Workspace) -> list[tuple[datetime, Plan]]:
    """The plan asked for at each instant: the first plan, then each change_plan.

    An Enterprise workspace changes plan only by a cancellation (W16), so its
    fall back to Free is placed where the replay makes it (W13): just before
    the actions of the billing date that ends the paid period.
    """
    changes = [
        (at, event.change_plan)
        for at, _, event in account_actions(workspace)
        if isinstance(event, ChangePlan)
    ]
    if workspace.plan is not Plan.ENTERPRISE:
        return [(workspace.subscribed, workspace.plan), *changes]
    ends = _enterprise_ends(workspace)
    if ends is None:
        return [(workspace.subscribed, workspace.plan), *changes]
    return [
        (workspace.subscribed, workspace.plan),
        *[(at, plan) for at, plan in changes if at < ends],
        (ends - timedelta(microseconds=1), Plan.FREE),
        *[(at, plan) for at, plan in changes if at >= ends],
    ]


def _enterprise_ends(workspace: Workspace) -> datetime | None:
    """When a cancelled Enterprise plan ends (W13), as the replay decides it, or None.

    The anchor never moves on Enterprise; choosing Enterprise again before the
    end drops the cancellation (W12); a billing date at an action's instant
    comes before it (S04).
    """
    step = 12 if workspace.billing is Billing.ANNUAL else 1
    anchor = workspace.subscribed
    ends: datetime | None = None
    for at, _, event in account_actions(workspace):
        if ends is not None and at >= ends:
            return ends
        if isinstance(event, Cancel) and ends is None:
            passed = 0
            while billing_date(anchor, passed + 1) <= at:
                passed += 1
            ends = billing_date(anchor, (passed // step) * step + step)
        elif isinstance(event, ChangePlan) and event.change_plan is Plan.ENTERPRISE:
            ends = None
    return ends


def _plan_change(
    event: ChangePlan | Cancel,
    path: DataPath,
    ctx: Context,
    plans: list[tuple[datetime, Plan]],
) -> list[Problem]:
    """W13 and W16 as the replay checks them; the plan before is the last one asked for.

    The asked plans are exact here: a Free workspace cannot be refused an
    upgrade (one editor), and nothing moves to or from Enterprise.
    """
    before = [plan for at, plan in plans if at < event.at] or [plans[0][1]]
    if isinstance(event, ChangePlan):
        # (Free to Free is choosing the current plan: W12, nothing to refuse.)
        breach = rules.w16_plan_change(before[-1], event.change_plan)
        return ctx.breaches((*path, "change_plan"), breach)
    # Only a workspace that was never asked onto a paid plan is certainly on Free.
    never_paid = all(plan is Plan.FREE for plan in before)
    return ctx.breaches((*path, "cancel"), rules.w13_cancel(Plan.FREE) if never_paid else None)


def _contract_credits(
    workspace: Workspace, path: DataPath, ctx: Context, plans: set[Plan]
) -> list[Problem]:
    field = (*path, "contract_credits")
    if Plan.ENTERPRISE in plans and workspace.contract_credits is None:
        return [
            ctx.problem(
                field, "an Enterprise workspace needs contract_credits, its contract pool", "W16"
            )
        ]
    if Plan.ENTERPRISE not in plans and workspace.contract_credits is not None:
        # The contract's own example sets them on a Standard workspace: the
        # file must load, so they are ignored with a warning.
        return [
            ctx.problem(
                field,
                "contract_credits only apply to Enterprise; this workspace is never on it, "
                "so they are ignored",
                "W16",
                Severity.WARNING,
            )
        ]
    return []


def _auto_refill(
    workspace: Workspace, path: DataPath, ctx: Context, plans: set[Plan]
) -> list[Problem]:
    refill = workspace.auto_refill
    if refill is None:
        return []
    field = (*path, "auto_refill")
    problems = []
    if ctx.book is not None and not any(ctx.book.plan(p).auto_refill for p in plans):
        # The settings wait, dormant, on a plan without Auto Refill: the replay
        # never fires them, so this is a warning.
        names = plan_names(p for p in Plan if ctx.book.plan(p).auto_refill)
        problems.append(
            ctx.problem(
                field,
                f"Auto Refill is only available on {names}; this workspace is never on one, "
                "so no refill will happen",
                "W15",
                Severity.WARNING,
            )
        )
    breach = rules.w15_refill_settings(refill.amount_usd, refill.monthly_max_usd)
    at = "amount_usd" if refill.amount_usd < rules.REFILL_MIN_USD else "monthly_max_usd"
    return problems + ctx.breaches((*field, at), breach)


def _seats(workspace: Workspace, path: DataPath, ctx: Context) -> list[Problem]:
    if ctx.book is None:
        return []
    cap = ctx.book.plan(workspace.plan).seat_cap
    breach = rules.w03_seat_cap(workspace.plan, cap, len(workspace.editors))
    return ctx.breaches((*path, "editors"), breach)


def _web_buy(
    event: Buy, path: DataPath, ctx: Context, plans: list[tuple[datetime, Plan]]
) -> list[Problem]:
    if ctx.book is None:
        return []
    book = ctx.book
    web = book.web
    so_far = [plan for at, plan in plans if at <= event.at] or [plans[0][1]]
    buyers = [p for p in Plan if book.plan(p).can_buy]
    can_buy = any(book.plan(plan).can_buy for plan in so_far)
    price = event.buy * web.credit_price_usd
    return ctx.breaches(
        (*path, "buy"),
        rules.w07_purchase_minimum(event.buy, web.min_purchase_credits),
        rules.w07_plan_can_buy(so_far[-1], can_buy, buyers),
        rules.w07_enterprise_cap(so_far[-1], price, web.enterprise_in_app_cap_usd),
    )


# ---------------------------------------------------------------- API organizations


def check_organization(organization: Organization, path: DataPath, ctx: Context) -> list[Problem]:
    problems = _opening(organization.opened, (*path, "opened"), ctx)
    problems += _repeated_names(organization.members, (*path, "members"), ctx, "member")
    if organization.autobill is not None:
        settings = organization.autobill
        problems += _autobill(settings.threshold, settings.amount, (*path, "autobill"), ctx)
    problems += _organization_events(organization, path, ctx)
    created = {e.create_key for e in organization.events if isinstance(e, CreateKey)}
    for index, line in enumerate(organization.usage):
        line_path = (*path, "usage", index)
        problems += check_usage_line(
            line,
            line_path,
            ctx,
            surface=Surface.API,
            opening=Opening(organization.opened, "opened"),
        )
        if line.key is not None and line.key not in created:
            problems.append(
                ctx.problem(
                    (*line_path, "key"),
                    f"key {line.key!r} is never created in this organization; "
                    "add a create_key event",
                    "A10",
                )
            )
    return problems


def _organization_events(organization: Organization, path: DataPath, ctx: Context) -> list[Problem]:
    """Events in time order, following who is a member and which keys exist (A10)."""
    members = set(organization.members)
    keys: set[str] = set()
    has_settings = organization.autobill is not None
    opening = Opening(organization.opened, "opened")
    problems = []
    for at, index, event in account_actions(organization):
        event_path = (*path, "events", index)
        problems += _event_time(at, event_path, ctx, opening)
        if isinstance(event, Buy):
            problems += _api_buy(event, event_path, ctx)
        elif isinstance(event, AddMember):
            members.add(event.add_member)
        elif isinstance(event, RemoveMember):
            members.discard(event.remove_member)
        elif isinstance(event, CreateKey):
            problems += _create_key(event, event_path, ctx, members, keys)
            keys.add(event.create_key)
        elif isinstance(event, DisableKey) and event.disable_key not in keys:
            problems.append(
                ctx.problem(
                    (*event_path, "disable_key"),
                    f"key {event.disable_key!r} is not created before it is disabled",
                    "A10",
                )
            )
        elif isinstance(event, EnableAutobill):
            problems += _enable_autobill(event, event_path, ctx, has_settings)
            has_settings = True
    return problems


def _api_buy(event: Buy, path: DataPath, ctx: Context) -> list[Problem]:
    if ctx.book is None:
        return []
    breach = rules.a01_purchase_minimum(event.buy, ctx.book.api.min_purchase_credits)
    return ctx.breaches((*path, "buy"), breach)


def _create_key(
    event: CreateKey, path: DataPath, ctx: Context, members: set[str], keys: set[str]
) -> list[Problem]:
    problems = []
    if event.by not in members:
        problems.append(
            ctx.problem(
                (*path, "by"),
                f"{event.by!r} is not a member of the organization at that time; "
                "add them first with add_member, or name a member with by",
                "A10",
            )
        )
    if event.create_key in keys:
        problems.append(
            ctx.problem(
                (*path, "create_key"),
                f"key {event.create_key!r} is already created; give each key its own name",
            )
        )
    return problems


def _enable_autobill(
    event: EnableAutobill, path: DataPath, ctx: Context, has_settings: bool
) -> list[Problem]:
    settings = event.enable_autobill
    field = (*path, "enable_autobill")
    if settings is True:
        if has_settings:
            return []
        return [
            ctx.problem(
                field,
                "there are no autobill settings to turn back on; give {threshold, amount}",
                "A05",
            )
        ]
    return _autobill(settings.threshold, settings.amount, field, ctx)


def _autobill(threshold: int, amount: int, path: DataPath, ctx: Context) -> list[Problem]:
    if ctx.book is None:
        return []
    minimum = ctx.book.api.autobill_min_credits
    breach = rules.a04_autobill_settings(threshold, amount, minimum)
    field = "amount" if amount < minimum else "threshold"
    return ctx.breaches((*path, field), breach)


# ---------------------------------------------------------------- usage lines


def check_usage_line(
    line: UsageLine,
    path: DataPath,
    ctx: Context,
    *,
    surface: Surface | None,
    opening: Opening | None = None,
    explore_possible: bool = True,
) -> list[Problem]:
    """One usage line; ``surface`` None is a workload, priced on either catalogue."""
    problems = _schedule(line, path, ctx, opening)
    if line.failure_rate + line.safety_failure_rate > 1:
        total = line.failure_rate + line.safety_failure_rate
        problems.append(
            ctx.problem(
                (*path, "safety_failure_rate"),
                f"failure_rate and safety_failure_rate add up to {total:g}, more than 1",
            )
        )
    if line.key is not None and surface is not Surface.API:
        problems.append(
            ctx.problem((*path, "key"), "key names an API key; only organizations have keys")
        )
    if ctx.book is not None:
        problems += _priced(line, path, ctx, surface, explore_possible)
    return problems


def _schedule(
    line: UsageLine, path: DataPath, ctx: Context, opening: Opening | None
) -> list[Problem]:
    if line.at is not None:
        return list(_one_off(line, path, ctx, opening))
    if line.dates is not None:
        return list(_dated(line, path, ctx, opening))
    return list(_recurring(line, path, ctx))


def _dated(
    line: UsageLine, path: DataPath, ctx: Context, opening: Opening | None
) -> Iterator[Problem]:
    """``dates``: dated occurrences, each inside the window and after the account opens."""
    assert line.dates is not None
    for instant in line.dates:
        if ctx.window_ok and not ctx.start <= instant < ctx.end:
            yield ctx.problem((*path, "dates"), f"{_show(instant)} is {_outside(ctx)}")
        elif opening is not None and instant < opening.at and ctx.start <= opening.at < ctx.end:
            yield ctx.problem(
                (*path, "dates"),
                f"{_show(instant)} is before the account exists "
                f"({opening.field} {_show(opening.at)})",
            )
    if "count" in line.model_fields_set:
        yield ctx.problem((*path, "count"), "with dates, each date gives its own count")
    for name in ("time", "from", "until"):
        if getattr(line, "from_" if name == "from" else name) is not None:
            yield ctx.problem((*path, name), f"{name} goes with every or rrule, not with dates")
    if line.between is not None and line.between[1] <= line.between[0]:
        first, last = (t.strftime("%H:%M") for t in line.between)
        yield ctx.problem(
            (*path, "between"), f"the end of between ({last}) must be after its start ({first})"
        )


def _one_off(
    line: UsageLine, path: DataPath, ctx: Context, opening: Opening | None
) -> Iterator[Problem]:
    assert line.at is not None
    yield from _event_time(line.at, path, ctx, opening)
    if line.time is not None:
        yield ctx.problem(
            (*path, "time"), "time goes with every or rrule; put the time of day in at"
        )
    if line.between is not None:
        yield ctx.problem((*path, "between"), "between goes with every or rrule, not with at")
    if line.from_ is not None:
        yield ctx.problem((*path, "from"), "from bounds a recurring line, not a line with at")
    if line.until is not None:
        yield ctx.problem((*path, "until"), "until bounds a recurring line, not a line with at")


def _recurring(line: UsageLine, path: DataPath, ctx: Context) -> Iterator[Problem]:
    if ctx.window_ok and line.from_ is not None and not ctx.start <= line.from_ < ctx.end:
        yield ctx.problem((*path, "from"), f"from ({_show(line.from_)}) is {_outside(ctx)}")
    if ctx.window_ok and line.until is not None and not ctx.start < line.until <= ctx.end:
        yield ctx.problem((*path, "until"), f"until ({_show(line.until)}) is {_outside(ctx)}")
    if line.from_ is not None and line.until is not None and line.until <= line.from_:
        yield ctx.problem(
            (*path, "until"),
            f"until ({_show(line.until)}) must be after from ({_show(line.from_)})",
        )
    if line.rrule is not None:
        try:
            parse_rrule(line.rrule, line.from_ or ctx.start)
        except ValueError as exc:
            yield ctx.problem(
                (*path, "rrule"), f"this is not a recurrence rule dateutil can read ({exc})"
            )
    if line.between is not None and line.between[1] <= line.between[0]:
        first, last = (t.strftime("%H:%M") for t in line.between)
        yield ctx.problem(
            (*path, "between"), f"the end of between ({last}) must be after its start ({first})"
        )
    if line.between is not None and line.time is not None:
        yield ctx.problem((*path, "time"), "give either time or between, not both")


def _priced(
    line: UsageLine,
    path: DataPath,
    ctx: Context,
    surface: Surface | None,
    explore_possible: bool,
) -> list[Problem]:
    """The model exists on the line's surface and can price the units given (W09, A02)."""
    assert ctx.book is not None
    if line.credits is not None:
        return _fixed_price(line, path, ctx)
    models = _models(ctx.book, line.model, surface)
    if isinstance(models, str):
        return [ctx.problem((*path, "model"), models)]
    problems = []
    for model in models:
        try:
            if surface is Surface.API:  # a workload may price it on the web, any length
                model.check_usage(line.task_usage())
            model.cost(line.task_usage())
        except DurationError as exc:
            problems.append(ctx.problem((*path, "seconds"), f"{line.model}: {exc}", "A02"))
            break
        except PricingError as exc:
            problems.append(ctx.problem((*path, _unit_field(model, line)), str(exc)))
            break
    if line.mode is GenerationMode.EXPLORE:
        problems += _explore(
            line, path, ctx, models=models, surface=surface, explore_possible=explore_possible
        )
    return problems


def _fixed_price(line: UsageLine, path: DataPath, ctx: Context) -> list[Problem]:
    """``credits``: each task costs exactly that; the model may be one the book lacks."""
    problems = [
        ctx.problem((*path, name), "a line with credits gives the price itself: drop " + name)
        for name in UNIT_FIELDS
        if getattr(line, name) is not None
    ]
    if line.outputs != 1:
        problems.append(ctx.problem((*path, "outputs"), "a line with credits prices one task"))
    if line.mode is GenerationMode.EXPLORE:
        problems.append(
            ctx.problem((*path, "mode"), "Explore Mode costs no credits; drop credits", "W10")
        )
    return problems


def _models(
    book: PriceBook, model_id: str, surface: Surface | None
) -> list[WebModel | ApiModel] | str:
    """The models named ``model_id`` on the surface(s), or why there are none."""
    found: list[WebModel | ApiModel] = []
    reasons = []
    for side in (Surface.WEB, Surface.API) if surface is None else (surface,):
        try:
            found.append(book.model(side, model_id))
        except PricingError as exc:
            reasons.append(str(exc))
    if found:
        return found
    if surface is Surface.WEB and model_id in book.api.models:
        return reasons[0] + f"; {model_id!r} is an API model (for organizations)"
    if surface is Surface.API and model_id in book.web.models:
        return reasons[0] + f"; {model_id!r} is a web-app model (for workspaces)"
    return "; ".join(reasons)


def _unit_field(model: WebModel | ApiModel, line: UsageLine) -> str:
    """The field a pricing failure is about, so the user knows what to change."""
    if model.meter is Meter.SECOND and line.seconds is None:
        return "seconds"
    if model.meter is Meter.CHARACTERS and line.characters is None:
        return "characters"
    for name in ("resolution", "quality", "audio"):
        if getattr(line, name) is not None:
            return name
    return "model"


def _explore(
    line: UsageLine,
    path: DataPath,
    ctx: Context,
    *,
    models: list[WebModel | ApiModel],
    surface: Surface | None,
    explore_possible: bool,
) -> list[Problem]:
    field = (*path, "mode")
    if surface is Surface.API:
        message = "Explore Mode is a web-app feature; API tasks always cost credits"
        return [ctx.problem(field, message, "W10")]
    web = [m for m in models if isinstance(m, WebModel)]
    if web and not web[0].explore:
        return [ctx.problem(field, f"{line.model} is not eligible for Explore Mode", "W10")]
    if not explore_possible:
        # The contract's own example plans explore on a Standard workspace: the
        # replay refuses those tasks, so this is a warning, not an error.
        return [
            ctx.problem(
                field,
                "this workspace is never on a plan with Explore Mode (Unlimited), "
                "so these tasks will be refused",
                "W10",
                Severity.WARNING,
            )
        ]
    return []


# ---------------------------------------------------------------- expectations


def check_expectation(
    expectation: Expectation, path: DataPath, ctx: Context, surfaces: Mapping[str, Surface]
) -> list[Problem]:
    problems = _expectation_account(expectation, path, ctx, surfaces)
    if ctx.window_ok and not ctx.start <= expectation.at <= ctx.end:
        problems.append(
            ctx.problem((*path, "at"), f"at ({_show(expectation.at)}) is outside the scenario")
        )
    problems += _expectation_sums(expectation, path, ctx)
    if expectation.reason is not None and expectation.refused is None:
        problems.append(ctx.problem((*path, "reason"), "reason narrows refused: give refused too"))
    if expectation.balance_between is not None:
        low, high = expectation.balance_between
        if high < low:
            problems.append(
                ctx.problem(
                    (*path, "balance_between"),
                    f"balance_between is [lowest, highest]; {high:,} is below {low:,}",
                )
            )
    return problems


def _expectation_account(
    expectation: Expectation, path: DataPath, ctx: Context, surfaces: Mapping[str, Surface]
) -> list[Problem]:
    surface = surfaces.get(expectation.account)
    if surface is None:
        known = ", ".join(sorted(surfaces)) or "none"
        hint = did_you_mean(expectation.account, list(surfaces))
        return [
            ctx.problem(
                (*path, "account"),
                f"no workspace or organization is called {expectation.account!r}{hint}; "
                f"known: {known}",
            )
        ]
    if surface is Surface.WEB and expectation.tier is not None:
        return [
            ctx.problem(
                (*path, "tier"),
                f"tier belongs to API organizations; {expectation.account!r} is a web workspace",
            )
        ]
    misplaced = [f for f in ("plan", "purchased") if getattr(expectation, f) is not None]
    if surface is Surface.API and misplaced:
        return [
            ctx.problem(
                (*path, misplaced[0]),
                f"{' and '.join(misplaced)} are web workspace buckets; "
                f"{expectation.account!r} is an API organization (use balance)",
            )
        ]
    return []


def _expectation_sums(expectation: Expectation, path: DataPath, ctx: Context) -> list[Problem]:
    field = (*path, "from")
    if field not in ctx.src.lines:  # defaulted to the start: nothing the user wrote
        return []
    if all(getattr(expectation, f) is None for f in SUM_FIELDS):
        return [ctx.problem(field, f"from only applies to {', '.join(SUM_FIELDS)}")]
    if expectation.from_ > expectation.at:
        return [
            ctx.problem(
                field,
                f"from ({_show(expectation.from_)}) must not be after at ({_show(expectation.at)})",
            )
        ]
    if ctx.window_ok and expectation.from_ < ctx.start:
        return [ctx.problem(field, f"from ({_show(expectation.from_)}) is before the start")]
    return []


# ---------------------------------------------------------------- shared


def _opening(opened: datetime, path: DataPath, ctx: Context) -> list[Problem]:
    if not ctx.window_ok or ctx.start <= opened < ctx.end:
        return []
    return [ctx.problem(path, f"{path[-1]} ({_show(opened)}) is {_outside(ctx)}")]


def _event_time(
    at: datetime, path: DataPath, ctx: Context, opening: Opening | None
) -> list[Problem]:
    field = (*path, "at")
    if ctx.window_ok and not ctx.start <= at < ctx.end:
        return [ctx.problem(field, f"at ({_show(at)}) is {_outside(ctx)}")]
    # An opening outside the window is reported on its own; comparing with it adds noise.
    if opening is not None and at < opening.at and ctx.start <= opening.at < ctx.end:
        return [
            ctx.problem(
                field,
                f"at ({_show(at)}) is before the account exists "
                f"({opening.field} {_show(opening.at)})",
            )
        ]
    return []


def _repeated_names(names: list[str], path: DataPath, ctx: Context, what: str) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(ctx.problem((*path, index), f"the {what} {name!r} is listed twice"))
        seen.add(name)
    return problems


def _outside(ctx: Context) -> str:
    return f"outside the scenario window, {_show(ctx.start)} to {_show(ctx.end)} (end excluded)"


def _show(instant: datetime) -> str:
    if (instant.hour, instant.minute, instant.second, instant.microsecond) == (0, 0, 0, 0):
        return instant.strftime("%Y-%m-%d")
    return instant.strftime("%Y-%m-%d %H:%M" if instant.second == 0 else "%Y-%m-%d %H:%M:%S")
