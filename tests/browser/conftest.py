"""Headless Chromium for the browser tests: one browser for the whole session.

The browser is Debian's ``chromium``, which ``make test`` installs when it is
missing (scripts/ensure-chromium.sh), driven through the PyPI ``playwright``
client (``ledger.tools.report.browser``). Without it these tests fail, loudly; a
developer without root may set ``CREDIT_LEDGER_BROWSER_REQUIRED=0`` to skip
them instead, except in CI (``CI`` set), where nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ledger.tools.report.browser import Browser, BrowserMissingError, chromium_path

BROWSER_REQUIRED_ENV = "CREDIT_LEDGER_BROWSER_REQUIRED"


def browser_required() -> bool:
    """In CI always; elsewhere unless CREDIT_LEDGER_BROWSER_REQUIRED=0."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        return True
    return os.environ.get(BROWSER_REQUIRED_ENV, "1").strip() != "0"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    try:
        executable = chromium_path()
        with Browser(executable) as browser:
            yield browser
    except BrowserMissingError as exc:
        message = (
            f"{exc}. `make test` installs it (scripts/ensure-chromium.sh, as root); without "
            f"root, {BROWSER_REQUIRED_ENV}=0 skips these tests (never in CI)"
        )
        if browser_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
