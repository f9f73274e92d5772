"""The public testing helpers: ``from ledger.testing import assert_balance`` (docs/testing.md).

A facade kept at the documented import path: the helpers, the golden files and
the pytest plugin are tools on top of the core and live in
``ledger/tools/testing/`` (the tree shows the layers, issue 15). Only the
public names of ``ledger.tools.testing`` are re-exported here.
"""

from ledger.tools.testing import *  # noqa: F403 - exactly the names of its __all__
from ledger.tools.testing import __all__ as __all__  # noqa: PLC0414 - re-exported
