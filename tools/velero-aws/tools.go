//go:build tools

// Package tools pins the Velero AWS plugin binary built from this module.
package tools

import (
	_ "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws"
)
