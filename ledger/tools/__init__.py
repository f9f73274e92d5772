"""The tools on top of the core: run folders, checks, compare and diff,
forecasts, the importer, the report, the pytest plugin, the Python API and the
CLI. Nothing below (``ledger.domain``, ``ledger.pricing``,
``ledger.application``, the stores, ``scenarios``, ``projections``) imports
from here (import-linter, pyproject.toml). ``ledger.api`` and
``ledger.testing`` are the documented public import paths of ``api`` and
``testing``: small facades that re-export their public names."""
