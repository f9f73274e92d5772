"""`check` on folders and glob patterns, scenarios without expectations, the CI recipe.

Workload files found in a folder or by a pattern are skipped with a note; a
scenario with no `expect` block is reported as such, and fails under
`--strict`. The CI recipe of docs/testing.md is run as written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "credit-ledger")

WITH_EXPECT = """\
version: 1
name: checked
start: 2027-01-01
end: 2027-02-01
workspaces:
  - {id: creator, plan: standard}
expect:
  - {at: 2027-01-02, account: creator, plan: 625}
"""
WITHOUT_EXPECT = WITH_EXPECT.split("expect:", maxsplit=1)[0].replace(
    "name: checked", "name: unchecked"
)


@pytest.fixture
def folder(workdir: Path) -> Path:
    plans = workdir / "plans"
    plans.mkdir()
    (plans / "checked.yaml").write_text(WITH_EXPECT, encoding="utf-8")
    (plans / "unchecked.yml").write_text(WITHOUT_EXPECT, encoding="utf-8")
    shutil.copy(EXAMPLES / "workload-images-2000.yaml", plans / "workload.yaml")
    (plans / "notes.txt").write_text("not a scenario\n", encoding="utf-8")
    return plans


@pytest.mark.parametrize("argument", ["plans", "plans/*.y*ml"])
def test_a_folder_or_a_pattern_skips_workloads_with_a_note(
    folder: Path, cli: CliRunner, argument: str
) -> None:
    code, out, err = invoke(cli, "check", argument)
    assert code == 0, out + err
    assert "note: skipped plans/workload.yaml: a workload (kind: workload)" in err
    assert "plans/checked.yaml: 1 expectation field(s), all hold" in out
    assert "plans/unchecked.yml: no expectations (no `expect` block): nothing was checked" in out
    assert "notes.txt" not in out + err


def test_strict_fails_on_a_scenario_without_expectations(folder: Path, cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "check", "plans", "--strict")
    assert code == 1
    assert "plans/unchecked.yml: no expectations (no `expect` block): fails under --strict" in out
    code, out, _ = invoke(cli, "check", "plans", "--strict", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["passed"] is False and data["failures"] == 0
    assert data["without_expectations"] == ["plans/unchecked.yml"]
    code, _, _ = invoke(cli, "check", "plans/checked.yaml", "--strict")
    assert code == 0


def test_a_pattern_that_matches_nothing_is_bad_input(folder: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "check", "nowhere/*.yaml")
    assert code == 2
    assert "note: nowhere/*.yaml holds no scenario file" in err
    assert "error: no scenario to check" in err


def test_a_workload_named_on_its_own_is_still_an_error(folder: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "check", "plans/workload.yaml")
    assert code == 2
    assert "this file is a workload" in err


@pytest.mark.slow
def test_the_ci_recipe_of_docs_testing_md_runs_as_written(workdir: Path) -> None:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    block = text.split("In a CI job:", 1)[1].split("```console", 1)[1].split("```")[0]
    (line,) = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    (workdir / "scenarios").symlink_to(ROOT / "scenarios")
    (workdir / "reports").mkdir()
    command = line.replace("credit-ledger", CLI, 1).replace("/tmp/runs", str(workdir / "ci-runs"))
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workloads = [p for p in EXAMPLES.glob("*.yaml") if "kind: workload" in p.read_text("utf-8")]
    scenarios = [p for p in EXAMPLES.glob("*.yaml") if p not in workloads]
    assert len(workloads) == 2 and len(scenarios) >= 5
    for path in workloads:
        assert f"skipped scenarios/examples/{path.name}" in result.stderr
    suites = ET.parse(workdir / "reports" / "credit-ledger.xml").getroot().iter("testsuite")
    assert len(list(suites)) == len(scenarios)
    assert len(re.findall(r"all hold", result.stdout)) == len(scenarios)
