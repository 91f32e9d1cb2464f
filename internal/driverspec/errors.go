package driverspec

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a driver file. Parse reports every problem
// it finds, so that a caller can show one diagnostic per problem.
type Problem struct {
	// Component is the component the problem is in; empty for problems with
	// the file as a whole (YAML syntax, metadata, spec).
	Component string
	// Field is the path of the offending key: relative to the component
	// (for example "backup.volumes[1]") or, for file-level problems, from the
	// top of the file (for example "spec.components"). Empty for YAML syntax
	// errors.
	Field string
	// Line and Column are 1-based. Line is always set; Column is zero when
	// the YAML parser does not report one.
	Line   int
	Column int
	// Message says what is wrong and how to fix it. It names Field.
	Message string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Component != "" {
		fmt.Fprintf(&b, "component %q: ", p.Component)
	}
	b.WriteString(p.Message)
	switch {
	case p.Column > 0:
		fmt.Fprintf(&b, " (line %d, column %d)", p.Line, p.Column)
	case p.Line > 0:
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// Error is what Parse and ParseFile return for an invalid driver file. It
// holds at least one Problem, ordered by position in the file.
type Error struct {
	// File is the path given to ParseFile; empty for Parse.
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, problem := range e.Problems {
		lines[i] = problem.Error()
		if e.File != "" {
			lines[i] = e.File + ": " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each Problem to errors.As.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, problem := range e.Problems {
		errs[i] = problem
	}
	return errs
}
