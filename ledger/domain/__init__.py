"""The domain: web workspaces and API organizations as event-sourced aggregates.

Nothing here reads the wall clock, touches storage, or knows about YAML,
DuckDB or the command line. Every command takes the simulated instant ``at``.
"""
