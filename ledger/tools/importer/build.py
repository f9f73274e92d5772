"""Turn what Runway reported into a scenario file a user can read and edit.

- The organization opens at the window's start with the balance it held then
  (the balance now plus every credit used since: Runway reports no purchases,
  so none is assumed) on the tier whose monthly credit spend Runway reports.
- Tier limits Runway reports that differ from the price book become
  ``overrides`` (per limit group, as the price book keys them).
- The API history: each model's credits per day become whole tasks of one
  size (``--duration MODEL=SECONDS``, default 5 s) spread over one hour of the
  day (each model its own hour), plus one ``credits`` task holding what is
  left, at the end of that hour, so every day's total is exact.
- Each web workspace gets its generations at their real instants, as
  ``credits`` tasks (Runway reports credits, not durations); a refunded
  generation fails at once (``failure_rate: 1``) so its charge comes back.
- A model the price book does not know is kept as ``credits`` tasks (exact)
  and reported by name and line.

The file is written by hand, not by a YAML dumper, so its layout is stable
and each line's number is known for the report.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ledger.domain.types import Tier
from ledger.pricing.models import ApiModel, Meter, PriceBook, PricingError, Usage
from ledger.tools.importer.forecast import ForecastLine, forecast_lines
from ledger.tools.importer.reported import Reported, WebRow, net_daily
from ledger.tools.importer.runway import RunwayImportError

DEFAULT_SECONDS = 5
DEFAULT_CHARACTERS = 500
FIRST_HOUR = 8  # the first model's hour of the day; the next ones follow


def model_hour(index: int) -> tuple[str, str]:
    """The hour a model's daily tasks are spread over: one hour each, so a model's day is
    one run (A04's hourly check splits runs on the hour, and lines sharing an hour
    interleave task by task), models in turn from 08:00."""
    hour = (FIRST_HOUR + index) % 24
    return f"{hour:02d}:00", f"{hour:02d}:59"


ORG_ID = "api"
# Display names of the web app's tools, as the usage rows give them, and the
# price book's model ids (lower case, spaces and dashes folded).
WEB_TOOLS = {
    "gen-4.5": "gen4.5",
    "gen-4": "gen4",
    "gen-4 turbo": "gen4_turbo",
    "gen-3 alpha turbo": "gen3a_turbo",
    "gen-3 alpha": "gen3a",
    "gen-2": "gen2",
    "gen-4 image": "gen4_image",
    "frames": "frames",
}


@dataclass
class ImportOptions:
    start: date
    end: date  # exclusive
    durations: dict[str, int] = field(default_factory=dict)  # model -> seconds (or characters)
    forecast_months: int = 0
    name: str | None = None
    price_book: str = "runway-2026-05"


@dataclass
class ImportResult:
    text: str  # the scenario file
    overrides: list[str]  # the tier diff, one line per figure
    unknown: list[tuple[str, int]]  # (model, line of the file)
    notes: list[str]
    tier: int
    opening_balance: int
    end_balance: int
    api_days: int
    api_credits: int
    web_generations: int
    workspaces: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "opening_balance": self.opening_balance,
            "end_balance": self.end_balance,
            "api_days": self.api_days,
            "api_credits": self.api_credits,
            "web_generations": self.web_generations,
            "workspaces": self.workspaces,
            "overrides": self.overrides,
            "unknown_models": [{"model": m, "line": n} for m, n in self.unknown],
            "notes": self.notes,
        }


def workspace_id(name: str, runway_id: str) -> str:
    """A scenario id for a Runway workspace: its name, made plain, and its id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"
    return f"{slug}-{runway_id}"


def web_model(tool: str) -> str:
    key = tool.strip().lower()
    return WEB_TOOLS.get(key, re.sub(r"[\s\-]+", "_", key.replace("gen-", "gen")))


def default_seconds(model: ApiModel) -> int:
    """5 s, or the length the model makes that is closest to it (A02: some make 4, 6 or 8)."""
    if not model.durations:
        return DEFAULT_SECONDS
    return min(model.durations, key=lambda d: (abs(d - DEFAULT_SECONDS), d))


def task_usage(model: ApiModel, seconds: int | None) -> Usage:
    if model.meter is Meter.SECOND:
        return Usage(seconds=seconds or default_seconds(model))
    if model.meter is Meter.CHARACTERS:
        return Usage(characters=seconds or DEFAULT_CHARACTERS)
    return Usage()


def unit_price(model: ApiModel | object) -> int | None:
    """The smallest step a model's charges move in: every charge is a multiple of it."""
    rate = getattr(model, "rate", None)
    rates = getattr(model, "rates", None)
    prices = [rate] if rate is not None else list((rates or {}).values())
    if not prices:
        return None
    return math.gcd(*prices)


def tier_for(spend_credits: int, book: PriceBook) -> tuple[Tier, Decimal | None]:
    """The book's tier whose monthly cap is the reported spend (else the closest below)."""
    usd = Decimal(spend_credits) * book.api.credit_price_usd
    tiers = sorted(book.api.tiers.items(), key=lambda item: item[0].value)
    for tier, spec in tiers:
        if spec.monthly_cap_usd == usd:
            return tier, None
    below = [t for t, spec in tiers if spec.monthly_cap_usd <= usd] or [tiers[0][0]]
    return below[-1], usd


def build_scenario(reported: Reported, book: PriceBook, options: ImportOptions) -> ImportResult:
    start, end = options.start, options.end
    notes = list(reported.notes)
    used_in_window = reported.api_used_between(start, end)
    used_after = reported.api_used_between(end, reported.fetched_before)
    end_balance = reported.balance_now + used_after
    opening = end_balance + used_in_window
    if opening < 0:
        notes.append(
            f"the balance at the start would be {opening:,}: purchases Runway does not report "
            "must have happened; it is set to 0"
        )
        opening = 0
    tier, cap_usd = tier_for(reported.monthly_credit_spend, book)
    overrides, diff = _tier_overrides(reported, book, tier, cap_usd)
    daily, moved = net_daily(reported)
    notes += moved

    out = _Writer()
    out.comment("Imported from Runway by `credit-ledger import runway` (docs/importing.md).")
    out.comment("Edit freely: `credit-ledger reconcile` compares a replay with Runway again.")
    out.add("version: 1")
    out.add(f"name: {_quote(options.name or f'Runway {start} to {end}')}")
    total_end = _add_months(end, options.forecast_months)
    out.add(f"start: {start.isoformat()}")
    out.add(f"end: {total_end.isoformat()}")
    out.add(f"price_book: {options.price_book}")
    if overrides:
        out.add("overrides:  # tier figures Runway reports that differ from the price book")
        for path, value in overrides:
            out.add(f"  {path}: {_scalar(value)}")

    unknown: list[tuple[str, int]] = []
    api_credits = 0
    api_days = 0
    out.add("organizations:")
    out.add(f"  - id: {ORG_ID}")
    out.add(f"    tier: {tier.value}")
    out.add(
        f"    balance: {opening}  # held on {start}: {end_balance:,} at the end of the "
        f"history + {used_in_window:,} used in it (Runway reports no purchases)"
    )
    lines = list(_api_lines(daily, book, tier, options, overrides, notes, start, end))
    api_credits = sum(sum(d.values()) for d in daily.values() if d)
    api_days = len({day for d in daily.values() for day, amount in d.items() if amount})
    if options.forecast_months:
        lines += _forecast(daily, book, options, start, end, total_end)
    if lines:
        out.add("    usage:")
        for line in lines:
            at = out.usage(line, indent=6)
            if line.unknown:
                unknown.append((line.model, at))
    if end_balance >= 0:
        last = datetime.combine(end, datetime.min.time(), UTC) - timedelta(seconds=1)
        out.add("expect:  # the balance Runway reported, at the end of the history")
        out.add(
            f'  - {{at: "{last.strftime("%Y-%m-%dT%H:%M:%S")}", account: {ORG_ID}, '
            f"balance: {end_balance}}}"
        )

    workspaces = _web(reported, book, start, end, notes)
    if workspaces:
        out.add("workspaces:")
        for ws in workspaces:
            out.add(f"  - id: {ws.id}  # Runway workspace {ws.runway_id} ({_quote(ws.name)})")
            out.add("    plan: enterprise  # Runway does not report the plan: set yours")
            out.add(
                f"    contract_credits: {max(1, ws.charged)}  # what the history charged, so it "
                "replays; set your real allowance"
            )
            out.add(f"    subscribed: {start.isoformat()}")
            out.add(f"    # {ws.users} user(s) generated in the window")
            out.add("    usage:")
            for line in ws.lines:
                at = out.usage(line, indent=6)
                if line.unknown:
                    unknown.append((line.model, at))
    web_generations = sum(
        1 for r in reported.web_rows if r.kind == "charge" and start <= r.at.date() < end
    )
    return ImportResult(
        out.text(),
        diff,
        unknown,
        notes,
        tier.value,
        opening,
        end_balance,
        api_days,
        api_credits,
        web_generations,
        [ws.id for ws in workspaces],
    )


# ---------------------------------------------------------------- tier limits


def _tier_overrides(
    reported: Reported, book: PriceBook, tier: Tier, cap_usd: Decimal | None
) -> tuple[list[tuple[str, object]], list[str]]:
    overrides: list[tuple[str, object]] = []
    diff: list[str] = []
    spec = book.api.tiers[tier]
    if cap_usd is not None:
        path = f"api.tiers.{tier.value}.monthly_cap_usd"
        overrides.append((path, str(cap_usd)))
        diff.append(f"{path}: {spec.monthly_cap_usd} -> {cap_usd}")
    groups: dict[tuple[str, str], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for model_id, limit in sorted(reported.tier_limits.items()):
        model = book.api.models.get(model_id)
        if model is None:
            continue  # no limits are applied to a model the book does not know
        for figure, value in (("concurrency", limit.concurrency), ("daily", limit.daily)):
            if value is not None:
                groups[(model.limit_group, figure)][value].append(model_id)
    for (group, figure), values in sorted(groups.items()):
        book_value = getattr(spec.limits[group], figure)
        chosen = max(values)  # the book keys limits per group: the largest lets all replay
        if chosen != book_value:
            path = f"api.tiers.{tier.value}.limits.{group}.{figure}"
            overrides.append((path, chosen))
            models = ", ".join(sorted(m for ms in values.values() for m in ms))
            diff.append(f"{path}: {book_value} -> {chosen} (Runway, for {models})")
    return overrides, diff


# ---------------------------------------------------------------- API history


@dataclass
class _Line:
    model: str
    on: dict[str, int]
    seconds: int | None = None
    characters: int | None = None
    credits: int | None = None
    between: tuple[str, str] | None = None
    failure_rate: int | None = None
    every: str | None = None
    rrule: str | None = None
    from_: str | None = None
    until: str | None = None
    count: int | None = None
    comment: str = ""
    unknown: bool = False


def _api_lines(
    daily: dict[str, dict[date, int]],
    book: PriceBook,
    tier: Tier,
    options: ImportOptions,
    overrides: list[tuple[str, object]],
    notes: list[str],
    start: date,
    end: date,
) -> list[_Line]:
    lines: list[_Line] = []
    for index, (model_id, all_days) in enumerate(daily.items()):
        spread = model_hour(index)
        days = {d: a for d, a in all_days.items() if start <= d < end and a > 0}
        if not days:
            continue
        model = book.api.models.get(model_id)
        if model is None:
            step = math.gcd(*days.values())
            lines.append(
                _Line(
                    model_id,
                    {d.isoformat(): a // step for d, a in days.items()},
                    credits=step,
                    between=spread,
                    comment=f"not in price book {book.id}: kept as {step}-credit tasks",
                    unknown=True,
                )
            )
            continue
        size = options.durations.get(model_id)
        usage = task_usage(model, size)
        try:
            model.check_usage(usage)
        except PricingError as exc:
            raise RunwayImportError(f"--duration {model_id}={size}: {exc}") from None
        cost = model.cost(usage)
        size = _fit_daily_limit(model_id, model, usage, days, book, tier, overrides, size, notes)
        usage = task_usage(model, size)
        cost = model.cost(usage)
        whole = {d.isoformat(): a // cost for d, a in days.items() if a // cost}
        unit = "s" if model.meter is Meter.SECOND else " characters"
        shape = (
            f"{usage.seconds or usage.characters}{unit} "
            if model.meter
            in {
                Meter.SECOND,
                Meter.CHARACTERS,
            }
            else ""
        )
        if whole:
            lines.append(
                _Line(
                    model_id,
                    whole,
                    seconds=usage.seconds,
                    characters=usage.characters,
                    between=spread,
                    comment=f"{shape}tasks at {cost} credits each; --duration {model_id}=N "
                    "changes the size",
                )
            )
        rest: dict[int, dict[str, int]] = defaultdict(dict)
        for d, a in days.items():
            if a % cost:
                rest[a % cost][d.isoformat()] = 1
        for credits, on in sorted(rest.items()):
            lines.append(
                _Line(
                    model_id,
                    {f"{day}T{spread[1]}:00": n for day, n in on.items()},  # after the run
                    credits=credits,
                    comment="what is left of the day, kept exact",
                )
            )
    return lines


def _fit_daily_limit(
    model_id: str,
    model: ApiModel,
    usage: Usage,
    days: dict[date, int],
    book: PriceBook,
    tier: Tier,
    overrides: list[tuple[str, object]],
    size: int | None,
    notes: list[str],
) -> int | None:
    """A08: tasks over the rolling 24 h limit would be refused on replay. Tasks spread
    over a day meet the next day's in any 24 h window, so two days' tasks must fit;
    a per-second model's tasks grow (when the user did not set their size) until they do."""
    path = f"api.tiers.{tier.value}.limits.{model.limit_group}.daily"
    limit = next((int(str(v)) for p, v in overrides if p == path), None)
    limit = limit or book.api.tiers[tier].limits[model.limit_group].daily

    def busiest(cost: int) -> int:
        ordered = sorted(days)
        counts = {d: -(-days[d] // cost) for d in ordered}
        pairs = [counts[d] + counts.get(d + timedelta(days=1), 0) for d in ordered]
        return max(pairs, default=0)

    cost = model.cost(usage)
    if busiest(cost) <= limit:
        return size
    if model.meter is Meter.SECOND and size is None:
        first = seconds = usage.seconds or default_seconds(model)
        longer = (
            iter(sorted(d for d in model.durations if d > seconds))
            if model.durations
            else (first * 2**n for n in range(1, 12))
        )
        while busiest(model.cost(Usage(seconds=seconds))) > limit:
            nxt = next(longer, None)
            if nxt is None:
                break
            seconds = nxt
        if busiest(model.cost(Usage(seconds=seconds))) <= limit:
            notes.append(
                f"{model_id}: {first} s tasks would pass the tier's {limit:,} a day; "
                f"imported as {seconds} s tasks"
            )
            return seconds
    notes.append(
        f"{model_id}: the history needs more than the tier's {limit:,} tasks a day at this "
        "size; the replay will refuse some (raise --duration)"
    )
    return size


def _forecast(
    daily: dict[str, dict[date, int]],
    book: PriceBook,
    options: ImportOptions,
    start: date,
    end: date,
    until: date,
) -> list[_Line]:
    lines = []
    for index, (model_id, days) in enumerate(daily.items()):
        model = book.api.models.get(model_id)
        if model is None:
            cost = math.gcd(*[a for a in days.values() if a > 0] or [1])
            usage = Usage()
        else:
            usage = task_usage(model, options.durations.get(model_id))
            cost = model.cost(usage)
        for f in forecast_lines(model_id, days, start, end, until, cost):
            lines.append(_forecast_line(f, model_id, model, usage, cost, model_hour(index)))
    return lines


def _forecast_line(
    f: ForecastLine,
    model_id: str,
    model: ApiModel | None,
    usage: Usage,
    cost: int,
    spread: tuple[str, str],
) -> _Line:
    line = _Line(
        model_id,
        {},
        seconds=usage.seconds,
        characters=usage.characters,
        credits=cost if model is None else None,
        between=spread,
        from_=f.start.isoformat(),
        until=f.before.isoformat(),
        count=f.count,
        comment=f.comment,
        unknown=model is None,
    )
    if f.weekend:
        line.rrule = "FREQ=WEEKLY;BYDAY=SA,SU"
    else:
        line.every = "weekday"
    return line


# ---------------------------------------------------------------- web history


@dataclass
class _Workspace:
    id: str
    runway_id: str
    name: str
    charged: int
    users: int
    lines: list[_Line]


def _web(
    reported: Reported, book: PriceBook, start: date, end: date, notes: list[str]
) -> list[_Workspace]:
    rows = [r for r in reported.web_rows if start <= r.at.date() < end]
    by_ws: dict[str, list[WebRow]] = defaultdict(list)
    for row in rows:
        by_ws[row.workspace_id].append(row)
    found = []
    for runway_id, ws_rows in sorted(by_ws.items()):
        charges, refunded = match_refunds(ws_rows, notes)
        groups: dict[tuple[str, int, bool], dict[str, int]] = defaultdict(dict)
        for i, row in enumerate(charges):
            key = (web_model(row.tool), row.credits, i in refunded)
            instant = _instant(row.at)
            groups[key][instant] = groups[key].get(instant, 0) + 1
        lines = []
        for (model_id, credits, failed), on in sorted(groups.items()):
            known = model_id in book.web.models
            comment = "" if known else "not in the price book's web models: kept exact"
            if failed:
                comment = "refunded by Runway" + (f"; {comment}" if comment else "")
            lines.append(
                _Line(
                    model_id,
                    on,
                    credits=credits,
                    failure_rate=1 if failed else None,
                    comment=comment,
                    unknown=not known,
                )
            )
        first = ws_rows[0]
        found.append(
            _Workspace(
                workspace_id(first.workspace_name, runway_id),
                runway_id,
                first.workspace_name,
                sum(r.credits for r in charges),
                len({r.user for r in ws_rows}),
                lines,
            )
        )
    return found


def match_refunds(rows: list[WebRow], notes: list[str]) -> tuple[list[WebRow], set[int]]:
    """Each refund cancels the latest earlier charge of the same tool and amount."""
    charges = [r for r in rows if r.kind == "charge"]
    refunded: set[int] = set()
    for refund in (r for r in rows if r.kind == "refund"):
        match = next(
            (
                i
                for i in range(len(charges) - 1, -1, -1)
                if i not in refunded
                and charges[i].tool == refund.tool
                and charges[i].credits == -refund.credits
                and charges[i].at <= refund.at
            ),
            None,
        )
        if match is None:
            notes.append(
                f"web refund of {-refund.credits:,} credits ({refund.tool}) at "
                f"{refund.at.isoformat()} matches no charge in the window: left out"
            )
        else:
            refunded.add(match)
    return charges, refunded


def _instant(at: datetime) -> str:
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}"
    return text


# ---------------------------------------------------------------- writing


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> int:
        self.lines.append(line)
        return len(self.lines)

    def comment(self, text: str) -> None:
        self.add(f"# {text}")

    def usage(self, line: _Line, indent: int) -> int:
        pad = " " * indent
        first = self.add(
            f"{pad}- model: {_quote(line.model)}" + (f"  # {line.comment}" if line.comment else "")
        )
        body = pad + "  "
        for name, value in (
            ("seconds", line.seconds),
            ("characters", line.characters),
            ("credits", line.credits),
            ("failure_rate", line.failure_rate),
            ("every", line.every),
            ("rrule", _quote(line.rrule) if line.rrule else None),
            ("from", line.from_),
            ("until", line.until),
            ("count", line.count),
        ):
            if value is not None:
                self.add(f"{body}{name}: {value}")
        if line.between:
            self.add(f'{body}between: ["{line.between[0]}", "{line.between[1]}"]')
        if line.on:
            self.add(f"{body}dates:")
            for when, count in line.on.items():
                key = when if len(when) == 10 else f'"{when}"'
                self.add(f"{body}  {key}: {count}")
        return first

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _quote(text: str) -> str:
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]*", text) and text.lower() not in {
        "true",
        "false",
        "null",
        "yes",
        "no",
        "on",
        "off",
    }:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _add_months(day: date, months: int) -> date:
    if not months:
        return day
    from dateutil.relativedelta import relativedelta  # noqa: PLC0415

    result: date = day + relativedelta(months=months)
    return result


__all__ = ["ImportOptions", "ImportResult", "PricingError", "build_scenario"]
