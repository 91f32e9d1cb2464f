// Package acctest is the one gate of every test that needs the local stack or this machine's root:
// without TF_ACC such a test skips, so `go test ./...` passes anywhere; with TF_ACC (make test and
// make testacc set it) it runs, and fails when what it needs is missing. Suites that disturb the
// stack or prove its teardown have their own switch on top, because they must run alone.
package acctest

import (
	"os"
	"testing"
)

// Enabled reports whether acceptance tests run (TF_ACC is set, as terraform-plugin-testing reads it).
func Enabled() bool { return os.Getenv("TF_ACC") != "" }

// Gate skips t unless acceptance tests run.
func Gate(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("acceptance test: needs the local stack; runs under make test, or make testacc (TF_ACC=1) with the stack up")
	}
}

// Switch skips t unless acceptance tests run and the environment variable name is set as well:
// for suites that must run alone (make test sets name for them).
func Switch(t testing.TB, name, why string) {
	t.Helper()
	Gate(t)
	if os.Getenv(name) == "" {
		t.Skipf("%s: runs only with %s=1 (make test sets it when it runs this suite alone)", why, name)
	}
}

// RequireRoot fails t unless it runs as root (the stack's network and processes need it).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test changes network namespaces, routes and processes: run it as root")
	}
}
