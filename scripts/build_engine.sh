#!/usr/bin/env bash
# Builds the Pulumi engine into .engine/bin/ from the two pinned Go modules under engine/: the CLI
# (engine/cli, github.com/pulumi/pulumi/pkg/v3) and the Python language host (engine/language-host,
# github.com/pulumi/pulumi/sdk/v3 v3.68.0, the last served source of it; docs/engine.md), plus the
# two launchers a CLI distribution ships. Rebuilt only when a go.mod/go.sum changes (the stamp
# holds their hash); Go's build cache makes a rebuild after a pin change incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.engine/bin
stamp=.engine/stamp
# The one place the engine version lives: the CLI module's require of pkg/v3.
version=$(awk '$1 == "require" && $2 == "github.com/pulumi/pulumi/pkg/v3" {print $3}' engine/cli/go.mod)
if [ -z "$version" ]; then
  echo "engine/cli/go.mod: no 'require github.com/pulumi/pulumi/pkg/v3 <version>' line" >&2
  exit 1
fi
want=$(cat engine/cli/go.mod engine/cli/go.sum engine/language-host/go.mod engine/language-host/go.sum \
  | sha256sum | cut -d' ' -f1)
if [ -x "$out/pulumi" ] && [ -x "$out/pulumi-language-python" ] && [ -f "$stamp" ] \
   && [ "$(cat "$stamp")" = "$want" ]; then
  echo "engine ready: $out/pulumi $version (pin unchanged)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "the engine needs Go (https://go.dev/dl/) to build $out/pulumi $version" >&2
  exit 1
fi
mkdir -p "$out"
log=.engine/build.log
start=$(date +%s)
echo "building the Pulumi engine $version into $out (a few minutes the first time; log: $log)"
# The CLI prints the version set here (Pulumi's own builds set it the same way); the Automation
# API parses it (sdk/go/common/version/version.go: `var Version string`).
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
if ! {
  (cd engine/language-host && go build -o "../../$out/" -ldflags "$ldflags" \
     github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python) &&
  (cd engine/cli && go build -o "../../$out/" -ldflags "$ldflags" \
     github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
} >"$log" 2>&1; then
  cat "$log" >&2
  echo "engine build failed (log above, also in $log)" >&2
  exit 1
fi
# The launchers are plain files of the sdk module at the CLI's version.
sdk_dir=$(cd engine/cli && go mod download -json "github.com/pulumi/pulumi/sdk/v3@$version" \
  | awk -F'"' '$2 == "Dir" {print $4}')
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$out/"
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$out/"
echo "$want" >"$stamp"
echo "engine built: $out/pulumi $("$out/pulumi" version) in $(( $(date +%s) - start )) s"
