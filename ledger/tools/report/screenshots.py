"""``make screenshots``: the pictures of README.md and docs/ drawn by the tested code path.

Each page is made as a user makes it (``credit-ledger report --html`` and
``credit-ledger compare --html``, through the CLI), then drawn by the same
headless Chromium and ``ledger.tools.report.browser`` code that the browser tests
check, after checking it the same way: a page with overlapping or cut text is
not pictured.

    python -m ledger.tools.report.screenshots docs
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

from ledger.tools.report.browser import DESKTOP_WIDTH, Browser

ROOT = Path(__file__).resolve().parents[2]
STUDIO = ROOT / "scenarios" / "examples" / "studio-pro-unlimited.yaml"
BUSY = ROOT / "docs" / "examples" / "busy-api-year.yaml"
AGENCY = ROOT / "scenarios" / "examples" / "workload-agency-social.yaml"

# (file in docs/, command that makes the page, the part pictured: a CSS selector or None)
PICTURES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("report-screenshot.png", ("report", str(STUDIO)), "#account-studio"),
    ("report-busy-api.png", ("report", str(BUSY)), "#account-pipeline"),
    ("compare-screenshot.png", ("compare", str(AGENCY)), "main"),
)


def _make_page(folder: Path, command: tuple[str, ...]) -> Path:
    from typer.testing import CliRunner  # noqa: PLC0415 (a tool, not the CLI's import path)

    from ledger.tools.cli.app import app  # noqa: PLC0415

    page = folder / "page.html"
    with contextlib.chdir(folder):
        result = CliRunner().invoke(app, [*command, "--html", str(page)])
    if result.exit_code != 0:
        raise SystemExit(f"credit-ledger {' '.join(command)} failed:\n{result.output}")
    return page


def draw(out: Path) -> list[Path]:
    """Make each page, check its layout, and write its picture into ``out``."""
    written = []
    with Browser() as browser, tempfile.TemporaryDirectory() as scratch:
        for index, (name, command, selector) in enumerate(PICTURES):
            folder = Path(scratch) / str(index)
            folder.mkdir()
            page = _make_page(folder, command)
            with browser.open(page, DESKTOP_WIDTH) as rendered:
                layout = rendered.layout(DESKTOP_WIDTH)
                problems = layout.overlaps + layout.clipped + rendered.console_errors
            if problems:
                raise SystemExit(f"{name}: the page has layout problems:\n" + "\n".join(problems))
            written.append(browser.screenshot(page, out / name, selector=selector))
            print(f"wrote {out / name}")  # noqa: T201 (a make target: this is its output)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    draw(Path(args[0]) if args else ROOT / "docs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
