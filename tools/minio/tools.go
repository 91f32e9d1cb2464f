//go:build tools

// Package tools pins the MinIO server binary built from this module.
package tools

import (
	_ "github.com/minio/minio"
)
