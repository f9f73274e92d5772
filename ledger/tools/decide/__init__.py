"""Deciding: which way of paying carries a workload, and what changes between two plans.

Data flow: a workload (``scenarios.schema.Workload``) becomes one in-memory
``Scenario`` per route (``compare``), each replayed by the engine into a
``Ledger("memory")``; ``measure`` reads every figure (dollars, forfeits,
refusals, top-ups, tiers) from the replayed events, and is the only module
that does. ``breakeven`` scales the workload and replays it again to find
the volumes where the cheaper route changes; ``chart`` draws those curves as
a self-contained SVG page. ``diff`` replays two scenario files and compares
their accounts month by month. Nothing here writes a run folder.
"""
