"""docs/rules.md and the test suite stay honest with each other: every rule id has
a row, every required id has a test named after it, and every cited test exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"
TESTS = ROOT / "tests"

ALL_IDS = (
    [f"S{n:02d}" for n in range(1, 6)]
    + [f"W{n:02d}" for n in range(1, 17)]
    + [f"A{n:02d}" for n in range(1, 12)]
)
# Every id the simulator's own aggregates enforce (S ids and A09 are covered too,
# but S04 belongs to the replay engine).
REQUIRED = [f"W{n:02d}" for n in range(1, 17)] + [
    f"A{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11)
]

CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
DEFINED = re.compile(r"^\s*(?:async\s+)?def (test_\w+)\s*\(", re.MULTILINE)


def rows() -> dict[str, str]:
    table_row = re.compile(r"^\| ([SWA]\d{2}) \|(.*)$", re.MULTILINE)
    return {m.group(1): m.group(2) for m in table_row.finditer(DOC.read_text(encoding="utf-8"))}


def defined_tests() -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): set(DEFINED.findall(path.read_text(encoding="utf-8")))
        for path in TESTS.rglob("test_*.py")
    }


@pytest.mark.parametrize("rule", ALL_IDS)
def test_every_rule_id_has_a_row_in_the_doc(rule: str) -> None:
    assert rule in rows(), f"docs/rules.md has no row for {rule}"


@pytest.mark.parametrize("rule", REQUIRED)
def test_every_required_rule_has_a_test_named_after_it(rule: str) -> None:
    prefix = f"test_{rule.lower()}_"
    named = [n for names in defined_tests().values() for n in names if n.startswith(prefix)]
    assert named, f"no test function under tests/ is named {prefix}..."


@pytest.mark.parametrize("rule", REQUIRED)
def test_every_required_row_cites_a_test_of_its_own_id(rule: str) -> None:
    cited = [name for _, name in CITED.findall(rows()[rule])]
    assert any(name.startswith(f"test_{rule.lower()}_") for name in cited), rule


def test_every_cited_test_exists() -> None:
    defined = defined_tests()
    cited = CITED.findall(DOC.read_text(encoding="utf-8"))
    assert cited
    missing = [f"{path}::{name}" for path, name in cited if name not in defined.get(path, set())]
    assert not missing, f"docs/rules.md cites tests that do not exist: {missing}"
