package backups

import (
	"fmt"
	"strings"
)

// RefusalError lists every problem found before anything was created.
type RefusalError struct{ Problems []error }

func (e *RefusalError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (e *RefusalError) Unwrap() []error { return e.Problems }

// StalledError is a wait for a backup that ended (its timeout) while a volume of it was stalled.
type StalledError struct {
	Volume string // which, and since when (Progress.Stalled)
	Err    error  // why the wait ended
}

func (e *StalledError) Error() string {
	return e.Volume + ": its node-agent accepted it and never started it. Velero 1.18's node-agent can lose track of its " +
		"data-path pods (after an API server restart): restart it (kubectl -n <velero namespace> delete pod -l name=node-agent) " +
		"and make the backup again (" + e.Err.Error() + ")"
}

func (e *StalledError) Unwrap() error { return e.Err }

// FailedError is a backup or restore that did not do what it must, with Velero's reasons.
type FailedError struct {
	// Kind is "backup" or "restore", Name the Velero object's.
	Kind, Name string
	Problems   []string
	Reasons    []string
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s failed:\n  - %s", e.Kind, e.Name, strings.Join(e.Problems, "\n  - "))
	if len(e.Reasons) > 0 {
		fmt.Fprintf(&b, "\nVelero's reasons (from its results and log in the bucket):\n  - %s", strings.Join(e.Reasons, "\n  - "))
	}
	fmt.Fprintf(&b, "\nMore: velero %[1]s describe %[2]s --details; velero %[1]s logs %[2]s", e.Kind, e.Name)
	return b.String()
}

func validationErrors(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + strings.Join(errs, "; ")
}

// failureReason quotes why Velero failed an object as a whole (status.failureReason), which it
// sets when it fails before it writes results: the only account of such a failure.
func failureReason(reason string) string {
	if reason == "" {
		return ""
	}
	return "; Velero's reason: " + reason
}

// Argument is the argument of a request that a problem is about, so that the caller can point
// at it (the provider underlines that attribute).
type Argument string

const (
	ArgumentName            Argument = "name"
	ArgumentNamespace       Argument = "namespace"
	ArgumentLocation        Argument = "location"
	ArgumentBackup          Argument = "backup"
	ArgumentSourceNamespace Argument = "source namespace"
	ArgumentTargetNamespace Argument = "target namespace"
	// ArgumentScratchNamespace is a drill's target namespace.
	ArgumentScratchNamespace Argument = "scratch namespace"
	// ArgumentComponents is about one component: ArgumentError.Component names it.
	ArgumentComponents Argument = "components"
)

// ArgumentError is a problem with one argument of a request.
type ArgumentError struct {
	Argument  Argument
	Component string // for ArgumentComponents
	Err       error
}

func (e *ArgumentError) Error() string { return e.Err.Error() }

func (e *ArgumentError) Unwrap() error { return e.Err }

func argumentError(arg Argument, format string, args ...any) error {
	return &ArgumentError{Argument: arg, Err: fmt.Errorf(format, args...)}
}
