package provider

import (
	"context"
	"testing"
)

type testKey struct{}

// The context the framework keeps after a call must not keep the request's values, and must be
// cancelled with the request while the call runs.
func TestScopeContext(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), testKey{}, "logger"))
	defer cancelParent()
	scoped, done := scopeContext(parent)
	child, cancelChild := context.WithCancel(scoped) // what the framework does with it
	defer cancelChild()
	if got := child.Value(testKey{}); got != "logger" {
		t.Errorf("during the call: value %v, want the request's", got)
	}
	done()
	if got := child.Value(testKey{}); got != nil {
		t.Errorf("after the call: value %v, want none", got)
	}
	if child.Err() == nil {
		t.Error("after the call: the kept context is not cancelled")
	}

	scoped, done = scopeContext(parent)
	defer done()
	cancelParent()
	<-scoped.Done() // the request's cancellation reaches the call
}
