"""``python -m ledger`` is the ``credit-ledger`` command."""

from ledger.cli.app import main

main()
