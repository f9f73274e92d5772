"""A damaged run folder is one sentence and exit 2, never a traceback (docs/reliability.md).

run.json, events.sqlite and ledger.duckdb are each truncated, overwritten
with garbage or given the wrong shape; every reading command must answer
with one `error:` line (exit 2) or, where the damage is in a part it does
not read, its usual answer (exit 0). Also: account ids with control codes
are printed escaped, `balance` works on a read-only mount, and a run name
too long for a folder is refused up front.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.cli.app import app
from tests.e2e.conftest import EXAMPLES, invoke

SCENARIO = EXAMPLES / "solo-creator.yaml"
COMMANDS = [
    ["balance", "creator", "--at", "2027-06-01"],
    ["events", "creator"],
    ["sql", "SELECT count(*) FROM ledger_entries"],
    ["export", "out", "--to", "csv"],
    ["runs"],
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("pristine")
    old = Path.cwd()
    os.chdir(home)
    try:
        code, _, err = invoke(CliRunner(), "run", str(SCENARIO), "--dir", "run", "-q")
    finally:
        os.chdir(old)
    assert code == 0, err
    return home / "run"


def _damage(folder: Path, name: str, how: str) -> None:
    path = folder / name
    if how == "truncated":
        with path.open("r+b") as handle:
            handle.truncate(path.stat().st_size // 2)
    elif how == "garbage":
        path.write_bytes(bytes(range(256)) * 40)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "wrong-shape":
        path.write_text('["not", "a", "run"]\n' if name == "run.json" else "hello\n")


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "wrong-shape"])
@pytest.mark.parametrize("name", ["run.json", "events.sqlite", "ledger.duckdb"])
def test_a_damaged_file_is_one_sentence_and_exit_2(
    pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, how: str
) -> None:
    folder = tmp_path / "runs" / "run"
    shutil.copytree(pristine, folder)
    _damage(folder, name, how)
    monkeypatch.chdir(tmp_path)
    for command in COMMANDS:
        args = [*command, "--dir", "runs/run"] if command != ["runs"] else command
        result = CliRunner().invoke(app, args)
        assert not (result.exception and not isinstance(result.exception, SystemExit)), (
            name,
            how,
            command,
            repr(result.exception),
        )
        assert result.exit_code in (0, 2), (name, how, command, result.output)
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (command, result.stderr)


def test_account_ids_with_escape_codes_are_printed_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        SCENARIO.read_text()
        .replace("id: creator", 'id: "cr\\e[2Jeator"')
        .replace("account: creator", 'account: "cr\\e[2Jeator"')
    )
    assert "\\e[2J" in text
    (tmp_path / "s.yaml").write_text(text)
    code, out, err = invoke(CliRunner(), "run", "s.yaml")
    assert code == 0, err
    assert "\x1b" not in out + err and "\\x1b[2J" in out
    code, out, err = invoke(CliRunner(), "events", "cr\x1b[2Jeator")
    assert code == 0 and "\x1b" not in out + err
    code, out, err = invoke(CliRunner(), "balance", "nobody\x1b[2J", "--at", "2027-06-01")
    assert code == 2 and "\x1b" not in out + err


def test_a_run_name_too_long_for_a_folder_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(CliRunner(), "run", str(SCENARIO), "--run", "日" * 120, "-q")
    assert code == 2 and "bytes" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    code, _, err = invoke(CliRunner(), "run", str(SCENARIO), "--run", "日" * 60, "-q")
    assert code == 0, err


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount(), reason="needs root to make a read-only bind mount")
def test_balance_on_a_read_only_mount(
    pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    shutil.copytree(pristine, source / "run")
    mounted = tmp_path / "ro"
    mounted.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(mounted)], check=False)
    if done.returncode != 0:
        pytest.skip("bind mounts are not allowed here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        assert not os.access(mounted / "run", os.W_OK)
        monkeypatch.chdir(tmp_path)
        for command in (
            ["balance", "creator", "--at", "2027-06-01", "--format", "json"],
            ["events", "creator"],
            ["sql", "SELECT count(*) AS n FROM accounts", "--format", "json"],
        ):
            code, out, err = invoke(CliRunner(), *command, "--dir", str(mounted / "run"))
            assert code == 0, (command, err)
            assert out.strip()
    finally:
        subprocess.run(["umount", str(mounted)], check=False)
