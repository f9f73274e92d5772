"""Stores: where a run's events live, and how a store's password stays out of sight.

Two kinds of store:

- the embedded default: an SQLite file (``events.sqlite``) inside each run
  folder, next to the run's DuckDB projection;
- a team store: one PostgreSQL database, named by a ``postgresql://`` URL
  (``--store`` or ``CREDIT_LEDGER_STORE``), shared by many runs and many
  users, one schema per run (``ledger.pgstore``).

A store URL may carry a password. It lives in memory only: run folders,
listings and messages show ``mask(url)``, and every error raised from the
database driver is re-raised as ``StoreError`` with the password scrubbed
from its text (``translate_errors``).

A run is written by one writer at a time, on either kind of store: a second
writer of the same run gets ``RunBusyError`` (the first keeps going, and
neither run is touched by the refused one). On SQLite the claim is an
exclusive lock on a file next to the run folder; on PostgreSQL it is version
1 of the run's writer stream, refused by the library's optimistic
concurrency control (``ledger.pgstore``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import PersistenceError

from ledger.application import Ledger

if TYPE_CHECKING:
    from ledger.pgstore import PostgresStore

STORE_ENV = "CREDIT_LEDGER_STORE"
SQLITE = "sqlite"
POSTGRES_SCHEMES = ("postgresql", "postgres")
EVENTS_FILE = "events.sqlite"
MASK = "***"

# user:password@ in any URL-looking text (for messages we did not write ourselves)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]*)@")


class StoreError(Exception):
    """A store that cannot be used: malformed, unreachable, refused. The text is masked."""


class RunBusyError(StoreError):
    """Another writer is writing the same run right now; this one wrote nothing."""

    def __init__(self, run: str, where: str) -> None:
        super().__init__(
            f"run {run!r} is being written by another writer right now ({where}); "
            "nothing was written: try again when it has finished"
        )
        self.run = run


# ------------------------------------------------------------------ the URL


def is_postgres(store: str | Path | None) -> bool:
    return isinstance(store, str) and parts_scheme(store.strip()) in POSTGRES_SCHEMES


_ENCODE_HINT = (
    "if the password holds '/', '#', '?', '@' or ':', percent-encode it (%2F, %23, %3F, %40, %3A)"
)
# password=..., sslpassword=... in a query string or a key=value connection string
_QUERY_SECRET = re.compile(r"(?i)(?P<head>(?:^|[?&;\s])(?:ssl)?pass(?:word)?=)(?P<secret>[^&;\s]*)")


def normalize(store: str | None) -> str | None:
    """The store a user named: None for the embedded SQLite default, else a PostgreSQL URL.

    Raises ``StoreError`` (its text masked) for anything else, including a
    password given as a query parameter (``?password=``): it would be easy to
    miss when the URL is shown or kept, so it is refused, never stored.
    """
    if store is None or store.strip() in {"", SQLITE}:
        return None
    text = store.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError as exc:
        problem = (
            "has a port that is not a number" if "port" in str(exc).lower() else "is malformed"
        )
        if parts_scheme(text) not in POSTGRES_SCHEMES:
            problem = "is not a postgresql:// URL"
        raise StoreError(f"the store URL {mask(text)!r} {problem} ({_ENCODE_HINT})") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        raise StoreError(
            f"unsupported store {mask(text)!r}: use postgresql://user@host:port/database "
            "for a team store, or leave --store out for the SQLite file in the run folder"
        )
    if _QUERY_SECRET.search("?" + parts.query):
        raise StoreError(
            f"the store URL {mask(text)!r} gives a password as a query parameter, which is "
            "refused so that it is never shown or stored: put it in the URL "
            "(postgresql://user:PASSWORD@host/db), in PGPASSWORD or in ~/.pgpass"
        )
    if not parts.hostname:
        raise StoreError(f"the store URL {mask(text)!r} names no host ({_ENCODE_HINT})")
    if not parts.path.strip("/"):
        raise StoreError(f"the store URL {mask(text)!r} names no database (…:port/DATABASE)")
    return text


def parts_scheme(text: str) -> str:
    """The scheme of URL-looking text, without parsing the rest (``""`` when none)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    return match.group(1).lower() if match else ""


def password_of(url: str) -> str | None:
    try:
        secret = urlsplit(url).password
    except ValueError:
        return None
    return unquote(secret) if secret else None


def _raw_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def mask(url: str) -> str:
    """The URL with its password replaced by ``***`` (the rest kept, to tell stores apart).

    Works on any text, valid URL or not, without trusting a URL parser: the
    password is whatever lies between the first ':' of the user part and the
    *last* '@' of the authority, so an unencoded '/', '#', '?' or '@' in it
    is masked too (at worst, a little more than the password is hidden).
    ``password=`` and ``sslpassword=`` parameters are masked as well.
    """
    text = _QUERY_SECRET.sub(rf"\g<head>{MASK}", url)
    scheme = re.match(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//", text)
    head = scheme.group(0) if scheme else ""
    rest = text[len(head) :]
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return text
    user, colon, _secret = userinfo.partition(":")
    if not colon:
        return text
    return f"{head}{user}:{MASK}@{host}"


def scrub(text: str, *urls: str) -> str:
    """``text`` without the passwords of ``urls`` (raw or %-encoded) nor any URL's password."""
    for url in urls:
        secret = password_of(url)
        if secret:
            for form in {secret, _raw_password(url) or ""}:
                if form:
                    text = text.replace(form, MASK)
    return _USERINFO.sub(rf"\g<head>{MASK}@", text)


def describe(store: str | None) -> str:
    return mask(store) if store else "SQLite file in the run folder"


@contextlib.contextmanager
def translate_errors(url: str, doing: str) -> Iterator[None]:
    """Re-raise the driver's and the library's errors as ``StoreError``, masked.

    ``doing`` reads before the store's URL: "connecting to", "listing the runs of".
    """
    try:
        yield
    except StoreError:
        raise
    except PersistenceError as exc:
        raise StoreError(f"{doing} {mask(url)} failed: {_first_line(exc, url)}") from None
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] not in {"psycopg", "psycopg_pool"}:
            raise
        raise StoreError(f"{doing} {mask(url)} failed: {_first_line(exc, url)}") from None


def _first_line(exc: BaseException, url: str) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return scrub(" ".join(lines[:2]) or type(exc).__name__, url)


# ---------------------------------------------------------------- building


class Build(Protocol):
    """A run being written: ledgers onto its private copy, then made current at once."""

    run: str

    def ledger(self) -> Ledger:
        """A ledger on the run being built (the caller closes it)."""
        ...

    def record(self, position: int | None) -> dict[str, Any]:
        """What ``run.json`` adds about the store (no secret), and how far it is projected."""
        ...

    def commit(self, meta: dict[str, Any]) -> None:
        """Make the built run the current one, replacing any previous run of that name."""
        ...

    def abort(self) -> None:
        """Throw the build away (idempotent); the previous run stays as it was."""
        ...

    def close(self) -> None:
        """End the claim (idempotent): the next writer of the run may start."""
        ...


@dataclass
class SqliteBuild:
    """A run built into a staging folder's SQLite file, claimed by a lock next to it.

    The folder swap in ``ledger.tools.runs`` is the commit. The claim is an exclusive
    ``flock`` on ``.<run dir>.lock`` beside the run folder: the kernel drops it
    when its process dies, and the file is deleted when the build ends.
    """

    run: str
    staging: Path
    lock: IO[bytes] | None = field(default=None, repr=False)
    lock_path: Path | None = None

    def ledger(self) -> Ledger:
        return Ledger(self.staging / EVENTS_FILE, run=self.run)

    def record(self, position: int | None) -> dict[str, Any]:
        return {}  # run.json of a run folder stays as it always was

    def commit(self, meta: dict[str, Any]) -> None:
        pass  # the caller swaps the staging folder into place, still holding the claim

    def abort(self) -> None:
        self.close()

    def close(self) -> None:
        if self.lock is not None:
            if self.lock_path is not None:
                self.lock_path.unlink(missing_ok=True)  # before the unlock: see claim_folder
            self.lock.close()  # closing the file drops the flock
            self.lock = None


def claim_folder(run: str, run_dir: Path, staging: Path) -> SqliteBuild:
    """Claim ``run_dir`` for one writer, or raise ``RunBusyError``."""
    lock_path = run_dir.resolve().parent / f".{run_dir.name}.lock"
    while True:
        handle = lock_path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            # The holder before us deletes the file and then unlocks: if we locked
            # a file that is gone, the next writer would lock a new one beside us.
            held = os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino
        except BlockingIOError:
            handle.close()
            raise RunBusyError(run, f"folder {run_dir}") from None
        except FileNotFoundError:
            held = False
        except BaseException:
            handle.close()
            raise
        if held:
            return SqliteBuild(run, staging, handle, lock_path)
        handle.close()


def open_build(store: str | None, run: str, run_dir: Path, staging: Path) -> Build:
    """Claim the run for this writer on ``store`` and return its build."""
    if store is None:
        return claim_folder(run, run_dir, staging)
    return postgres(store).begin_build(run)


def open_ledger(store: str | None, folder: Path, run: str) -> Ledger:
    """A ledger on a finished run: its SQLite file, or its schema in the team store."""
    if store is None:
        path = folder / EVENTS_FILE
        if path.is_file() and not os.access(folder, os.W_OK):
            # A read-only folder (a read-only mount, an archive): SQLite must not try to
            # create its WAL files beside it. Nothing writes there, so it is immutable.
            return Ledger(f"{path.resolve().as_uri()}?mode=ro&immutable=1", run=run)
        return Ledger(path, run=run)
    return postgres(store).open_ledger(run)


def postgres(store: str) -> PostgresStore:
    """The team store at ``store`` (the ``postgres`` extra provides its driver)."""
    try:
        from ledger.pgstore import PostgresStore  # noqa: PLC0415 - psycopg is an optional extra
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in {"psycopg", "psycopg_pool"}:
            raise
        raise StoreError(
            "a PostgreSQL store needs the postgres extra: "
            "pip install 'runway-credit-ledger[postgres]'"
        ) from None
    return PostgresStore(store)
