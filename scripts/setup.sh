#!/usr/bin/env bash
# Creates .venv and installs the provisioner with its test tools. Idempotent; pip's chatter
# goes to .venv/setup.log and is shown only when the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
log=.venv/setup.log
if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install --disable-pip-version-check -e ".[test]" -c .github/workflows/requirements.lock; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup failed (log above, also in $log)" >&2
  exit 1
fi
echo "environment ready: .venv ($(.venv/bin/provisioner --version))"
# The Pulumi engine (CLI + Python language host) from the pinned Go modules under engine/;
# PROVISIONER_SKIP_ENGINE=1 skips it (a machine that only validates and renders).
if [ "${PROVISIONER_SKIP_ENGINE:-}" != 1 ]; then
  bash scripts/build_engine.sh
fi
