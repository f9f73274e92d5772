"""Simulated time (S03-S05) and billing-date arithmetic (W05).

Instants inside the domain's hot paths are integer microseconds since the
Unix epoch, so run timings stay exact; events carry timezone-aware UTC
datetimes. Nothing here reads the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND_US = 1_000_000
HOUR_US = 3600 * SECOND_US
DAY_US = 24 * HOUR_US
DAYS_30_US = 30 * DAY_US


def to_us(at: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware instant."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: simulated instants are UTC")
    span = at - EPOCH
    return (span.days * 86_400 + span.seconds) * SECOND_US + span.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(0, 0, us)  # positional: twice as fast as microseconds=us


def utc(at: datetime) -> datetime:
    """The same instant as a plain ``datetime`` in UTC (also unwraps freezegun's)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: simulated instants are UTC")
    return from_us(to_us(at))


@lru_cache(maxsize=4096)
def billing_date(anchor: datetime, n: int) -> datetime:
    """W05: the n-th billing date, always anchor + n months, never chained.

    relativedelta clamps the day to the month's last day (Jan 31 + 1 month is
    Feb 28/29) and keeps the anchor's time of day, which is Stripe's
    convention; the next month returns to the anchor day because every date
    is computed from the anchor, not from the previous billing date.
    """
    return anchor + relativedelta(months=n)


def next_hour_us(us: int) -> int:
    """The first hh:00 strictly after ``us``."""
    return (us // HOUR_US + 1) * HOUR_US


def month_key(at: datetime) -> str:
    """A calendar month as 'YYYY-MM' (W15 counts refills by calendar month)."""
    number = at.year * 12 + at.month
    key = _MONTH_KEYS.get(number)
    if key is None:  # formatted once per month a process meets, then looked up
        key = _MONTH_KEYS[number] = f"{at.year:04d}-{at.month:02d}"
    return key


_MONTH_KEYS: dict[int, str] = {}


def next_month_start(at: datetime) -> datetime:
    """00:00 UTC on the first day of the calendar month after ``at``."""
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first + relativedelta(months=1)
