"""Pages rendered in a real headless Chromium: layout checks, screenshots, PDF.

The browser tests (tests/browser/) and ``make screenshots`` (the pictures in
README.md and docs/report.md) go through this one module, so a screenshot is
exactly what the tests check. It drives Debian's ``chromium`` (installed by
scripts/ensure-chromium.sh) through the PyPI ``playwright`` package pointed at
that executable: nothing is downloaded, ``playwright install`` is never run.

``playwright`` is an optional dependency (the ``browser`` extra, installed by
``make install``); only this module imports it, and only when it is used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser as PwBrowser
    from playwright.sync_api import Page

CHROMIUM_ENV = "CREDIT_LEDGER_CHROMIUM"
# Flags that work as root in a container, offline: no sandbox (root), no GPU, and
# none of the background traffic Chromium makes on its own (updates, sync, QUIC).
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--font-render-hinting=none",
)
DESKTOP_WIDTH = 1280
# A4 at 96 px per inch is 794 px wide; the page's @page margin is 12 mm on each side.
A4_CONTENT_WIDTH = 703


class BrowserMissingError(RuntimeError):
    """No Chromium executable, or no playwright package, on this machine."""


def chromium_path() -> str:
    """The Chromium to drive: $CREDIT_LEDGER_CHROMIUM, else chromium on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        if not Path(configured).is_file():
            raise BrowserMissingError(f"{CHROMIUM_ENV}={configured}: no such file")
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissingError(
        "no Chromium on this machine: run scripts/ensure-chromium.sh (installs Debian's "
        f"'chromium' package) or set {CHROMIUM_ENV} to a Chromium executable"
    )


# The layout checks, run in the page. Every piece of rendered text is a box (one per
# line of a text node, from Range.getClientRects); SVG text is one box per element.
LAYOUT_JS = """
(limit) => {
  const boxes = [];
  const visible = (el) => {
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden') return false;
      if (e.tagName.toLowerCase() === 'title') return false;
    }
    return true;
  };
  const describe = (el, text) => {
    const id = el.closest('[id]');
    return `${el.tagName.toLowerCase()}${el.getAttribute('class') ? '.' +
      el.getAttribute('class').split(' ').join('.') : ''} "${text.slice(0, 40)}"` +
      (id ? ` in #${id.id}` : '');
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seenSvgText = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text) continue;
    const parent = node.parentElement;
    if (!parent || !visible(parent)) continue;
    if (parent.closest('svg')) {
      const t = parent.closest('text');
      if (!t || seenSvgText.has(t)) continue;
      seenSvgText.add(t);
      const r = t.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) boxes.push({r, what: describe(t, t.textContent.trim()),
        svg: t.closest('svg')});
      continue;
    }
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) boxes.push({r, what: describe(parent, text), svg: null});
    }
  }
  const overlaps = [];
  const sorted = boxes.slice().sort((a, b) => a.r.left - b.r.left);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j];
      if (b.r.left >= a.r.right - 0.5) break;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 0.5 && h > 1.5) overlaps.push(`${a.what} overlaps ${b.what}`);
    }
  }
  const clipped = [];
  const page = document.documentElement;
  if (page.scrollWidth > limit + 0.5) clipped.push(`the page is ${page.scrollWidth} px wide`);
  for (const b of boxes) {
    if (b.r.left < -0.5 || b.r.right > limit + 0.5) clipped.push(`${b.what} runs past the page`);
    if (b.svg) {
      const s = b.svg.getBoundingClientRect();
      if (b.r.left < s.left - 0.5 || b.r.right > s.right + 0.5 ||
          b.r.top < s.top - 0.5 || b.r.bottom > s.bottom + 0.5) {
        clipped.push(`${b.what} is cut by its chart`);
      }
    }
  }
  for (const e of document.querySelectorAll('body *')) {
    const s = getComputedStyle(e);
    if (!visible(e) || e.closest('svg')) continue;
    if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1) {
      clipped.push(`${describe(e, e.textContent.trim())} scrolls or hides ${
        e.scrollWidth - e.clientWidth} px`);
    }
  }
  return {texts: boxes.length, overlaps, clipped};
}
"""


@dataclass
class Layout:
    texts: int  # text boxes measured
    overlaps: list[str]
    clipped: list[str]


@dataclass
class Rendered:
    """A page loaded in the browser, with what it asked of the network and the console."""

    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def layout(self, width: int) -> Layout:
        found: dict[str, Any] = self.page.evaluate(LAYOUT_JS, width)
        return Layout(int(found["texts"]), list(found["overlaps"]), list(found["clipped"]))

    def foreign_requests(self) -> list[str]:
        """Requests for anything but the page itself."""
        return [r for r in self.requests if r != self.url]


class Browser:
    """One headless Chromium for many pages; use as a context manager."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or chromium_path()
        self._playwright: Any = None
        self._browser: PwBrowser | None = None

    def __enter__(self) -> Browser:
        try:
            from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional extra)
        except ImportError as exc:  # pragma: no cover - the extra is part of `make install`
            raise BrowserMissingError(
                "the playwright package is missing: pip install -e '.[browser]'"
            ) from exc
        self._playwright = sync_playwright().start()
        # Playwright gives each launch a fresh, temporary profile (--user-data-dir).
        self._browser = self._playwright.chromium.launch(
            executable_path=self.executable, args=list(LAUNCH_ARGS), headless=True
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    @contextmanager
    def open(
        self, path: Path, width: int = DESKTOP_WIDTH, print_media: bool = False
    ) -> Iterator[Rendered]:
        """Load ``path`` at ``width`` px; every request but the page's own is refused."""
        assert self._browser is not None, "use Browser() as a context manager"
        context = self._browser.new_context(
            viewport={"width": width, "height": 900}, device_scale_factor=1, offline=True
        )
        try:
            page = context.new_page()
            url = path.resolve().as_uri()
            rendered = Rendered(page, url)
            page.on("request", lambda request: rendered.requests.append(request.url))
            page.on(
                "console",
                lambda message: (
                    rendered.console_errors.append(message.text)
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: rendered.console_errors.append(str(error)))
            page.route(
                "**/*",
                lambda route: route.continue_() if route.request.url == url else route.abort(),
            )
            if print_media:
                page.emulate_media(media="print")
            page.goto(url, wait_until="load")
            yield rendered
        finally:
            context.close()

    def screenshot(
        self, html: Path, png: Path, width: int = DESKTOP_WIDTH, selector: str | None = None
    ) -> Path:
        """A PNG of the whole page, or of the first element ``selector`` matches."""
        with self.open(html, width) as rendered:
            png.parent.mkdir(parents=True, exist_ok=True)
            if selector is None:
                rendered.page.screenshot(path=str(png), full_page=True)
            else:
                rendered.page.locator(selector).first.screenshot(path=str(png))
        return png

    def pdf(self, html: Path, pdf: Path) -> bytes:
        """The page printed to A4, as Chromium's print does (the page's @page rules)."""
        with self.open(html, A4_CONTENT_WIDTH, print_media=True) as rendered:
            data: bytes = rendered.page.pdf(
                path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True
            )
        return data
