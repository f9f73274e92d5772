"""``python -m ledger`` is the ``credit-ledger`` command."""

from ledger.tools.cli.app import main

main()
