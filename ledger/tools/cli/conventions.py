"""What users of command-line tools expect of every ``credit-ledger`` command.

- ``--help`` shows plain metavars (``ACCOUNT``, ``PATH``, ``INSTANT``), never
  typer's internal ones (``<bool>`` after a flag, ``{scenario}``,
  ``<list[Path]>``): ``LedgerGroup`` tidies every command's parameters once,
  whichever module declared them, so a command added later is covered too.
- ``NO_COLOR`` (https://no-color.org) and ``--no-color`` turn colour off in
  every console of the CLI (``no_color``).
- A closed pipe (``credit-ledger events x | head -1``) ends quietly with exit
  0: the reader had what it wanted (``main``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from types import MethodType
from typing import Any

import typer
from rich.console import Console
from typer import _click as click  # typer's own (vendored) click: its commands are these
from typer._click.utils import PacifyFlushWrapper
from typer.core import TyperArgument, TyperGroup, TyperOption

DISTRIBUTION = "runway-credit-ledger"
INSTANT_HELP = "2027-03-01 or 2027-03-01T10:00, UTC"


def instant_option(name: str, what: str) -> Any:
    """An option that takes an instant: ``INSTANT`` in --help, with the format shown.

    Every command's instant options use it (a test walks them all)::

        at: Annotated[str, instant_option("--at", "The instant")]
    """
    return typer.Option(name, metavar="INSTANT", help=f"{what} ({INSTANT_HELP}).")


def version() -> str:
    """The installed distribution's version."""
    return metadata.version(DISTRIBUTION)


# ------------------------------------------------------------------ --help


def _plain_type(param: TyperOption) -> str:
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    if desc.annotation is int:
        return "INTEGER"
    if desc.annotation is float:
        return "NUMBER"
    return "TEXT"


def _usage_name(argument: TyperArgument) -> Callable[[], str]:
    def name() -> str:
        shown = argument.metavar or argument.name or "ARG"
        shown = shown if argument.required else f"[{shown}]"
        return f"{shown}..." if argument.nargs != 1 else shown

    return name


def _tidy_params(params: Iterable[click.Parameter]) -> None:
    for param in params:
        if getattr(param, "_tidy", False):
            continue
        if isinstance(param, TyperOption):
            if param.is_flag or param.count:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _plain_type(param)
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "arg").upper()
            # Instance attributes: typer puts {braces} around required arguments in the
            # usage line and their Python type in the help table.
            param._usage_display_name = _usage_name(param)  # type: ignore[method-assign,unused-ignore]
            param.display_type_rich = MethodType(lambda self, ctx: None, param)  # type: ignore[method-assign,unused-ignore]
        param._tidy = True  # type: ignore[attr-defined]


def tidy(command: click.Command) -> None:
    """Plain metavars on every parameter of ``command`` and its subcommands,
    including those click adds when help is shown (``--help``, completion)."""
    _tidy_params(command.params)
    declared = command.get_params

    def get_params(ctx: click.Context) -> list[click.Parameter]:
        params = declared(ctx)
        _tidy_params(params)
        return params

    command.get_params = get_params  # type: ignore[method-assign]
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            tidy(sub)


class LedgerGroup(TyperGroup):
    """The root command group: tidies every command's help once it is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy(self)


def options(command: click.Command, path: str = "") -> Iterable[tuple[str, TyperOption]]:
    """Every option of ``command`` and its subcommands, with the command's path."""
    for param in command.params:
        if isinstance(param, TyperOption):
            yield path, param
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from options(sub, f"{path} {name}".strip())


# ------------------------------------------------------------------ colour


def no_color() -> None:
    """Colour off in every console the CLI modules hold, and in those made later."""
    os.environ["NO_COLOR"] = "1"
    for name, module in list(sys.modules.items()):
        if not name.startswith("ledger.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Console):
                value.no_color = True


# ------------------------------------------------------------------ pipes


def _pipe_closed() -> bool:
    return isinstance(sys.stdout, PacifyFlushWrapper)


def main(app: typer.Typer, argv: list[str]) -> Any:
    """Run ``app``; a reader that closed the pipe early is not an error (exit 0)."""
    try:
        return app(args=argv, prog_name="credit-ledger")
    except SystemExit as exc:
        if exc.code == 1 and _pipe_closed():
            # Nothing more can reach the reader; keep Python's final flush quiet too.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
            raise SystemExit(0) from None
        raise
