"""credit-ledger: an event-sourced simulator of Runway web-app and API credit ledgers.

Layers, in the direction data flows: ``scenarios`` (files -> planned activity)
-> ``ledger.application`` (use cases on the event-sourced aggregates of
``ledger.domain``, priced by ``ledger.pricing``) -> ``projections`` (DuckDB)
-> ``ledger.tools`` (run folders, checks, compare, forecast, report, the pytest
plugin, the Python API and the CLI). ``ledger/`` itself holds the core;
``ledger.api`` and ``ledger.testing`` re-export the public names of
``ledger.tools.api`` and ``ledger.tools.testing`` (docs/architecture.md).
"""

__version__ = "0.1.0"
