#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries are here: the storage suites run against a
# real server, which the tests start and stop themselves (tests/conftest.py,
# scripts/pgcluster.py: a throwaway cluster on a free loopback port).
# Installs Debian's `postgresql` package when it is missing and we are root; no
# system cluster is created, nothing is started here.
set -euo pipefail

have_postgresql() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null &&
    compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null
}

if have_postgresql || command -v initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # No system cluster listening on 5432: the tests start and stop their own.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql
else
  echo "warning: PostgreSQL is not installed and cannot be installed here (needs root and" \
    "apt-get): the PostgreSQL tests will fail; install the 'postgresql' package, or set" \
    "CREDIT_LEDGER_PG_REQUIRED=0 outside CI to skip them" >&2
fi
