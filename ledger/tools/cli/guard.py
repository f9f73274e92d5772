"""The command group of credit-ledger: a damaged run is one sentence, never a traceback."""

from __future__ import annotations

import sqlite3
from typing import Any

from typer.core import TyperGroup

from ledger.tools.cli.options import bad_input
from projections.queries import DatabaseError


class DamageGuard(TyperGroup):
    """Every command: a run's files that cannot be read are one sentence and exit 2.

    SQLite and DuckDB find damage (a truncated or overwritten file) only when
    they read the damaged page, deep inside a command; whichever command it
    is, the user reads what happened instead of a traceback.
    """

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (sqlite3.DatabaseError, DatabaseError) as exc:
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise bad_input(
                f"error: a file of the run cannot be read ({first}); it may be damaged: "
                "run the scenario again to rebuild it"
            ) from None
