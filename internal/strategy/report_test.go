package strategy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// ParseDumpReports reads a hook's stdout as Velero logs it, whole, and keeps
// only well-formed report lines.
func TestParseDumpReports(t *testing.T) {
	dumpSum, identitySum := strings.Repeat("0123456789abcdef", 4), strings.Repeat("fedcba9876543210", 4)
	line := func(fields string) string { return ReportPrefix + " " + fields }
	stdout := strings.Join([]string{
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum),
		line("component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum),
		line("backup= component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum),
		line("backup=" + testBackup + " component=db pod=db-0 bytes=27 sha256=" + dumpSum),
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum[1:]),
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum + "0"),
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27"),
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27k sha256=" + dumpSum),
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.dump sha256=" + dumpSum),
		"styrmin-dumped backup=" + testBackup + " component=db pod=db-0 file=postgres.dump bytes=27 sha256=" + dumpSum,
		"x" + line("backup="+testBackup+" component=db pod=db-0 file=postgres.dump bytes=27 sha256="+dumpSum),
		"note: " + line("backup="+testBackup+" component=db pod=db-0 file=postgres.dump bytes=27 sha256="+dumpSum),
		"styrmin db: dump complete in /backup/styrmin:",
		"",
		line("backup=" + testBackup + " component=db pod=db-0 file=postgres.backup bytes=26 sha256=" + identitySum),
	}, "\n") + "\n"
	want := []DumpReport{
		{Backup: testBackup, Component: "db", Pod: "db-0", File: "postgres.dump", Bytes: 27, SHA256: dumpSum},
		{Backup: testBackup, Component: "db", Pod: "db-0", File: "postgres.backup", Bytes: 26, SHA256: identitySum},
	}
	if diff := cmp.Diff(want, ParseDumpReports(stdout)); diff != "" {
		t.Errorf("ParseDumpReports (-want +got):\n%s\nstdout:\n%s", diff, stdout)
	}
	if got := ParseDumpReports(""); got != nil {
		t.Errorf("ParseDumpReports of nothing = %+v", got)
	}
}

// RecordedMarker writes the reported files in the marker's order, whatever
// the order of the reports, and fails when one is missing.
func TestRecordedMarker(t *testing.T) {
	pod := testPod("db-0", corev1.PodRunning, []string{"dump"}, testContainer("db", "dump:/backup"))
	plan := resolveOne(t, driverspec.Backup{Enabled: true, Kind: driverspec.KindPostgres, Volumes: []string{"dump"}}, pod)
	sum := func(c string) string { return strings.Repeat(c, 64) }
	report := func(file, sha string) DumpReport {
		return DumpReport{Backup: testBackup, Component: "db", Pod: "db-0", File: file, Bytes: 1, SHA256: sha}
	}
	reports := []DumpReport{
		report("postgres.backup", sum("c")), report("postgres-globals.sql", sum("b")),
		report("postgres.dump", sum("a")), report("unrelated.txt", sum("d")),
	}
	want := sum("a") + "  postgres.dump\n" + sum("b") + "  postgres-globals.sql\n" + sum("c") + "  postgres.backup"
	if got, err := plan.RecordedMarker(reports); err != nil || got != want {
		t.Errorf("RecordedMarker = %q, %v; want %q", got, err, want)
	}
	if got := plan.DumpFileNames(); !cmp.Equal(got, []string{"postgres.dump", "postgres-globals.sql"}) {
		t.Errorf("DumpFileNames = %q", got)
	}

	// A dump without its identity file is one an older version made, or
	// one whose report is incomplete.
	if _, err := plan.RecordedMarker(reports[1:3]); err == nil || !strings.Contains(err.Error(), "no report of postgres.backup") {
		t.Errorf("RecordedMarker without the identity's report: %v", err)
	}
}
