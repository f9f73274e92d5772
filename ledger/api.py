"""The public Python API: ``from ledger import api`` (docs/python.md).

A facade kept at the documented import path: the implementation is a tool on
top of the core and lives in ``ledger/tools/api.py`` (the tree shows the
layers, issue 15). Only the public names are re-exported here.
"""

from ledger.tools.api import (
    Forecast,
    Run,
    check,
    forecast,
    instant,
    open_run,
    replay,
    runs,
    validate,
)

__all__ = [
    "Forecast",
    "Run",
    "check",
    "forecast",
    "instant",
    "open_run",
    "replay",
    "runs",
    "validate",
]
