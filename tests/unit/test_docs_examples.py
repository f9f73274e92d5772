"""The examples in the docs are true: YAML blocks load, commands are documented."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.main import get_command

from ledger.application import Ledger
from ledger.tools.cli.app import app
from scenarios.engine import replay
from scenarios.loader import load_scenario_text

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def yaml_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "version: 1" in b]


SCENARIO_BLOCKS = [
    pytest.param(block, id=f"{path.name}#{i}")
    for path in DOCS
    for i, block in enumerate(yaml_blocks(path))
    if "kind: workload" not in block
]


@pytest.mark.parametrize("block", SCENARIO_BLOCKS)
def test_every_scenario_in_the_docs_is_valid(block: str) -> None:
    loaded = load_scenario_text(block, "doc.yaml")
    assert loaded.scenario.version == 1


def test_the_docs_hold_scenario_examples() -> None:
    assert len(SCENARIO_BLOCKS) >= 5


def undocumented_commands(commands_md: str) -> list[str]:
    """The commands of the CLI without a ``## <name>`` section in ``commands_md``."""
    group = get_command(app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    headings = {h.split()[0] for h in re.findall(r"^## (\S.*)$", commands_md, re.M)}
    return [n for n in names if n not in headings]


def test_every_command_is_documented_in_commands_md() -> None:
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert not undocumented_commands(text)
    group = get_command(app)
    assert {"run", "validate", "balance", "events", "sql", "export"} <= set(group.commands)  # type: ignore[attr-defined]


def test_a_command_mentioned_only_in_prose_counts_as_undocumented() -> None:
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    for name in ("run", "balance", "sql"):
        text = re.sub(rf"^## {name}$", f"### the {name} command", text, flags=re.M)
    assert undocumented_commands(text) == ["balance", "run", "sql"]


def test_the_readme_example_prints_what_it_says(tmp_path: Path) -> None:
    """The README's balance line is what the bundled both-surfaces example gives,
    and the README's short scenario gives the same API balance."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = re.search(r'(\{"account": "app".*?\})', readme)
    assert expected is not None
    (block,) = yaml_blocks(ROOT / "README.md")
    for text in (block, (ROOT / "scenarios/examples/both-surfaces.yaml").read_text()):
        loaded = load_scenario_text(text, "readme.yaml")
        ledger = Ledger("memory", run="readme")
        replay(loaded.scenario, loaded.price_book, ledger)
        got = ledger.balances_at("app", datetime(2027, 6, 30, 23, tzinfo=UTC)).as_dict()
        assert got == json.loads(expected.group(1))
