"""What Runway reported, read out of the raw bodies into plain figures.

``import`` turns these into a scenario and ``reconcile`` compares a replay with
them, so both read Runway's bodies here, the same way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.tools.importer.runway import RunwayExport, RunwayImportError


@dataclass(frozen=True)
class ModelLimit:
    concurrency: int | None  # None: Runway says no limit
    daily: int | None


@dataclass(frozen=True)
class WebRow:
    """One web-app usage row: a charge (credits > 0) or a refund (credits < 0)."""

    at: datetime
    credits: int
    kind: str  # "charge" | "refund"
    tool: str
    workspace_id: str
    workspace_name: str
    user: str  # kept in memory only: never written to a scenario


@dataclass
class Reported:
    balance_now: int
    monthly_credit_spend: int
    tier_limits: dict[str, ModelLimit]
    api_daily: dict[date, dict[str, int]]  # net credits per model per day, as reported
    fetched_from: date
    fetched_before: date
    web_rows: list[WebRow] = field(default_factory=list)
    webapp_linked: bool = True
    notes: list[str] = field(default_factory=list)  # what was read leniently

    def api_used_between(self, start: date, before: date) -> int:
        return sum(
            amount
            for day, models in self.api_daily.items()
            if start <= day < before
            for amount in models.values()
        )

    def api_models(self) -> list[str]:
        return sorted({m for models in self.api_daily.values() for m in models})


def read_export(export: RunwayExport) -> Reported:
    org = export.organization
    try:
        balance = _int(org["creditBalance"], "creditBalance")
        tier = org["tier"]
        spend = _int(tier["maxMonthlyCreditSpend"], "tier.maxMonthlyCreditSpend")
        limits = {
            str(model): ModelLimit(
                _opt_int(values.get("maxConcurrentGenerations")),
                _opt_int(values.get("maxDailyGenerations")),
            )
            for model, values in (tier.get("models") or {}).items()
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise RunwayImportError(
            f"organization.json is not a GET /v1/organization body (missing {exc})"
        ) from None
    daily: dict[date, dict[str, int]] = defaultdict(dict)
    for start, before, body in export.usage:
        for result in _list(body, "results"):
            try:
                day = date.fromisoformat(str(result["date"]))
                credits = result["usedCredits"]
            except (KeyError, TypeError, ValueError) as exc:
                raise RunwayImportError(f"a usage body has a malformed result ({exc})") from None
            if not start <= day < before:
                raise RunwayImportError(
                    f"the usage call for {start} to {before} reports {day}, outside its range"
                )
            for used in credits:
                model = str(used["model"])
                daily[day][model] = daily[day].get(model, 0) + _int(used["amount"], "amount")
    fetched_from, fetched_before = export.fetched_from, export.fetched_before
    assert fetched_from is not None and fetched_before is not None
    reported = Reported(
        balance,
        spend,
        limits,
        dict(sorted(daily.items())),
        fetched_from,
        fetched_before,
        webapp_linked=export.webapp_linked,
    )
    for page in export.webapp_pages:
        for row in _list(page, "data"):
            reported.web_rows.append(_web_row(row, reported))
    reported.web_rows.sort(key=lambda r: (r.at, r.workspace_id, r.kind != "charge"))
    return reported


def _web_row(row: Any, reported: Reported) -> WebRow:
    try:
        at = datetime.fromisoformat(str(row["timestamp"]).replace("Z", "+00:00"))
        raw_credits = Decimal(str(row["credits"]))
        kind = str(row["type"])
        tool = str(row["tool"])
        workspace_id = str(row["workspaceId"])
        workspace_name = str(row["workspaceName"])
        user = str(row.get("email", ""))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise RunwayImportError(f"a web-app usage row is malformed ({exc})") from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if kind not in {"charge", "refund"}:
        raise RunwayImportError(f"a web-app usage row has type {kind!r}, not charge or refund")
    credits = int(raw_credits.to_integral_value())
    if credits != raw_credits:
        reported.notes.append(
            f"web-app row at {at.isoformat()} charged {raw_credits} credits; kept as {credits}"
        )
    # Refunds are negative; a refund sent as a positive figure is still a refund.
    credits = -abs(credits) if kind == "refund" else abs(credits)
    return WebRow(at, credits, kind, tool, workspace_id, workspace_name, user)


def net_daily(reported: Reported) -> tuple[dict[str, dict[date, int]], list[str]]:
    """Credits per model per day with no negative day: a day's net refund is taken
    off the model's earlier days (latest first), so every day is a whole charge and
    the window's total stays exact. Returns the figures and what was moved."""
    per_model: dict[str, dict[date, int]] = defaultdict(dict)
    for day, models in reported.api_daily.items():
        for model, amount in models.items():
            per_model[model][day] = amount
    moved: list[str] = []
    for model, days in per_model.items():
        for day in sorted(days):
            if days[day] >= 0:
                continue
            refund = owed = -days[day]
            days[day] = 0
            for earlier in sorted((d for d in days if d < day), reverse=True):
                take = min(owed, days[earlier])
                days[earlier] -= take
                owed -= take
                if owed == 0:
                    break
            moved.append(
                f"{model} on {day}: a net refund of {refund:,} credits is taken off its earlier "
                "days"
                + (f" ({owed:,} of it refunds charges before the window: left out)" if owed else "")
            )
    return {m: dict(sorted(d.items())) for m, d in sorted(per_model.items())}, moved


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise RunwayImportError(f"a response body has no {key!r} list")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise RunwayImportError(f"{name} is {value!r}, not a whole number of credits")
    return int(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value, "a tier limit")
