"""Testing helpers for billing rules: replayed scenarios, assertions, golden runs.

Installed with the package, and loaded by pytest through the ``pytest11``
entry point (``ledger.tools.testing.plugin``), which provides the
``credit_ledger`` fixture factory and the ``frozen_clock`` marker. See
docs/testing.md.
"""

from ledger.tools.testing.assertions import assert_balance, assert_expectations, assert_invariants
from ledger.tools.testing.harness import LedgerRun, frozen_wall_clock, instant, load, replay

__all__ = [
    "LedgerRun",
    "assert_balance",
    "assert_expectations",
    "assert_invariants",
    "frozen_wall_clock",
    "instant",
    "load",
    "replay",
]
