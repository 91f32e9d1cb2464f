package driverspec

import (
	"errors"
	"os"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// FuzzParse checks that Parse never panics, that a successful parse upholds
// what the rest of the provider relies on, and that a failed one explains
// itself with positions.
func FuzzParse(f *testing.F) {
	sample, err := os.ReadFile(sampleDriverPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, test := range validCases {
		f.Add([]byte(test.yaml))
	}
	for _, test := range errorCases {
		// Huge seeds only slow the mutator down; the size limit has its own test.
		if len(test.yaml) < 64<<10 {
			f.Add([]byte(test.yaml))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		driver, err := Parse(data)
		if err != nil {
			checkError(t, driver, err)
		} else {
			checkDriver(t, driver)
		}
		// The same input must give the same answer.
		again, errAgain := Parse(data)
		if (err == nil) != (errAgain == nil) || (err != nil && err.Error() != errAgain.Error()) {
			t.Fatalf("Parse is not deterministic: %v, then %v", err, errAgain)
		}
		if err == nil && len(again.Components) != len(driver.Components) {
			t.Fatalf("Parse is not deterministic: %d components, then %d", len(driver.Components), len(again.Components))
		}
	})
}

func checkError(t *testing.T, driver *Driver, err error) {
	t.Helper()
	if driver != nil {
		t.Fatalf("Parse returned a driver together with %v", err)
	}
	parseErr, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("error is %T, want *Error: %v", err, err)
	}
	if len(parseErr.Problems) == 0 {
		t.Fatal("*Error without problems")
	}
	for i, problem := range parseErr.Problems {
		if problem.Line < 1 || problem.Column < 0 || problem.Message == "" {
			t.Fatalf("problem without a position or message: %+v", problem)
		}
		if i > 0 {
			previous := parseErr.Problems[i-1]
			if previous.Line > problem.Line || (previous.Line == problem.Line && previous.Column > problem.Column) {
				t.Fatalf("problems out of file order: %+v before %+v", previous, problem)
			}
		}
	}
}

func checkDriver(t *testing.T, driver *Driver) {
	t.Helper()
	if driver == nil || driver.Name == "" || driver.Version == "" || len(driver.Components) == 0 {
		t.Fatalf("successful parse with missing parts: %+v", driver)
	}
	names := driver.ComponentNames()
	if !slices.IsSorted(names) || len(names) != len(driver.Components) {
		t.Fatalf("ComponentNames() = %v for %d components", names, len(driver.Components))
	}
	for name, component := range driver.Components {
		if component.Name != name || name == "" {
			t.Fatalf("component %q has Name %q", name, component.Name)
		}
		for key, value := range component.Selector {
			if len(validation.IsQualifiedName(key)) > 0 || len(validation.IsValidLabelValue(value)) > 0 {
				t.Fatalf("component %q: invalid label %q=%q", name, key, value)
			}
		}
		checkBackup(t, name, component)
	}
}

func checkBackup(t *testing.T, name string, component Component) {
	t.Helper()
	backup := component.Backup
	if backup.Kind != "" && !backup.Kind.Valid() {
		t.Fatalf("component %q: invalid kind %q", name, backup.Kind)
	}
	seen := map[string]bool{}
	for _, volume := range backup.Volumes {
		if seen[volume] || len(validation.IsDNS1123Label(volume)) > 0 {
			t.Fatalf("component %q: duplicate or invalid volume %q in %v", name, volume, backup.Volumes)
		}
		seen[volume] = true
	}
	if backup.Container != "" && len(validation.IsDNS1123Label(backup.Container)) > 0 {
		t.Fatalf("component %q: invalid container %q", name, backup.Container)
	}
	if len(backup.Databases) > 0 && !backup.Kind.IsDatabase() {
		t.Fatalf("component %q: databases %v for kind %q", name, backup.Databases, backup.Kind)
	}
	if (len(backup.BackupCommand) > 0 || len(backup.RestoreCommand) > 0) && backup.Kind != KindAction {
		t.Fatalf("component %q: commands for kind %q", name, backup.Kind)
	}
	if backup.Kind.RunsCommands() != (backup.Timeout != 0) || (backup.Timeout != 0 && (backup.Timeout < minTimeout || backup.Timeout > maxTimeout)) {
		t.Fatalf("component %q: timeout %s for kind %q", name, backup.Timeout, backup.Kind)
	}
	if backup.Kind.IsDatabase() && len(backup.Volumes) > 1 {
		t.Fatalf("component %q: kind %q with volumes %v", name, backup.Kind, backup.Volumes)
	}
	if !backup.Enabled {
		return
	}
	if !backup.Kind.Valid() {
		t.Fatalf("component %q: enabled without a valid kind", name)
	}
	if len(component.Selector) == 0 {
		t.Fatalf("component %q: enabled without a selector", name)
	}
	switch {
	case backup.Kind == KindDisk && len(backup.Volumes) == 0:
		t.Fatalf("component %q: disk without volumes", name)
	case backup.Kind.IsDatabase() && len(backup.Volumes) != 1:
		t.Fatalf("component %q: kind %q with volumes %v", name, backup.Kind, backup.Volumes)
	case backup.Kind == KindAction && (backup.Container == "" || len(backup.BackupCommand) == 0 || backup.BackupCommand[0] == ""):
		t.Fatalf("component %q: action without container or command: %+v", name, backup)
	}
}
