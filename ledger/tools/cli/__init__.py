"""The command line (typer): thin commands over ``ledger.tools.runs`` and the projections."""
