"""`sql` is read-only, statement by statement; `export` pastes nothing into SQL.

Every hostile statement must exit 2 with one sentence, and the run folder
must be byte-identical afterwards (docs/reliability.md, "read-only SQL").
The Python API and the pytest plugin use the same connection
(``projections.sandbox.user_connection``), tested here too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from ledger.tools.cli import output
from ledger.tools.testing.harness import replay
from projections.sandbox import UserQuery, user_connection
from tests.e2e.conftest import EXAMPLES, invoke

SCENARIO = EXAMPLES / "solo-creator.yaml"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def _one_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One replay for the whole module (every test here only reads it)."""
    home = tmp_path_factory.mktemp("sandbox")
    old = Path.cwd()
    os.chdir(home)
    try:
        code, _, err = invoke(CliRunner(), "run", str(SCENARIO), "-q")
    finally:
        os.chdir(old)
    assert code == 0, err
    return home


@pytest.fixture
def workdir(_one_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder per test whose runs/ is the module's one run."""
    (tmp_path / "runs").symlink_to(_one_run / "runs", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run_folder(workdir: Path) -> Path:
    return workdir / "runs" / "solo-creator"


def hostile(outside: Path, run: Path) -> list[tuple[str, str]]:
    secret = outside / "secret.txt"
    secret.write_text("do not read me\n")
    target = outside / "written.csv"
    events = run / "events.sqlite"
    return [
        ("copy-to", f"COPY (SELECT 1 AS a) TO '{target}'"),
        ("copy-over-events", f"COPY (SELECT 'gone' AS a) TO '{events}' (FORMAT csv)"),
        ("copy-over-run-json", f"COPY (SELECT 'gone' AS a) TO '{run / 'run.json'}'"),
        ("export-database", f"EXPORT DATABASE '{outside / 'dump'}'"),
        ("attach", f"ATTACH '{outside / 'other.duckdb'}' AS other"),
        ("attach-events", f"ATTACH '{events}' AS ev (TYPE sqlite)"),
        ("read-text", f"SELECT * FROM read_text('{secret}')"),
        ("read-csv", f"SELECT * FROM read_csv('{secret}')"),
        ("read-parquet", f"SELECT * FROM read_parquet('{outside}/*.parquet')"),
        ("replacement-scan", f"SELECT * FROM '{secret}'"),
        ("glob", f"SELECT * FROM glob('{outside}/*')"),
        ("install", "INSTALL httpfs"),
        ("load", "LOAD httpfs"),
        ("set-external", "SET enable_external_access = true"),
        ("reset-external", "RESET enable_external_access"),
        ("unlock", "SET lock_configuration = false"),
        ("set-memory", "SET memory_limit = '100GB'"),
        ("pragma-profile", f"PRAGMA profile_output = '{outside / 'profile.json'}'"),
        ("pragma-enable-profiling", "PRAGMA enable_profiling"),
        ("multi-statement", f"SELECT 1; COPY (SELECT 2) TO '{target}'"),
        ("create-table", "CREATE TABLE evil AS SELECT 1 AS a"),
        ("delete", "DELETE FROM accounts"),
        ("drop", "DROP TABLE accounts"),
        ("insert", "INSERT INTO accounts SELECT * FROM accounts"),
    ]


def test_every_hostile_statement_is_refused_and_the_run_is_untouched(
    run_folder: Path, cli: CliRunner, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    before = snapshot(run_folder)
    outside_before = sorted(os.listdir(outside))
    cases = hostile(outside, run_folder)
    outside_before = sorted(os.listdir(outside))
    for case, query in cases:
        code, out, err = invoke(cli, "sql", query)
        assert code == 2, (case, out, err)
        assert err.startswith("error: ") and "Traceback" not in err, (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        assert "do not read me" not in out, case
        assert snapshot(run_folder) == before, case
        assert sorted(os.listdir(outside)) == outside_before, case
    # the connection still answers ordinary questions afterwards
    code, out, _ = invoke(cli, "sql", "SELECT count(*) AS n FROM accounts", "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": 1}]


def test_the_python_api_uses_the_same_sandbox(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = replay(SCENARIO, tmp_path / "run")
    try:
        outside = tmp_path_factory.mktemp("outside")
        before = snapshot(run.folder)
        for case, query in hostile(outside, run.folder):
            with pytest.raises(duckdb.Error):
                run.sql(query)
            assert snapshot(run.folder) == before, case
        assert os.listdir(outside) == ["secret.txt"]
        assert run.scalar("SELECT current_setting('TimeZone')") == "UTC"
        assert run.scalar("SELECT count(*) FROM accounts") == 1
    finally:
        run.close()


def test_the_connection_is_read_only_and_locked(run_folder: Path) -> None:
    conn = user_connection(run_folder / "ledger.duckdb")
    try:
        settings = dict(
            conn.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('enable_external_access', 'lock_configuration', "
                "'autoinstall_known_extensions', 'autoload_known_extensions', 'TimeZone')"
            ).fetchall()
        )
    finally:
        conn.close()
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "TimeZone": "UTC",
    }


@pytest.mark.parametrize(
    ("query", "gist"),
    [("", "empty"), ("   ", "empty"), ("-- comment", "no statement"), ("/* x */", "no statement")],
)
def test_empty_and_comment_only_queries_say_so(
    run_folder: Path, cli: CliRunner, query: str, gist: str
) -> None:
    code, _, err = invoke(cli, "sql", query)
    assert code == 2 and gist in err, err


def test_a_huge_result_streams(run_folder: Path) -> None:
    """Fifty million rows are read a batch at a time: no MemoryError, nothing held."""
    with UserQuery(run_folder / "ledger.duckdb", "SELECT range AS n FROM range(50000000)") as q:
        batches = q.batches(100_000)
        first = next(batches)
        assert first[0] == (0,) and len(first) == 100_000
        second = next(batches)
        assert second[0] == (100_000,)


def test_csv_of_many_batches(run_folder: Path, cli: CliRunner) -> None:
    code, out, err = invoke(cli, "sql", "SELECT range AS n FROM range(25000)", "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == ["n", *(str(i) for i in range(25000))]


def test_json_and_table_output_of_several_batches(
    run_folder: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = invoke(cli, "sql", "SELECT range AS n FROM range(2500)", "--format", "json")
    assert code == 0 and json.loads(out) == [{"n": i} for i in range(2500)]
    monkeypatch.setattr(output, "TABLE_ROWS", 100)
    code, out, _ = invoke(cli, "sql", "SELECT range + 1000 AS n FROM range(101)")
    headers = [line for line in out.splitlines() if line.strip(" ┃│") == "n"]
    assert code == 0 and len(headers) == 2  # two tables, nothing cut
    assert all(f"{1000 + i:,}" in out for i in range(101))


def test_control_characters_in_results_are_escaped(run_folder: Path, cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "sql", "SELECT chr(27) || '[2J' AS x, '[bold]y' AS y")
    assert code == 0
    assert "\x1b" not in out and "\\x1b[2J" in out and "[bold]y" in out


# -------------------------------------------------------------------- export


def test_export_writes_every_table(run_folder: Path, cli: CliRunner, workdir: Path) -> None:
    code, out, err = invoke(cli, "export", "out", "--to", "csv")
    assert code == 0, err
    files = out.split()
    assert "out/accounts.csv" in files
    assert (workdir / "out" / "accounts.csv").read_text().splitlines()[0].startswith("account_id")
    assert not [p for p in (workdir / "out").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_to_a_hostile_path_writes_exactly_there(
    run_folder: Path, cli: CliRunner, workdir: Path, fmt: str
) -> None:
    """Quotes and SQL in the path are just characters of a folder name."""
    name = "it's'; COPY (SELECT 1) TO 'pwned.csv'; --"
    code, _, err = invoke(cli, "export", name, "--to", fmt)
    assert code == 0, err
    assert (workdir / name / f"accounts.{fmt}").is_file()
    assert not (workdir / "pwned.csv").exists()
    if fmt == "csv":
        assert (workdir / name / "accounts.csv").read_text().startswith("account_id")


def test_export_onto_a_file_is_refused(run_folder: Path, cli: CliRunner, workdir: Path) -> None:
    (workdir / "afile").write_text("mine\n")
    code, _, err = invoke(cli, "export", "afile")
    assert code == 2 and "not a folder" in err
    assert (workdir / "afile").read_text() == "mine\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_export_to_dev_full_is_refused(run_folder: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "export", "/dev/full")
    assert code == 2 and "error:" in err


def test_export_into_an_unwritable_folder_is_refused(
    run_folder: Path, cli: CliRunner, workdir: Path
) -> None:
    if os.geteuid() == 0:  # root writes into any mode-locked folder: /proc refuses even root
        code, _, err = invoke(cli, "export", "/proc/credit-ledger-export")
        assert code == 2 and "cannot" in err
        code, _, err = invoke(cli, "export", "/proc")
        assert code == 2 and "cannot" in err
        return
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = invoke(cli, "export", str(locked / "sub"))
        assert code == 2 and "cannot" in err
        code, _, err = invoke(cli, "export", str(locked))
        assert code == 2 and "cannot write" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)
