#!/usr/bin/env bash
# Sets up the environment and the linters' tools, then runs the linters and the whole test suite. The app-database
# tests need a real MariaDB server (they start their own on a private data directory and a
# loopback port): Debian's mariadb-server is installed first when missing, and so are Debian's
# chromium, which the form's browser tests drive (tests/test_form_browser.py), and
# openssh-server, whose sshd the app commands' ssh tests start on 127.0.0.1
# (tests/test_runner_ssh.py).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
bash scripts/setup.sh
bash scripts/tools.sh   # actionlint for the workflow lint tests
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
