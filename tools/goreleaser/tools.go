//go:build tools

// Package tools pins goreleaser, which builds the release archives, their SHA256SUMS and the
// registry manifest (make release-snapshot; .goreleaser.yml).
package tools

import (
	_ "github.com/goreleaser/goreleaser/v2"
)
