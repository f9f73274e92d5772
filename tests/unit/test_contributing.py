"""CONTRIBUTING.md stays true: its five checklists exist, every test it names
exists, and the tables it asks to document are documented."""

from __future__ import annotations

import re
from pathlib import Path

from projections import schema

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "CONTRIBUTING.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
DEFINED = re.compile(r"^\s*def (test_\w+)\s*\(", re.MULTILINE)
KINDS = ("A new rule", "A new event type", "A new table", "A new command", "A new price figure")


def missing_tests(text: str) -> list[str]:
    """The ``path::test`` citations of ``text`` that name no test function."""
    missing = []
    for path, name in CITED.findall(text):
        target = ROOT / path
        if not target.is_file() or name not in DEFINED.findall(target.read_text("utf-8")):
            missing.append(f"{path}::{name}")
    return missing


def test_the_guide_has_a_checklist_per_kind_of_change() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert set(KINDS) <= set(headings)
    for kind in KINDS:
        section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
        assert re.search(r"^1\. ", section, re.MULTILINE), kind
        assert CITED.search(section), f"{kind}: no step names the test that enforces it"


def test_every_test_the_guide_names_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert len(CITED.findall(text)) >= 12
    assert missing_tests(text) == []


def test_a_renamed_test_is_caught() -> None:
    text = "`tests/unit/test_contributing.py::test_that_was_renamed_long_ago`"
    assert missing_tests(text) == [
        "tests/unit/test_contributing.py::test_that_was_renamed_long_ago"
    ]


def test_every_table_is_listed_in_projections_docs() -> None:
    docs = (ROOT / "projections" / "docs.md").read_text(encoding="utf-8")
    rows = "\n".join(line for line in docs.splitlines() if line.startswith("| `"))
    listed = set(re.findall(r"`(\w+)`", rows))
    assert [t.name for t in schema.TABLES if t.name not in listed] == []
