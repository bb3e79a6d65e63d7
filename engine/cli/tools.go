//go:build tools

// Package cli pins the Pulumi CLI that scripts/setup.sh builds into .engine/bin/pulumi.
// The version (the require of github.com/pulumi/pulumi/pkg/v3 in go.mod) is the project's one
// engine version: pyproject's `pulumi==` pin and the workflows' `pulumi-version:` must equal it
// (tests/test_engine_version.py).
package cli

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
