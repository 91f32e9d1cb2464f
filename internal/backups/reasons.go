package backups

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// maxReasons bounds how many lines of Velero's results and log an error quotes; maxLogLines
// how many hook lines of a log are read to find them.
const (
	maxReasons  = 20
	maxLogLines = 2000
)

func (r Runner) backupReasons(ctx context.Context, b *velerov1.Backup) []string {
	return r.reasons(ctx, b.Spec.StorageLocation, velero.BackupResultsKey(b.Name), velero.BackupLogKey(b.Name))
}

// reasons quotes the errors of a results file and the lines of a log that explain a failed
// hook, reading both from the location's bucket with one client.
func (r Runner) reasons(ctx context.Context, location, resultsKey, logKey string) []string {
	store, err := r.Locations.OpenStore(ctx, location)
	if err != nil {
		return []string{"(results file not readable: " + err.Error() + ")"}
	}
	var reasons []string
	if res, err := store.Results(ctx, resultsKey); err == nil {
		reasons = append(reasons, res.Errors.Lines()...)
	} else {
		reasons = append(reasons, "(results file not readable: "+err.Error()+")")
	}
	if lines, err := store.LogLines(ctx, logKey, mentionsHook, maxLogLines); err == nil {
		reasons = append(reasons, hookReasons(lines)...)
	}
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons], fmt.Sprintf("... and %d more", len(reasons)-maxReasons))
	}
	return reasons
}

// mentionsHook keeps the log lines about hooks, from which hookReasons picks.
func mentionsHook(line string) bool { return strings.Contains(line, "hook") }

// hookReasons picks the lines that explain a failed hook: hook errors, and the non-empty
// stderr of hooks in the pods where one failed (the dump scripts narrate on stderr when all is
// well too, so stderr alone proves nothing).
func hookReasons(lines []string) []string {
	failedPods := map[string]bool{}
	for _, line := range lines {
		if f := logfmt(line); f["level"] == "error" {
			failedPods[f["pod"]] = true
		}
	}
	var reasons []string
	for _, line := range lines {
		f := logfmt(line)
		stderr := strings.TrimSpace(strings.TrimPrefix(f["msg"], "stderr:"))
		switch {
		case f["level"] == "error":
			reasons = append(reasons, hookReason(line))
		case strings.HasPrefix(f["msg"], "stderr: ") && stderr != "" && failedPods[f["pod"]]:
			reasons = append(reasons, hookReason(line))
		}
	}
	return reasons
}

// hookReason shortens a kept log line to what a person needs: which hook, in which pod, and
// what it said (the hook's full command, which Velero logs on every line, is left out).
func hookReason(line string) string {
	f := logfmt(line)
	var b strings.Builder
	b.WriteString("hook")
	if f["hookName"] != "" {
		b.WriteString(" " + f["hookName"])
	}
	if f["pod"] != "" {
		b.WriteString(" in pod " + f["pod"])
	}
	if f["hookContainer"] != "" {
		b.WriteString(" (container " + f["hookContainer"] + ")")
	}
	b.WriteString(": " + strings.TrimSpace(f["msg"]))
	if f["error"] != "" {
		b.WriteString(": " + f["error"])
	}
	return b.String()
}

// logfmt splits a logrus text line (key=value, values quoted when needed) into its fields.
func logfmt(line string) map[string]string {
	fields := map[string]string{}
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		eq := strings.IndexByte(line[i:], '=')
		if eq < 0 {
			break
		}
		key := line[i : i+eq]
		i += eq + 1
		if i < len(line) && line[i] == '"' {
			end := i + 1
			for end < len(line) && line[end] != '"' {
				if line[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(line) {
				end = len(line) - 1
			}
			value, err := strconv.Unquote(line[i : end+1])
			if err != nil {
				value = line[i+1 : end]
			}
			fields[key] = value
			i = end + 1
			continue
		}
		end := strings.IndexByte(line[i:], ' ')
		if end < 0 {
			end = len(line) - i
		}
		fields[key] = line[i : i+end]
		i += end
	}
	return fields
}

// dumpReports reads what the dumps of backup b reported on stdout, which Velero wrote into b's
// log in the bucket, by component and pod. Only reports naming b, or a run of the Schedule that
// made b, count: the log is b's, and a report naming another backup proves nothing about b.
func (r Runner) dumpReports(ctx context.Context, b *velerov1.Backup) (map[string]map[string][]strategy.DumpReport, error) {
	store, err := r.Locations.OpenStore(ctx, b.Spec.StorageLocation)
	if err != nil {
		return nil, err
	}
	lines, err := store.LogLines(ctx, velero.BackupLogKey(b.Name), func(line string) bool {
		return strings.Contains(line, strategy.ReportPrefix)
	}, maxLogLines)
	if err != nil {
		return nil, err
	}
	// A Schedule's backup holds dumps named by the run of the schedule that made them: its log
	// holds only its own hooks' output, so a run named there is this backup's.
	ownRun := func(identity string) bool {
		schedule := b.Labels[velerov1.ScheduleNameLabel]
		return schedule != "" && strings.HasPrefix(identity, strategy.ScheduleRunPrefix(schedule))
	}
	reports := map[string]map[string][]strategy.DumpReport{}
	for _, line := range lines {
		stdout, ok := strings.CutPrefix(logfmt(line)["msg"], "stdout: ")
		if !ok {
			continue
		}
		for _, report := range strategy.ParseDumpReports(stdout) {
			if report.Backup != b.Name && !ownRun(report.Backup) {
				continue
			}
			if reports[report.Component] == nil {
				reports[report.Component] = map[string][]strategy.DumpReport{}
			}
			reports[report.Component][report.Pod] = append(reports[report.Component][report.Pod], report)
		}
	}
	return reports, nil
}
