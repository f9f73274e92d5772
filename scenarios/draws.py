"""What a replay draws for uncertain inputs: nothing (typical values), or one sample's values.

``Draws(None)`` is every command but ``forecast``: a distribution stands for
its typical value, a one-off event with a ``probability`` happens when it is at
least 0.5, and a line's ``growth`` compounds month by month. ``Draws(seed)``
is one forecast sample: each schedule hit draws its count and seconds from a
``Stream`` keyed by (seed, account, line, hit instant), each event its chance
from (seed, account, event position), so a draw never depends on the order
things are replayed in, on ``--until``, on the process or on the machine.
"""

from __future__ import annotations

from datetime import datetime

from ledger.domain.time import to_us
from scenarios.schedule import Quantities, months_since
from scenarios.schema import UsageLine
from scenarios.uncertain import Stream, Uncertain, derive_key, grown, is_uncertain


class Draws:
    """Count, seconds and event chances for one replay (``seed`` None: typical values)."""

    __slots__ = ("seed",)

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def quantities(self, account: str, start: datetime) -> Quantities:
        """The per-hit count and seconds of ``account``'s usage lines (growth from ``start``)."""
        seed = self.seed

        def draw(index: int, line: UsageLine, instant: datetime) -> tuple[int, int | None]:
            count, seconds = int(line.count), None
            if seed is not None and line.uncertain:
                stream = Stream(derive_key(seed, "usage", account, index, to_us(instant)))
                if is_uncertain(line.count):
                    assert isinstance(line.count, Uncertain)
                    count = line.count.distribution.draw(stream)
                if is_uncertain(line.seconds):
                    assert isinstance(line.seconds, Uncertain)
                    seconds = line.seconds.distribution.draw(stream)
            return grown(count, line.growth, months_since(line.from_ or start, instant)), seconds

        return draw

    def happens(self, account: str, position: int, probability: float) -> bool:
        """Whether a one-off event at ``position`` in the account's events takes place."""
        if probability >= 1:
            return True
        if probability <= 0:
            return False
        if self.seed is None:
            return probability >= 0.5
        return Stream(derive_key(self.seed, "event", account, position)).uniform() < probability
