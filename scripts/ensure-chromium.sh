#!/usr/bin/env bash
# Make sure a headless Chromium is here: the browser tests (tests/browser/) render
# the HTML report and the compare page in it, and `make screenshots` draws the
# README's pictures with it. Installs Debian's `chromium` package when it is
# missing and we are root, as scripts/ensure-postgresql.sh does for PostgreSQL.
# The tests drive it through the PyPI `playwright` package pointed at this
# executable: no browser is ever downloaded (`playwright install` is never run).
set -euo pipefail

have_chromium() {
  [ -n "${CREDIT_LEDGER_CHROMIUM:-}" ] && [ -x "${CREDIT_LEDGER_CHROMIUM}" ] && return 0
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}

if have_chromium; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # fonts-dejavu-core: one font family with every glyph the pages use (→, −, ·),
  # so text is measured the same on every machine.
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    chromium fonts-dejavu-core
else
  echo "warning: Chromium is not installed and cannot be installed here (needs root and" \
    "apt-get): the browser tests will fail; install the 'chromium' package, point" \
    "CREDIT_LEDGER_CHROMIUM at a Chromium executable, or set" \
    "CREDIT_LEDGER_BROWSER_REQUIRED=0 outside CI to skip them" >&2
fi
