#!/usr/bin/env bash
# Regenerates .github/workflows/requirements.lock, the constraints every install uses
# (scripts/setup.sh, the workflows, a reseller's repository): pip-compile of pyproject.toml with
# the `test` extra. pip-tools is installed into .venv on first use (a maintainer's tool only).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip show pip-tools >/dev/null 2>&1 ||
  .venv/bin/python -m pip install --disable-pip-version-check -q pip-tools
CUSTOM_COMPILE_COMMAND="scripts/lock.sh" .venv/bin/pip-compile -q --strip-extras --extra test \
  --no-emit-index-url --no-emit-find-links -o .github/workflows/requirements.lock pyproject.toml
