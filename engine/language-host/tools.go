//go:build tools

// Package languagehost pins the Python language host (pulumi-language-python). The Go module
// proxy this project builds from serves the host's own module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) at no version; the only
// served source of it is github.com/pulumi/pulumi/sdk/v3 up to v3.68.0, where it was still a
// package of the sdk module. pkg/v3 (the CLI) needs a newer sdk/v3, so the host is a separate
// module (docs/engine.md).
package languagehost

import _ "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
