"""The fuzz suite in `make test`: a few hundred seeded cases through `validate` and `run`.

Every case must exit 0, 1 or 2 with no traceback, within its time and memory
limits (tests/fuzz/runner.py). `make fuzz` runs the long mode (10,000 cases,
every valid one replayed); its figures are in docs/reliability.md.
"""

from __future__ import annotations

from tests.fuzz.runner import fuzz

CASES = 250
SEED = 14


def test_no_mutation_of_an_example_nor_hostile_file_crashes_or_hangs() -> None:
    report = fuzz(SEED, CASES, run_every=5, seconds=60, memory_mb=3_000)
    print(report.summary())
    assert len(report.outcomes) == CASES
    assert not report.failures, report.summary()
    # the cases reach every outcome: refused, valid, replayed
    assert {o.validate for o in report.outcomes} >= {0, 2}
    assert any(o.run == 0 for o in report.outcomes)
