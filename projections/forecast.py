"""A forecast folder's DuckDB file: its tables written whole, and the view over them.

``ledger.tools.forecast.store`` builds the rows of a forecast as Arrow tables
and hands them here; this module is the only writer of the file (tables
``forecast_samples``, ``forecast_outcomes``, ``forecast_info`` and the view
``forecast_quantiles``, docs/forecasting.md). It is read afterwards like a
run's file, through ``queries.connect`` and ``sandbox`` (``sql --dir``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb


def quantile_view(figures: Sequence[str], levels: Sequence[tuple[str, Decimal]]) -> str:
    """``forecast_quantiles``: each figure's quantiles (``quantile_disc``, the same
    definition as the terminal table) and mean per account and month."""
    quantiles = ",\n  ".join(
        [
            f"quantile_disc({figure}, {level}) AS {figure}_{name}"
            for figure in figures
            for name, level in levels
        ]
        + [f"round(avg({figure}), 2) AS {figure}_mean" for figure in figures]
    )
    return f"""
CREATE VIEW forecast_quantiles AS
SELECT account, surface, month,
  {quantiles}
FROM forecast_samples
GROUP BY account, surface, month
ORDER BY account, month
"""


def write_tables(
    path: Path,
    *,
    samples: Any,
    outcomes: Any,
    info: Any,
    figures: Sequence[str],
    levels: Sequence[tuple[str, Decimal]],
) -> None:
    """Create the forecast's file at ``path`` from three Arrow tables, in UTC, checkpointed.

    ``samples`` becomes ``forecast_samples`` (one row per sample, account and
    month, a column per figure), ``outcomes`` ``forecast_outcomes`` and
    ``info`` ``forecast_info``; ``forecast_quantiles`` summarises ``figures``
    at ``levels``.
    """
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("samples_arrow", samples)
        con.register("outcomes_arrow", outcomes)
        con.register("info_arrow", info)
        con.execute("CREATE TABLE forecast_samples AS SELECT * FROM samples_arrow")
        con.execute("CREATE TABLE forecast_outcomes AS SELECT * FROM outcomes_arrow")
        con.execute("CREATE TABLE forecast_info AS SELECT * FROM info_arrow")
        con.execute(quantile_view(figures, levels))
        con.execute("CHECKPOINT")
    finally:
        con.close()
