"""A password given in ``--store`` (or ``CREDIT_LEDGER_STORE``) appears nowhere:
not in any command's stdout or stderr, success or failure, not in ``--help``,
not in any file of the run folders or exports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from typer.main import get_command

from ledger.pgstore import PostgresStore
from ledger.tools.cli.app import app
from tests.conftest import PgServer
from tests.integration.team.team_kit import cli, working_in, write_scenario

# Every character a URL, a shell or a log line could mangle (no single quote:
# the role is created through SQL).
PASSWORD = "S3cr3t pa$$:w@rd/#%?&=+"
OTHER_PASSWORD = "wr0ng-But-Still-Secret"

# Every command that takes --store, and how this test runs it (--store is added).
INVOCATIONS: dict[str, list[list[str]]] = {
    "run": [["{scenario}", "--run", "first"], ["{scenario}", "--run", "second", "-q"]],
    "balance": [
        ["studio", "--at", "2027-06-01", "--run", "first"],
        ["product", "--at", "2027-06-01", "--run", "first", "--format", "json"],
    ],
    "events": [["product", "--until", "2027-01-03", "--run", "first"]],
    "sql": [
        ["SELECT count(*) FROM events", "--run", "first"],
        ["SELECT * FROM accounts", "--run", "first", "--format", "csv"],
        ["SELECT * FROM accounts", "--run", "first", "--format", "json"],
    ],
    "export": [["{exports}", "--run", "first", "--to", "csv"]],
    "check": [["{scenario}", "--run", "checked"]],
    "report": [["{scenario}", "--run", "reported", "--html", "{exports}/report.html"]],
    "runs": [[], ["--format", "json"]],
    "runs rm": [["second"]],
}


def commands_taking_store() -> set[str]:
    found: set[str] = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if any("--store" in getattr(p, "opts", []) for p in command.params):
            found.add(" ".join(path))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(get_command(app), ())
    return found


@pytest.fixture
def secret_store(pg_server: PgServer) -> str:
    """A fresh database owned by a role whose password is PASSWORD."""
    role, database = pg_server.unique("secretive"), pg_server.unique("secrets")
    pg_server.cluster.admin_sql(
        f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}';\n"
        f"CREATE DATABASE {database} OWNER {role};\n"
    )
    pg_server.databases.append(database)
    pg_server.roles.append(role)
    return (
        f"postgresql://{role}:{quote(PASSWORD, safe='')}@127.0.0.1:"
        f"{pg_server.cluster.port}/{database}"
    )


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


def assert_hidden(text: str, where: str) -> None:
    for secret in (PASSWORD, OTHER_PASSWORD):
        for form in forms(secret):
            assert form not in text, f"the password shows in {where}"


def files_under(folder: Path) -> Iterator[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


def test_every_command_taking_store_is_exercised_here() -> None:
    missing = commands_taking_store() - set(INVOCATIONS)
    assert not missing, f"commands taking --store that this test does not run: {missing}"


def test_a_store_password_appears_in_no_output_and_no_file(
    secret_store: str, tmp_path: Path
) -> None:
    assert quote(PASSWORD, safe="") in secret_store  # the URL does carry it
    scenario = write_scenario(tmp_path, "team", seed=7)
    port = secret_store.split("@127.0.0.1:")[1].split("/", maxsplit=1)[0]
    wrong_password = secret_store.replace(quote(PASSWORD, safe=""), OTHER_PASSWORD)
    nobody_listens = secret_store.replace(f":{port}/", ":1/")
    outputs: list[tuple[str, int, str]] = []

    def record(label: str, code: int, out: str, err: str) -> None:
        outputs.append((label, code, out + err))

    machine = tmp_path / "machine"
    with working_in(machine):
        # Every command that takes --store, as written in INVOCATIONS.
        taking = commands_taking_store()
        for command in (c for c in INVOCATIONS if c in taking):  # run first, runs rm last
            for args in INVOCATIONS[command]:
                argv = [a.format(scenario=scenario, exports=machine / "exports") for a in args]
                code, out, err = cli(*command.split(), *argv, "--store", secret_store)
                assert code == 0, (command, argv, out, err)
                record(f"{command} {argv}", code, out, err)
        # The same through the environment variable, and every --help with it set.
        code, out, err = cli("runs", env={"CREDIT_LEDGER_STORE": secret_store})
        assert code == 0 and "first" in out, err
        record("runs (env)", code, out, err)
        for command in commands_taking_store():
            code, out, err = cli(
                *command.split(), "--help", env={"CREDIT_LEDGER_STORE": secret_store}
            )
            record(f"{command} --help", code, out, err)

        # Failures: each exits 2 with a message, and the message hides the password.
        held = PostgresStore(secret_store).begin_build("first")  # another writer, mid-build
        try:
            code, out, err = cli("run", str(scenario), "--run", "first", "--store", secret_store)
            assert code == 2 and "another writer" in err, err
            record("busy run", code, out, err)
        finally:
            held.abort()
            held.close()
        failing = {
            "wrong password": ["runs", "--store", wrong_password],
            "nobody listening": ["runs", "--store", nobody_listens],
            "no such run": ["events", "studio", "--run", "nope", "--store", secret_store],
            "unsupported scheme": ["runs", "--store", secret_store.replace("postgresql", "mysql")],
            "no database": ["runs", "--store", secret_store.rsplit("/", 1)[0] + "/"],
            "bad port": ["runs", "--store", secret_store.replace(f":{port}/", ":port/")],
            "bad run name": ["runs", "rm", "../x", "--store", secret_store],
        }
        for label, argv in failing.items():
            code, out, err = cli(*argv)
            assert code == 2, (label, out, err)
            assert err.strip(), label
            record(label, code, out, err)
        by_label = {label: text for label, _, text in outputs}
        assert "password authentication failed" in by_label["wrong password"]

    # The real console script too: its stderr, whatever the library prints.
    for label, url in {"real cli": wrong_password, "real cli, ok": secret_store}.items():
        done = subprocess.run(
            [sys.executable, "-m", "ledger", "runs", "--store", url],
            cwd=machine,
            capture_output=True,
            text=True,
            check=False,
        )
        record(label, done.returncode, done.stdout, done.stderr)

    assert len(outputs) > 20
    for label, _, text in outputs:
        assert_hidden(text, label)
    files = list(files_under(tmp_path))
    assert any(p.name == "run.json" for p in files) and any(p.suffix == ".csv" for p in files)
    for path in files:
        assert_hidden(path.read_bytes().decode("utf-8", errors="replace"), str(path))
