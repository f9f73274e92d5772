"""A forecast folder: the samples in DuckDB, queryable with ``credit-ledger sql --dir``.

Tables (docs/forecasting.md):

- ``forecast_samples``: one row per sample, account and month: ``usd``, ``used``
  (charged less refunded), ``forfeited``, ``refused``;
- ``forecast_outcomes``: one row per thing that happened in a sample: a web
  account ran out of credits before a billing date (``run_out``), an API
  account had a refusal of a reason (``refusal``), reached a tier (``tier``);
- ``forecast_info``: the forecast's parameters (samples, seed, ...);
- the view ``forecast_quantiles``: P10/P50/P90 (``quantile_disc``, the same
  definition as the terminal table) and mean of each figure per account and month.

The folder is built beside its target and swapped into place when complete,
like a run folder, and holds a ``run.json`` so ``sql`` and ``export`` find it.
The DuckDB file itself is written by ``projections.forecast`` from the Arrow
tables built here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from ledger.tools import runfolder
from ledger.tools.forecast.results import FIGURES, LEVELS, Forecast
from ledger.tools.runs import DUCKDB_FILE, META_FILE
from projections import forecast as forecast_file


def default_forecast_dir(scenario_path: Path) -> Path:
    return Path("runs") / f"{scenario_path.stem}-forecast"


def write_forecast(result: Forecast, folder: Path, scenario: Path | None = None) -> Path:
    """Write the forecast's DuckDB file and run.json into ``folder``, replacing it whole.

    Like a run folder: only a folder of ours (marked) or an empty one is
    replaced (``runfolder.check_target`` raises ``RunFolderError`` otherwise).
    """
    runfolder.check_target(folder, scenario)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=runfolder.staging_prefix(folder), dir=parent))
    try:
        runfolder.mark(staging)
        _write_tables(result, staging / DUCKDB_FILE)
        meta = {
            "kind": "forecast",
            "run": folder.name,
            "scenario_file": result.file,
            "name": result.name,
            "start": result.start.isoformat(),
            "end": result.end.isoformat(),
            "until": None,
            "per_task": False,
            "accounts": [
                {"account": a["account"], "surface": a["surface"]} for a in result.accounts
            ],
            "stats": {"samples": result.samples, "seed": result.seed},
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        runfolder.swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _write_tables(result: Forecast, path: Path) -> None:
    surfaces = {a["account"]: a["surface"] for a in result.accounts}
    rows: dict[str, list[object]] = {
        k: [] for k in ("sample", "seed", "account", "surface", "month", *FIGURES)
    }
    outcomes: dict[str, list[object]] = {
        k: [] for k in ("sample", "account", "surface", "kind", "detail", "at")
    }

    def outcome(sample: int, account: str, kind: str, detail: str, at: str | None) -> None:
        for key, value in zip(
            outcomes,
            (
                sample,
                account,
                surfaces[account],
                kind,
                detail,
                datetime.fromisoformat(at) if at else None,
            ),
            strict=True,
        ):
            outcomes[key].append(value)

    for summary in result.summaries:
        for row in summary.months:
            values = (
                summary.sample,
                summary.seed,
                row.account,
                surfaces[row.account],
                row.month,
                row.usd,
                row.used,
                row.forfeited,
                row.refused,
            )
            for key, value in zip(rows, values, strict=True):
                rows[key].append(value)
        for acc in summary.accounts:
            for end in acc.ran_out:
                outcome(summary.sample, acc.account, "run_out", end, end)
            for reason in acc.reasons:
                outcome(summary.sample, acc.account, "refusal", reason, None)
            for tier, at in acc.tiers:
                outcome(summary.sample, acc.account, "tier", str(tier), at)
    samples = pa.table(
        {
            "sample": pa.array(rows["sample"], pa.int32()),
            "seed": pa.array(rows["seed"], pa.uint64()),
            "account": pa.array(rows["account"], pa.string()),
            "surface": pa.array(rows["surface"], pa.string()),
            "month": pa.array(rows["month"], pa.string()),
            "usd": pa.array(rows["usd"], pa.decimal128(18, 2)),
            "used": pa.array(rows["used"], pa.int64()),
            "forfeited": pa.array(rows["forfeited"], pa.int64()),
            "refused": pa.array(rows["refused"], pa.int64()),
        }
    )
    happened = pa.table(
        {
            "sample": pa.array(outcomes["sample"], pa.int32()),
            "account": pa.array(outcomes["account"], pa.string()),
            "surface": pa.array(outcomes["surface"], pa.string()),
            "kind": pa.array(outcomes["kind"], pa.string()),
            "detail": pa.array(outcomes["detail"], pa.string()),
            "at": pa.array(outcomes["at"], pa.timestamp("us", tz="UTC")),
        }
    )
    info = pa.table(
        {
            "key": ["scenario", "samples", "seed", "start", "end", "wait_threshold_s"],
            "value": [
                result.name,
                str(result.samples),
                str(result.seed),
                result.start.isoformat(),
                result.end.isoformat(),
                str(result.wait_threshold_s),
            ],
        }
    )
    forecast_file.write_tables(
        path, samples=samples, outcomes=happened, info=info, figures=FIGURES, levels=LEVELS
    )
