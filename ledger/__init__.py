"""credit-ledger: an event-sourced simulator of Runway web-app and API credit ledgers.

Layers, in the direction data flows: ``scenarios`` (files -> planned activity)
-> ``ledger.application`` (use cases on the event-sourced aggregates of
``ledger.domain``, priced by ``ledger.pricing``) -> ``projections`` (DuckDB)
-> ``ledger.cli`` (typer).
"""

__version__ = "0.1.0"
