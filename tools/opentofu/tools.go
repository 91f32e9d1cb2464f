//go:build tools

// Package tools pins OpenTofu (cmd/tofu), so the provider's examples and tests can be run against
// tofu as well as terraform.
//
// go.mod repeats OpenTofu's own replace of github.com/hashicorp/hcl/v2 by its fork
// github.com/opentofu/hcl/v2: replace directives of a dependency are ignored, and tofu does not
// build against upstream hcl. Its godebug block is repeated for the same reason (only the main
// module's godebug settings apply), so the binary behaves like an OpenTofu release build.
//
// Build with -ldflags "-X 'github.com/opentofu/opentofu/version.dev=no'" (as OpenTofu's release
// builds do): without it, tofu reports its version as 1.12.6-dev.
package tools

import (
	_ "github.com/opentofu/opentofu/cmd/tofu"
)
