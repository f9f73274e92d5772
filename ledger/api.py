"""The public Python API: ``from ledger import api`` (docs/python.md).

A facade kept at the documented import path: the implementation is a tool on
top of the core and lives in ``ledger/tools/api.py`` (the tree shows the
layers, issue 15). Only the public names are re-exported here.
"""

from ledger.tools.api import *  # noqa: F403 - exactly the names of its __all__
from ledger.tools.api import __all__ as __all__  # noqa: PLC0414 - re-exported
