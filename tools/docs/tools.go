//go:build tools

// Package tools pins tfplugindocs, which renders docs/ from the provider's schema,
// templates/ and examples/ (make generate).
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
