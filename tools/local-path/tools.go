//go:build tools

// Package tools pins the local-path-provisioner built from this module: the local stack's dynamic
// provisioner of persistent volumes.
package tools

import (
	_ "github.com/rancher/local-path-provisioner"
)
