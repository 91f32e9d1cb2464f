// Package kubetest holds what unit tests with client-go's fake clients share.
package kubetest

import (
	"strings"
	"testing"

	k8stesting "k8s.io/client-go/testing"
)

// Recorder is a fake client that records the requests it received.
type Recorder interface{ Actions() []k8stesting.Action }

// CountActions counts the requests of one verb on one resource that a fake client received.
func CountActions(client Recorder, verb, resource string) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

// ErrorContains fails t unless err is an error holding every fragment.
func ErrorContains(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not contain %q:\n%s", f, err)
		}
	}
}
