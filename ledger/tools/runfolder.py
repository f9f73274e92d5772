"""Run folders on disk: which folders are ours, which may be used, and the atomic swap.

Nothing of the user's is ever destroyed (docs/reliability.md):

- a run folder carries a marker file (``MARKER``); a run replaces an existing
  folder only when the marker says it is one of ours (or the folder is empty),
  and ``check_target`` refuses, before any work, a target that is a file, a
  symbolic link, the current folder or one of its parents, the scenario's own
  folder, or a folder holding anything else;
- a finished run is swapped into place at once: the kernel exchanges the new
  folder with the old one (``renameat2(RENAME_EXCHANGE)``), so at any instant
  the path holds either the old run or the new one. Where the file system
  cannot exchange, the old folder is renamed aside and the new one renamed in;
  a process killed between the two renames leaves the old run under
  ``.NAME.retired-*``, and ``recover`` puts it back on the next start;
- ``recover`` also removes what killed writers left behind (``.NAME.building-*``
  and ``.NAME.retired-*`` folders). It runs under the writer's claim, so it
  never touches the folder of a writer that is still alive.

``checkpoint`` is called between the steps of the swap; the kill-injection
tests replace it to stop the process at each step.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
from pathlib import Path

from ledger.stores import StoreError

MARKER = ".credit-ledger-run"
MARKER_TEXT = "This folder is a credit-ledger run: `credit-ledger run` may replace it.\n"
MAX_NAME_BYTES = 200
BUILDING = "building"
RETIRED = "retired"
# What a run folder written before the marker existed holds (it is still ours).
_OUR_FILES = frozenset(
    {
        "run.json",
        "events.sqlite",
        "events.sqlite-wal",
        "events.sqlite-shm",
        "events.sqlite-journal",
        "ledger.duckdb",
        "ledger.duckdb.wal",
    }
)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class RunFolderError(StoreError):
    """A folder that a run may not be written into; nothing was written or removed.

    A ``StoreError`` (the run folder is where the SQLite store lives), so every
    command reports it like any unusable store: one sentence, exit 2.
    """


def checkpoint(step: str) -> None:
    """Called between the steps of a swap (a no-op; tests inject kills here)."""


def mark(folder: Path) -> None:
    """Make ``folder`` recognisably one of ours."""
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


def is_ours(folder: Path) -> bool:
    """A run folder we wrote: the marker, or (older runs) only our own files and run.json."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    if (folder / MARKER).is_file():
        return True
    names = {p.name for p in folder.iterdir()}
    if "run.json" not in names or not names <= _OUR_FILES:
        return False
    try:
        meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "run" in meta


def check_target(run_dir: Path, scenario: Path | None = None) -> None:
    """Refuse a run folder that is not ours to replace (raises ``RunFolderError``).

    Allowed: a path that does not exist yet, an empty folder, or one of our
    run folders. Refused: the current folder and its parents (``.``, ``..``,
    ``/``), the folder of the scenario file (or any of its parents), a file,
    a symbolic link, and a folder with anything else in it.
    """
    shown = str(run_dir)
    if len(run_dir.name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise RunFolderError(
            f"--dir {shown}: the folder's name is longer than {MAX_NAME_BYTES} bytes "
            "(file systems allow 255, and the run is built beside it under a longer name)"
        )
    if run_dir.is_symlink():
        raise RunFolderError(
            f"--dir {shown} is a symbolic link: give the folder itself, or a new path"
        )
    target = run_dir.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise RunFolderError(
            f"--dir {shown} is the current folder or one of its parents: a run folder is "
            "replaced as a whole, so give a folder of its own (e.g. runs/NAME)"
        )
    if scenario is not None:
        source = scenario.resolve()
        if target == source:
            raise RunFolderError(
                f"--dir {shown} is the scenario file itself: it was left untouched"
            )
        if target in source.parents:
            raise RunFolderError(
                f"--dir {shown} holds the scenario file {scenario}: a run folder is replaced "
                "as a whole, so give a folder of its own (e.g. runs/NAME)"
            )
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise RunFolderError(f"--dir {shown} is a file, not a folder: it was left untouched")
    if is_ours(run_dir):
        return
    try:
        found = sorted(p.name for p in run_dir.iterdir())
    except OSError as exc:
        raise RunFolderError(f"--dir {shown} cannot be read: {exc.strerror or exc}") from None
    if found:
        listed = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise RunFolderError(
            f"--dir {shown} already holds files that are not a credit-ledger run ({listed}): "
            "it was left untouched; choose another folder or empty it yourself"
        )


def staging_prefix(run_dir: Path) -> str:
    return f".{run_dir.name}.{BUILDING}-"


def _retired_prefix(run_dir: Path) -> str:
    return f".{run_dir.name}.{RETIRED}-"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths at once; False where the system or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}:
        return False
    raise OSError(code, os.strerror(code), str(b))


EXCHANGE = True  # tests turn it off to exercise the two-rename fallback


def swap_into_place(staging: Path, run_dir: Path) -> None:
    """Make ``staging`` the run at ``run_dir``; at any instant one of the two runs is there.

    The caller holds the run's claim and has checked ``run_dir`` (``check_target``).
    """
    checkpoint("staged")
    if not run_dir.exists():
        os.replace(staging, run_dir)
        checkpoint("placed")
        return
    if EXCHANGE and _exchange(staging, run_dir):
        checkpoint("exchanged")  # staging now holds the old run
        shutil.rmtree(staging, ignore_errors=True)
        checkpoint("cleaned")
        return
    retired = run_dir.with_name(f"{_retired_prefix(run_dir)}{os.getpid()}")
    if retired.exists():
        shutil.rmtree(retired)
    os.replace(run_dir, retired)
    checkpoint("retired")  # a kill here: recover() puts the old run back
    os.replace(staging, run_dir)
    checkpoint("placed")
    shutil.rmtree(retired, ignore_errors=True)
    checkpoint("cleaned")


def leftovers(run_dir: Path) -> list[Path]:
    """The build and retired folders that writers of ``run_dir`` left behind."""
    parent = run_dir.resolve().parent
    if not parent.is_dir():
        return []
    prefixes = (staging_prefix(run_dir), _retired_prefix(run_dir))
    return sorted(
        p
        for p in parent.iterdir()
        if p.name.startswith(prefixes) and p.is_dir() and not p.is_symlink()
    )


def recover(run_dir: Path, keep: Path | None = None) -> list[str]:
    """Undo what a killed writer left: restore the old run if it was set aside, clear the rest.

    Call it holding the run's claim (no live writer is using these folders).
    ``keep`` is the caller's own staging folder. Returns what was done.
    """
    done = []
    kept = None if keep is None else keep.resolve()
    found = [p for p in leftovers(run_dir) if p != kept]
    retired = [p for p in found if p.name.startswith(_retired_prefix(run_dir)) and is_ours(p)]
    if not run_dir.exists() and retired:
        newest = max(retired, key=lambda p: p.stat().st_mtime)
        os.replace(newest, run_dir.resolve())
        found.remove(newest)
        done.append(f"restored the run {run_dir} that an interrupted replacement had set aside")
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed {path.name}, left by an interrupted run")
    return done
