"""The command line (typer): thin commands over ``ledger.runs`` and the projections."""
