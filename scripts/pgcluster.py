"""A throwaway PostgreSQL cluster on a free loopback port, for tests and developers.

    python scripts/pgcluster.py up      # start one; print where its URL is kept
    python scripts/pgcluster.py url     # print the running one's URL (with its password)
    python scripts/pgcluster.py down    # stop it and delete its folder

The test suite does not need ``up``: a session fixture (tests/conftest.py)
starts its own cluster with ``start_cluster()`` and stops it with
``Cluster.stop()`` at the end of the session, failed tests or not. ``up`` is
for a developer who wants one server across many pytest runs (the tests use
the running one, found through the state file) or to try ``--store`` by hand
(``make pg-up`` / ``make pg-down``).

What a cluster is:

- a fresh ``initdb`` in a temporary folder, from the server binaries under
  ``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package) or on PATH;
- listening on 127.0.0.1 only, on a port the kernel just handed out, with its
  Unix socket inside that folder (nothing listens beyond loopback, and the
  socket is private to the folder's owner);
- TCP logins check a SCRAM password: role ``ledger`` (not a superuser) owns
  database ``ledger``; the role's password is random, kept in a 0600 state file;
- PostgreSQL refuses to run as root, so as root the server runs as the
  ``postgres`` user (created by the Debian package) and the folder is handed
  to it.

Stdlib only: CI runs it before the virtualenv exists, and it has nothing to do
with the ledger's own code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROLE = "ledger"
DATABASE = "ledger"
SUPERUSER = "postgres"  # trusted on the private Unix socket only
SERVER_USER = "postgres"  # the OS user that runs the server when we are root
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class ClusterError(RuntimeError):
    """The cluster could not be set up (binaries missing, initdb or start failed)."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name) or ["0"])


def find_bindir() -> Path | None:
    """The newest server binaries: Debian's layout first, then PATH."""
    needed = ("initdb", "pg_ctl", "postgres")
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.is_dir()),
        key=lambda p: _version_key(p / "x"),
        reverse=True,
    )
    for bindir in candidates:
        if all((bindir / name).is_file() for name in needed):
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if all((bindir / name).is_file() for name in needed):
            return bindir
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster: where it lives and how to reach it."""

    folder: str
    bindir: str
    port: int
    password: str
    run_as: str | None  # the OS user running the server, when we are root

    @property
    def socket_dir(self) -> str:
        return str(Path(self.folder) / "socket")

    @property
    def data_dir(self) -> str:
        return str(Path(self.folder) / "data")

    def url(self, database: str = DATABASE) -> str:
        """The role's URL over TCP on loopback, password included: keep it to yourself."""
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def admin_sql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the private socket (psql, stdin)."""
        done = subprocess.run(
            [
                str(Path(self.bindir) / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.socket_dir,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ClusterError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str) -> str:
        """A fresh database owned by the role; returns its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        self.admin_sql(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server (fast: rolls back open transactions) and delete its folder."""
        try:
            if Path(self.data_dir, "postmaster.pid").exists():
                _run(
                    [
                        str(Path(self.bindir) / "pg_ctl"),
                        *("-D", self.data_dir, "-m", "fast", "-w", "stop"),
                    ],
                    self.run_as,
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _as_user(argv: list[str], user: str | None) -> list[str]:
    if user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *argv]
    return ["su", user, "-s", "/bin/sh", "-c", " ".join(_quote(a) for a in argv)]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _run(argv: list[str], user: str | None, stdin: str | None = None) -> str:
    done = subprocess.run(
        _as_user(argv, user), input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ClusterError(
            f"{Path(argv[0]).name} failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


def _server_user() -> str | None:
    """None when we may run the server ourselves; the user to run it as when root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ClusterError(
            f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL "
            "(it refuses to run as root): install the postgresql package, which creates it"
        ) from None
    return SERVER_USER


def start_cluster(*, durable: bool = False, attempts: int = 5) -> Cluster:
    """initdb in a new temporary folder, start on a free loopback port, create the role.

    ``durable=False`` (tests) turns fsync off: the data is thrown away anyway.
    """
    bindir = find_bindir()
    if bindir is None:
        raise ClusterError(
            "PostgreSQL server binaries not found (no initdb/pg_ctl under "
            "/usr/lib/postgresql/*/bin nor on PATH): `apt-get install postgresql`"
        )
    run_as = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="credit-ledger-pg-"))
    try:
        (folder / "socket").mkdir()
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            for path in (folder, folder / "socket"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o700)
        admin_password = secrets.token_urlsafe(18)
        pwfile = folder / "pwfile"
        pwfile.write_text(admin_password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(folder / "data"),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as,
        )
        pwfile.unlink()
        password = secrets.token_urlsafe(18)
        cluster = _start(folder, bindir, password, run_as, durable, attempts)
        cluster.admin_sql(
            f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}';\n"
            f"CREATE DATABASE {DATABASE} OWNER {ROLE};\n"
        )
        return cluster
    except BaseException:
        with contextlib.suppress(ClusterError):
            data = folder / "data"
            if (data / "postmaster.pid").exists():
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], run_as)
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _start(
    folder: Path, bindir: Path, password: str, run_as: str | None, durable: bool, attempts: int
) -> Cluster:
    settings = [
        "listen_addresses=127.0.0.1",
        f"unix_socket_directories={folder / 'socket'}",
        "max_connections=200",
        *([] if durable else FAST_SETTINGS),
    ]
    last_error: ClusterError | None = None
    for _ in range(attempts):  # another process may take the free port first
        port = free_port()
        options = " ".join([f"-p {port}", *(f"-c {s}" for s in settings)])
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(folder / "data"),
                    "-l",
                    str(folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                run_as,
            )
        except ClusterError as exc:
            last_error = exc
            continue
        return Cluster(str(folder), str(bindir), port, password, run_as)
    log = folder / "server.log"
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
    raise ClusterError(f"the server did not start: {last_error}\n{tail}")


# ------------------------------------------------------------- developer CLI


def state_file() -> Path:
    """Where ``up`` remembers its cluster: private to this user and this checkout."""
    checkout = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"credit-ledger-pgcluster-{os.getuid()}-{checkout}.json"


def load_state() -> Cluster | None:
    path = state_file()
    if not path.is_file():
        return None
    cluster = Cluster(**json.loads(path.read_text(encoding="utf-8")))
    return cluster if Path(cluster.data_dir, "postmaster.pid").exists() else None


def _masked(url: str) -> str:
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "url", "status"])
    parser.add_argument(
        "--durable", action="store_true", help="keep fsync on (benchmarks); tests turn it off"
    )
    args = parser.parse_args(argv)
    current = load_state()
    if args.command == "up":
        if current is None:
            current = start_cluster(durable=args.durable)
            path = state_file()
            path.write_text(json.dumps(asdict(current)), encoding="utf-8")
            path.chmod(0o600)
        print(f"PostgreSQL listening on 127.0.0.1:{current.port}: {_masked(current.url())}")
        print("the tests use it while it runs; `python scripts/pgcluster.py url` prints its URL")
        return 0
    if current is None:
        print("no cluster is running (python scripts/pgcluster.py up)", file=sys.stderr)
        return 0 if args.command in {"down", "status"} else 1
    if args.command == "url":
        print(current.url())
    elif args.command == "status":
        print(f"running on 127.0.0.1:{current.port} in {current.folder}")
    else:
        current.stop()
        state_file().unlink(missing_ok=True)
        print(f"stopped; {current.folder} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
