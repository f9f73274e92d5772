"""Read models: the event store's notification log projected into DuckDB.

The ledger (``ledger.application.Ledger``) is the source of truth; this
package only reads it. ``schema`` holds every table, view and macro in one
place, ``handlers`` turns each stored event into rows (one pure function per
event type), ``projector`` pulls the notification log in batches and writes
each batch with its tracking position in one DuckDB transaction, and
``queries`` (with ``answers``, ``report``, ``export``, ``forecast`` and, for a
user's own SQL, ``sandbox``) is the one read API: nothing above this package
imports ``duckdb``. Everything here is rebuildable from the log:
``Projector.rebuild()`` gives the same tables as any sequence of interrupted and
resumed ``project()`` calls.
"""

from projections.handlers import HANDLERS, Context, ProjectionError
from projections.projector import Projector
from projections.schema import SCHEMA_VERSION, TABLES

__all__ = [
    "HANDLERS",
    "SCHEMA_VERSION",
    "TABLES",
    "Context",
    "ProjectionError",
    "Projector",
]
