"""Nothing of the user's is destroyed, and a run survives a kill at any instant.

- ``--dir`` pointing at anything that is not one of our run folders is
  refused before any work, and left byte-identical;
- a replacement killed (SIGKILL) between any two steps of the swap leaves
  either the old run or the new one in place, never neither, and the next
  run clears what the killed one left behind (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import stores
from ledger.tools import runfolder
from ledger.tools.runs import open_run, run_scenario
from tests.e2e.conftest import invoke

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "scenarios" / "examples"
OLD = EXAMPLES / "solo-creator.yaml"
TINY = """version: 1
name: {name}
start: 2027-01-01
end: 2027-02-01
workspaces:
  - id: studio
    plan: standard
    usage:
      - {{every: day, time: "10:00", model: gen4_turbo, seconds: 5}}
"""


@pytest.fixture
def scenarios(tmp_path: Path) -> tuple[Path, Path]:
    """Two small scenarios told apart by their names (the kill tests replay many times)."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(TINY.format(name="old run"))
    new.write_text(TINY.format(name="new run"))
    return old, new


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------ refusals


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "S.yaml").write_text(OLD.read_text())
    return tmp_path


@pytest.mark.parametrize("target", [".", "..", "/", "HERE", "S.yaml", "mine", "afile", "link"])
def test_a_folder_that_is_not_ours_is_refused_before_any_work(here: Path, target: str) -> None:
    (here / "mine").mkdir()
    (here / "mine" / "keep.txt").write_text("x\n")
    (here / "afile").write_text("mine\n")
    (here / "link").symlink_to(here / "mine", target_is_directory=True)
    before = tree(here)
    arg = str(here) if target == "HERE" else target
    code, out, err = invoke(CliRunner(), "run", "S.yaml", "--dir", arg, "-q")
    assert code == 2, (out, err)
    assert err.startswith("error: --dir") and len(err.strip().splitlines()) == 1, err
    assert tree(here) == before
    assert not [p for p in here.iterdir() if p.name.startswith(".")]


def test_the_scenario_s_own_folder_is_refused(here: Path) -> None:
    (here / "sub").mkdir()
    (here / "sub" / "S.yaml").write_text(OLD.read_text())
    code, _, err = invoke(CliRunner(), "run", "sub/S.yaml", "--dir", "sub", "-q")
    assert code == 2 and "scenario file" in err
    assert (here / "sub" / "S.yaml").read_text() == OLD.read_text()


def test_an_empty_folder_and_our_own_run_are_replaced(here: Path) -> None:
    (here / "empty").mkdir()
    code, _, err = invoke(CliRunner(), "run", "S.yaml", "--dir", "empty", "-q")
    assert code == 0, err
    assert (here / "empty" / runfolder.MARKER).is_file()
    code, _, err = invoke(CliRunner(), "run", "S.yaml", "--dir", "empty", "-q")
    assert code == 0, err
    assert sorted(p.name for p in here.iterdir()) == ["S.yaml", "empty"]


def test_a_run_folder_from_before_the_marker_is_still_ours(here: Path) -> None:
    info = run_scenario(here / "S.yaml", here / "old")
    (info.folder / runfolder.MARKER).unlink()
    assert runfolder.is_ours(info.folder)
    (info.folder / "notes.txt").write_text("mine\n")
    assert not runfolder.is_ours(info.folder)


# ------------------------------------------------------------------ kills

# One fresh interpreter imports everything once, then forks a child per case: the
# child writes the old run (if any), a second child is killed at the case's step.
KILLER = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from ledger.tools import runfolder, runs

    cases = json.loads(sys.argv[1])
    codes = {}

    def child(work):
        pid = os.fork()
        if pid == 0:
            try:
                work()
            finally:
                os._exit(0)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    for case in cases:
        run_dir = Path(case["run_dir"])
        if case["old"]:
            child(lambda: runs.run_scenario(Path(case["old"]), run_dir, run_name="r"))

        def killed():
            runfolder.EXCHANGE = case["exchange"]

            def checkpoint(name):
                if name == case["step"]:
                    os.kill(os.getpid(), signal.SIGKILL)

            runfolder.checkpoint = checkpoint
            runs.run_scenario(Path(case["new"]), run_dir, run_name="r")

        codes[case["id"]] = child(killed)
    print(json.dumps(codes))
    """
)

# (exchange supported, step): every checkpoint of both ways of swapping
REPLACE_STEPS = [
    (True, "replayed"),
    (True, "staged"),
    (True, "exchanged"),
    (True, "cleaned"),
    (False, "staged"),
    (False, "retired"),
    (False, "placed"),
    (False, "cleaned"),
]
FIRST_RUN_STEPS = ["replayed", "staged", "placed"]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, Path, Path]]:
    """Every kill case, run once: id -> (run folder, exit code, old and new scenario)."""
    home = tmp_path_factory.mktemp("kills")
    old, new = home / "old.yaml", home / "new.yaml"
    old.write_text(TINY.format(name="old run"))
    new.write_text(TINY.format(name="new run"))
    cases = [
        {"id": f"replace-{ex}-{step}", "exchange": ex, "step": step, "old": str(old)}
        for ex, step in REPLACE_STEPS
    ] + [
        {"id": f"first-{step}", "exchange": True, "step": step, "old": None}
        for step in FIRST_RUN_STEPS
    ]
    for case in cases:
        case["run_dir"] = str(home / str(case["id"]) / "runs" / "r")
        case["new"] = str(new if case["old"] else old)
    done = subprocess.run(
        [sys.executable, "-c", KILLER, json.dumps(cases)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    codes = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        str(c["id"]): (Path(str(c["run_dir"])), int(codes[str(c["id"])]), old, new) for c in cases
    }


@pytest.mark.parametrize(("exchange", "step"), REPLACE_STEPS)
def test_a_replacement_killed_at_any_step_leaves_the_old_or_the_new_run(
    killed: dict[str, tuple[Path, int, Path, Path]], exchange: bool, step: str
) -> None:
    run_dir, code, _, new = killed[f"replace-{exchange}-{step}"]
    assert code == -signal.SIGKILL
    # A reader at once: the old run or the new one (a set-aside run is put back first).
    info = open_run(run_dir)
    expected = "old run" if step in {"replayed", "staged", "retired"} else "new run"
    assert info.name == expected
    json.loads((run_dir / "run.json").read_text())
    # The next run completes and leaves nothing behind but the run itself.
    again = run_scenario(new, run_dir, run_name="r")
    assert again.name == "new run"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["r"]


@pytest.mark.parametrize("step", FIRST_RUN_STEPS)
def test_a_first_run_killed_at_any_step_leaves_nothing_behind(
    killed: dict[str, tuple[Path, int, Path, Path]], step: str
) -> None:
    run_dir, code, old, _ = killed[f"first-{step}"]
    assert code == -signal.SIGKILL
    if run_dir.exists():
        assert step == "placed" and open_run(run_dir).name == "old run"
    run_scenario(old, run_dir, run_name="r")
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["r"]


def test_a_reader_does_not_restore_while_a_writer_holds_the_claim(
    tmp_path: Path, scenarios: tuple[Path, Path]
) -> None:
    """The restore on read happens only when no writer is live (it takes the claim)."""
    run_dir = tmp_path / "runs" / "r"
    run_scenario(scenarios[0], run_dir, run_name="r")
    aside = run_dir.with_name(".r.retired-1")
    os.replace(run_dir, aside)
    claim = stores.claim_folder("r", run_dir, run_dir)
    try:
        with pytest.raises(FileNotFoundError):
            open_run(run_dir)
        assert aside.is_dir()
    finally:
        claim.close()
    assert open_run(run_dir).name  # restored now
    assert not aside.exists()
