#!/usr/bin/env bash
# Sets up the environment and the linters' tools, then runs the linters and the whole test suite. The app-database
# tests need a real MariaDB server (they start their own on a private data directory and a
# loopback port): Debian's mariadb-server is installed first when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/sbin/mariadbd ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mariadb-server
fi
bash scripts/setup.sh
bash scripts/tools.sh   # actionlint for the workflow lint tests
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
