"""Done when: a throwaway project that only installs the package (in a temporary
venv) can run a pytest file using the plugin fixtures.

The package is built as a wheel from a copy of the sources (the normal PEP 517
build, so the pyproject's entry point and package data are what is tested)
and installed into a fresh venv with `--no-index --no-deps`: nothing of the
project comes from this checkout. Its dependencies (pytest, duckdb, ...) are
not downloaded again: the venv sees this environment's site-packages through
a `.pth` file, by way of a folder of links that leaves out the project's own
editable install, so `ledger` can only be imported from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "ledger", "scenarios", "projections")
OWN = (
    "runway_credit_ledger",
    "credit_ledger",
    "__editable__",
    "ledger",
    "scenarios",
    "projections",
    "__pycache__",
)


def run(*args: str | Path, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_wheel_runs_a_test_file_with_the_plugin(tmp_path: Path) -> None:
    # 1. A wheel built from a copy of the sources (a build writes into its source tree).
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin, src / name)
    wheels = tmp_path / "wheels"
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, "./src", cwd=tmp_path
    )
    (wheel,) = wheels.glob("runway_credit_ledger-*.whl")

    # 2. A fresh venv, and the wheel installed into it, offline, without dependencies.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-index",
        "--no-deps",
        "-q",
        wheel,
        cwd=tmp_path,
    )
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
        ).stdout.strip()
    )

    # 3. The dependencies, from this environment, without the project itself.
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.startswith(OWN) or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    (site / "_dependencies.pth").write_text(f"{deps}\n", encoding="utf-8")

    # 4. A throwaway project: the documented example and a test of where things come from.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "docs" / "examples" / "test_plugin_example.py", project)
    (project / "test_installed.py").write_text(
        textwrap.dedent(
            f"""
            import importlib.metadata
            import importlib.resources
            import json

            import ledger

            SITE = {str(site)!r}

            def test_the_package_and_its_plugin_come_from_the_wheel(pytestconfig):
                assert ledger.__file__.startswith(SITE)
                plugin = pytestconfig.pluginmanager.get_plugin("credit_ledger")
                assert plugin.__file__.startswith(SITE)
                dist = importlib.metadata.distribution("runway-credit-ledger")
                assert str(dist.locate_file("")).startswith(SITE)
                direct = json.loads(dist.read_text("direct_url.json") or "{{}}")
                assert not direct.get("dir_info", {{}}).get("editable", False)

            def test_a_packaged_example_checks(credit_ledger):
                path = importlib.resources.files("scenarios") / "examples" / "both-surfaces.yaml"
                assert credit_ledger(path).check().passed
            """
        ),
        encoding="utf-8",
    )
    result = run(
        python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", cwd=project
    )
    assert "9 passed" in result.stdout, result.stdout

    # 5. The console script of the wheel works too.
    checked = run(
        venv / "bin" / "credit-ledger",
        "check",
        site / "scenarios" / "examples" / "solo-creator.yaml",
        "--dir",
        tmp_path / "run",
        cwd=project,
    )
    assert checked.stdout.strip().endswith("15 expectation field(s), all hold")
