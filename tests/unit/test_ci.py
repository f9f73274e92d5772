"""CI runs everything the Makefile calls "everything CI cares about", tests typed too."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def make_calls(script: str) -> list[list[str]]:
    """The ``make`` command lines of a shell script, comments left out."""
    calls = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "make":
            calls.append(words[1:])
    return calls


def prerequisites(makefile: str, target: str) -> list[str]:
    match = re.search(rf"^{target}:([^#\n]*)", makefile, re.M)
    assert match, f"no {target} target"
    return match.group(1).split()


def test_ci_runs_lint_types_contracts_and_tests() -> None:
    calls = make_calls((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert ["check"] in calls, calls
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert set(prerequisites(makefile, "check")) >= {"lint", "typecheck", "contracts", "test"}


def test_the_tests_are_type_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    assert mypy["strict"] is True
    assert {"ledger", "scenarios", "projections", "tests"} <= set(mypy["files"])


def test_a_script_that_only_tests_is_caught() -> None:
    assert make_calls("set -e\n# make check\nmake test\n") == [["test"]]
