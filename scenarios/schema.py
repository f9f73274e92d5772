"""The scenario file format, version 1, as frozen pydantic models.

This is the user contract of ``docs/scenario-format.md``: fields may be added,
never removed or narrowed. The models check shape and types only; rules that
need the price book or the whole file live in ``scenarios.validate``.

All instants are timezone-aware UTC datetimes: a bare date means 00:00 UTC and
a time without a zone is UTC (S03).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)

from ledger.domain.types import (
    AutobillCapPolicy,
    Billing,
    DailyLimitPolicy,
    DowngradePolicy,
    EnterprisePoolPolicy,
    FreeCreditsPolicy,
    GenerationMode,
    MonthEndPolicy,
    Plan,
    PlanRefreshPolicy,
    RefillWindowPolicy,
    RefusalReason,
    Tier,
    TierUpgradePolicy,
)
from ledger.pricing.models import Usage
from scenarios import uncertain

DEFAULT_PRICE_BOOK = "runway-2026-05"

# ---------------------------------------------------------------- value types

_INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_INSTANT_HELP = "must be a date like 2027-02-15 or a date and time like 2027-02-15T10:00"


def _to_utc(value: object) -> datetime:
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{_INSTANT_HELP} (got {value!r})") from None
    else:
        raise ValueError(f"{_INSTANT_HELP} (got {value!r})")
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    try:
        return instant.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
        raise ValueError(f"{value!r} is outside the dates this tool reads") from None


UtcDatetime: TypeAlias = Annotated[
    datetime,
    PlainValidator(_to_utc),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _INSTANT_PATTERN,
            "description": "A date (00:00 UTC) or a date and time; without a zone it is UTC.",
        }
    ),
]

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _to_clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (match := _CLOCK.match(value.strip())):
        return time(int(match[1]), int(match[2]))
    raise ValueError(f'must be a time of day in quotes, like "09:00" (got {value!r})')


ClockTime: TypeAlias = Annotated[
    time,
    PlainValidator(_to_clock),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}),
]

_DISTRIBUTION_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {
            "type": "object",
            "description": "A distribution (docs/forecasting.md): exactly one of "
            + ", ".join(uncertain.KINDS),
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "fixed": {"type": "integer", "minimum": 0},
                "uniform": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "poisson": {"type": "number", "minimum": 0},
                "normal": {
                    "type": "object",
                    "properties": {
                        "mean": {"type": "number"},
                        "sd": {"type": "number", "minimum": 0},
                    },
                    "required": ["mean", "sd"],
                    "additionalProperties": False,
                },
                "choice": {
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": 0},
                },
            },
            "additionalProperties": False,
        },
    ]
}

# A usage line's task count and seconds: a whole number, or a distribution whose
# typical value stands for it outside `forecast` (scenarios.uncertain).
TaskCount: TypeAlias = Annotated[
    int,
    PlainValidator(lambda v: uncertain.parse(v, "count", 0)),
    WithJsonSchema(_DISTRIBUTION_JSON),
]
Seconds: TypeAlias = Annotated[
    int,
    PlainValidator(lambda v: uncertain.parse(v, "seconds", 1)),
    WithJsonSchema(_DISTRIBUTION_JSON),
]

Credits: TypeAlias = Annotated[int, Field(ge=0)]  # S02: whole credits, never float
PositiveCredits: TypeAlias = Annotated[int, Field(ge=1)]
Name: TypeAlias = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    # Numbers become text where text is expected (an id `2027`, a resolution
    # `1080`), so the price book can say what it expected instead of a type error.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


def _optional_in_json(*fields: str) -> Any:
    """A JSON Schema hook: fields the scenario fills in when they are omitted."""

    def hook(schema: dict[str, Any], _cls: Any) -> None:
        schema["required"] = [f for f in schema.get("required", []) if f not in fields]

    return hook


def _one_of(keys: tuple[str, ...], value: Any) -> str | None:
    """The tag of a value that carries exactly one of ``keys``, else None."""
    if isinstance(value, dict):
        present = [k for k in keys if k in value]
    else:
        present = [k for k in keys if hasattr(value, k)]
    return present[0] if len(present) == 1 else None


# ---------------------------------------------------------------- policies


class Policies(_Frozen):
    """Where sources disagree, the scenario picks (see domain-rules.md)."""

    month_end: MonthEndPolicy = MonthEndPolicy.CLAMP  # W05
    tier_upgrade: TierUpgradePolicy = TierUpgradePolicy.SPEND_ONLY  # A06
    autobill_cap: AutobillCapPolicy = AutobillCapPolicy.PARTIAL  # A07
    on_daily_limit: DailyLimitPolicy = DailyLimitPolicy.REJECT  # A08
    downgrade: DowngradePolicy = DowngradePolicy.AT_RENEWAL  # W12
    enterprise_pool: EnterprisePoolPolicy = EnterprisePoolPolicy.ANNUAL  # W16
    free_credits: FreeCreditsPolicy = FreeCreditsPolicy.FORFEIT  # W01: leaving Free
    plan_refresh: PlanRefreshPolicy = PlanRefreshPolicy.AT_ANCHOR  # W05/W06
    refill_window: RefillWindowPolicy = RefillWindowPolicy.CALENDAR_MONTH  # W15


# ---------------------------------------------------------------- usage lines


class Every(StrEnum):
    """The simple recurrences of a usage line."""

    DAY = "day"
    WEEKDAY = "weekday"  # Monday to Friday
    WEEK = "week"  # on the weekday of `from` (or of the scenario start)
    MONTH = "month"  # on the day of month of `from`/start, clamped at month end


SCHEDULE_FIELDS = ("at", "every", "rrule", "dates")
UNIT_FIELDS = ("seconds", "characters", "resolution", "quality", "audio")


class UsageLine(_Frozen):
    """Planned generations: ``count`` tasks per occurrence of one schedule."""

    at: UtcDatetime | None = Field(None, description="One instant.")
    every: Every | None = None
    rrule: str | None = Field(None, description="An RFC 5545 rule, as python-dateutil reads it.")
    dates: dict[UtcDatetime, Annotated[int, Field(ge=1)]] | None = Field(
        None,
        description="Dated occurrences: instant (or date) -> tasks at it; the count of each "
        "date replaces `count` (an imported history, docs/importing.md).",
    )
    time: ClockTime | None = Field(None, description='Time of day of a recurrence, "HH:MM".')
    from_: UtcDatetime | None = Field(None, alias="from", description="Inclusive bound.")
    until: UtcDatetime | None = Field(None, description="Exclusive bound.")
    count: TaskCount = Field(1, description="Tasks per occurrence: a number or a distribution.")
    between: tuple[ClockTime, ClockTime] | None = Field(
        None, description="Spread the tasks evenly over this part of the day."
    )
    model: Name
    seconds: Seconds | None = Field(None, description="A number or a distribution.")
    characters: int | None = Field(None, ge=1)
    resolution: str | None = None
    quality: str | None = None
    outputs: int = Field(1, ge=1, description="Images per task.")
    audio: bool | None = None
    mode: GenerationMode = GenerationMode.CREDITS
    failure_rate: float = Field(0.0, ge=0, le=1, description="Failures refunded (W14, A11).")
    safety_failure_rate: float = Field(
        0.0, ge=0, le=1, description="Safety failures: charged, not refunded (A11)."
    )
    label: str | None = None
    key: str | None = Field(None, description="The API key that submits the tasks (API only).")
    growth: Decimal | None = Field(
        None,
        gt=-1,
        le=10,
        description="Monthly growth of count, compounded: 0.05 is +5 % a month from the "
        "line's first month (from, or the start).",
    )
    credits: int | None = Field(
        None,
        ge=1,
        description="Each task costs exactly this many credits, whatever the price book says "
        "(kept from an imported history; the model may be one the price book does not know).",
    )

    @model_validator(mode="after")
    def _exactly_one_schedule(self) -> UsageLine:
        given = [name for name in SCHEDULE_FIELDS if getattr(self, name) is not None]
        if len(given) != 1:
            found = f"it has {' and '.join(given)}" if given else "it has none"
            raise ValueError(
                f"a usage line needs exactly one schedule: at, every or rrule ({found})"
            )
        return self

    @property
    def uncertain(self) -> bool:
        """Whether count or seconds is a distribution (a fixed one is certain)."""
        return uncertain.is_uncertain(self.count) or uncertain.is_uncertain(self.seconds)

    def task_usage(self, seconds: int | None = None) -> Usage:
        """What one task asks the price book for (W09, A02); ``seconds``: a drawn value."""
        return Usage(
            seconds=int(self.seconds) if seconds is None and self.seconds is not None else seconds,
            characters=self.characters,
            resolution=self.resolution,
            quality=self.quality,
            audio=self.audio,
            outputs=self.outputs,
        )


# ---------------------------------------------------------------- account events


class _Action(_Frozen):
    at: UtcDatetime
    probability: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Chance the event happens in a forecast sample; plain runs keep it at 0.5 "
        "or more.",
    )


class Buy(_Action):
    """Buy credits (W07 on web, A01 on API)."""

    buy: PositiveCredits


class ChangePlan(_Action):
    change_plan: Plan


class AddEditor(_Action):
    add_editor: Name


class RemoveEditor(_Action):
    remove_editor: Name


class Cancel(_Action):
    cancel: Literal[True]


class AddMember(_Action):
    add_member: Name


class RemoveMember(_Action):
    remove_member: Name


class CreateKey(_Action):
    create_key: Name
    by: Name = Field("owner", description="The member who creates the key (A10).")


class DisableKey(_Action):
    disable_key: Name


class CardFails(_Action):
    """The next N autobill charges are declined (A05)."""

    card_fails: int = Field(ge=1)


class Autobill(_Frozen):
    """A04: below ``threshold`` credits, buy ``amount`` credits at the next hourly check."""

    threshold: Credits
    amount: PositiveCredits


AutobillSwitch: TypeAlias = Annotated[
    Annotated[Autobill, Tag("settings")] | Annotated[Literal[True], Tag("on")],
    Discriminator(lambda v: "settings" if isinstance(v, dict | Autobill) else "on"),
]


class EnableAutobill(_Action):
    """Turn autobilling back on by hand (A05), with new settings or the last ones."""

    enable_autobill: AutobillSwitch


class DisableAutobill(_Action):
    disable_autobill: Literal[True]


WORKSPACE_ACTIONS = ("buy", "change_plan", "add_editor", "remove_editor", "cancel")
ORGANIZATION_ACTIONS = (
    "buy",
    "add_member",
    "remove_member",
    "create_key",
    "disable_key",
    "card_fails",
    "enable_autobill",
    "disable_autobill",
)
EVENT_ACTION_ERROR = "event_action"  # the error type when an event has not exactly one action

WorkspaceAction: TypeAlias = Annotated[
    Annotated[Buy, Tag("buy")]
    | Annotated[ChangePlan, Tag("change_plan")]
    | Annotated[AddEditor, Tag("add_editor")]
    | Annotated[RemoveEditor, Tag("remove_editor")]
    | Annotated[Cancel, Tag("cancel")],
    Discriminator(
        lambda v: _one_of(WORKSPACE_ACTIONS, v),
        custom_error_type=EVENT_ACTION_ERROR,
        custom_error_message="an event needs exactly one action",
        custom_error_context={"actions": ", ".join(WORKSPACE_ACTIONS)},
    ),
]

OrganizationAction: TypeAlias = Annotated[
    Annotated[Buy, Tag("buy")]
    | Annotated[AddMember, Tag("add_member")]
    | Annotated[RemoveMember, Tag("remove_member")]
    | Annotated[CreateKey, Tag("create_key")]
    | Annotated[DisableKey, Tag("disable_key")]
    | Annotated[CardFails, Tag("card_fails")]
    | Annotated[EnableAutobill, Tag("enable_autobill")]
    | Annotated[DisableAutobill, Tag("disable_autobill")],
    Discriminator(
        lambda v: _one_of(ORGANIZATION_ACTIONS, v),
        custom_error_type=EVENT_ACTION_ERROR,
        custom_error_message="an event needs exactly one action",
        custom_error_context={"actions": ", ".join(ORGANIZATION_ACTIONS)},
    ),
]

# One word per idea: the YAML's `events:` entries are *actions* in the code;
# *event* means a stored domain event only.
Action: TypeAlias = (
    Buy
    | ChangePlan
    | AddEditor
    | RemoveEditor
    | Cancel
    | AddMember
    | RemoveMember
    | CreateKey
    | DisableKey
    | CardFails
    | EnableAutobill
    | DisableAutobill
)


# ---------------------------------------------------------------- accounts


class AutoRefill(_Frozen):
    """W15: when a generation would leave the balance at or below ``trigger``, buy first."""

    trigger: Credits
    amount_usd: int = Field(ge=10, description="Whole dollars per refill, at least $10.")
    monthly_max_usd: int = Field(ge=1, description="Whole dollars per calendar month.")


class Workspace(_Frozen):
    """A web-app workspace (surface "web")."""

    model_config = ConfigDict(json_schema_extra=_optional_in_json("subscribed"))

    id: Name
    plan: Plan
    billing: Billing = Billing.MONTHLY
    subscribed: UtcDatetime = Field(description="Billing anchor (W05); default the start.")
    editors: list[Name] = Field(default_factory=lambda: ["owner"])
    contract_credits: PositiveCredits | None = Field(None, description="Enterprise only (W16).")
    auto_refill: AutoRefill | None = None
    events: list[WorkspaceAction] = Field(default_factory=list)
    usage: list[UsageLine] = Field(default_factory=list)


class Organization(_Frozen):
    """An API organization (surface "api")."""

    model_config = ConfigDict(json_schema_extra=_optional_in_json("opened"))

    id: Name
    tier: Tier = Tier.T1
    opened: UtcDatetime = Field(description="Default: the scenario start.")
    autobill: Autobill | None = None
    balance: Credits = Field(
        0,
        description="Credits held at opening, carried in from before the window (an imported "
        "history): not a purchase, so no dollars, no tier spend, no 30-day cap.",
    )
    members: list[Name] = Field(default_factory=lambda: ["owner"])
    events: list[OrganizationAction] = Field(default_factory=list)
    usage: list[UsageLine] = Field(default_factory=list)


Account: TypeAlias = Workspace | Organization


# ---------------------------------------------------------------- expectations

ASSERTION_FIELDS = (
    "plan",
    "purchased",
    "balance",
    "tier",
    "forfeited_total",
    "refused",
    "usd_spent",
    "balance_between",
)
SUM_FIELDS = ("forfeited_total", "refused", "usd_spent")  # counted from `from` to `at`


class Expectation(_Frozen):
    """A balance assertion checked by `check`; ``at`` sees every event at or before it."""

    model_config = ConfigDict(json_schema_extra=_optional_in_json("from"))

    at: UtcDatetime
    account: Name
    plan: Credits | None = None
    purchased: Credits | None = None
    balance: Credits | None = None
    tier: Tier | None = None
    forfeited_total: Credits | None = None
    refused: int | None = Field(None, ge=0, description="Refused tasks and commands.")
    reason: RefusalReason | None = Field(None, description="Count only refusals of this reason.")
    usd_spent: Decimal | None = Field(None, ge=0)
    from_: UtcDatetime = Field(alias="from", description="Start of the sums; default the start.")
    balance_between: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _asserts_something(self) -> Expectation:
        if all(getattr(self, name) is None for name in ASSERTION_FIELDS):
            raise ValueError("an expectation needs at least one of " + ", ".join(ASSERTION_FIELDS))
        return self


# ---------------------------------------------------------------- files

_PLACEHOLDER = datetime(1970, 1, 1, tzinfo=UTC)


def with_default_instants(data: dict[str, Any]) -> dict[str, Any]:
    """The raw file with `subscribed`, `opened` and expectations' `from` set to `start`.

    When `start` itself is wrong the scenario fails on it anyway, so a
    placeholder stands in rather than repeating that mistake on every account.
    """
    try:
        start: datetime = _to_utc(data.get("start"))
    except ValueError:
        start = _PLACEHOLDER
    filled = dict(data)
    for section, name in (("workspaces", "subscribed"), ("organizations", "opened")):
        filled[section] = _fill(data.get(section), name, start)
    filled["expect"] = _fill(data.get("expect"), "from", start)
    return {k: v for k, v in filled.items() if v is not None or k in data}


def _fill(items: Any, name: str, value: datetime) -> Any:
    if not isinstance(items, list):
        return items
    return [{name: value, **item} if isinstance(item, dict) else item for item in items]


class Scenario(_Frozen):
    """A scenario file: accounts, their planned activity, and expectations."""

    version: Literal[1]
    kind: Literal["scenario"] = "scenario"
    name: str
    start: UtcDatetime = Field(description="The first simulated instant.")
    end: UtcDatetime = Field(description="Exclusive.")
    seed: int = Field(0, description="Drives every random draw (failure rates).")
    price_book: Name = Field(DEFAULT_PRICE_BOOK, description="A bundled id or a relative path.")
    policies: Policies = Field(default_factory=Policies)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Price-book figures by dotted path."
    )
    workspaces: list[Workspace] = Field(default_factory=list)
    organizations: list[Organization] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_instants(cls, data: Any) -> Any:
        return with_default_instants(data) if isinstance(data, dict) else data

    def accounts(self) -> dict[str, Account]:
        """Every account by id (ids are unique across the scenario once validated)."""
        found: dict[str, Account] = {w.id: w for w in self.workspaces}
        found.update({o.id: o for o in self.organizations})
        return found


class Workload(_Frozen):
    """What a team wants to make, without saying how it pays (`compare`)."""

    version: Literal[1]
    kind: Literal["workload"]
    name: str
    start: UtcDatetime
    end: UtcDatetime
    seed: int = 0
    price_book: Name = DEFAULT_PRICE_BOOK
    overrides: dict[str, Any] = Field(default_factory=dict)
    editors: int = Field(1, ge=1, description="People who generate (seats on web routes).")
    usage: list[UsageLine] = Field(default_factory=list)
