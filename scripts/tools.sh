#!/usr/bin/env bash
# Builds the linters the tests run on the workflows that are not Python packages: actionlint,
# from its Go module at a pinned version, into .tools/bin/ (idempotent: kept while the pinned
# version is the one installed). zizmor and parliament are Python packages (pyproject.toml
# [test]). Needs Go; the module comes from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONLINT_VERSION=v1.7.12
bin=.tools/bin
mkdir -p "$bin"
stamp="$bin/.actionlint-$ACTIONLINT_VERSION"
if [ ! -x "$bin/actionlint" ] || [ ! -e "$stamp" ]; then
  if ! command -v go >/dev/null; then
    echo "scripts/tools.sh: Go is needed to build actionlint $ACTIONLINT_VERSION" >&2
    exit 1
  fi
  GOBIN="$PWD/$bin" GOFLAGS=-mod=mod go install \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  rm -f "$bin"/.actionlint-*
  touch "$stamp"
fi
