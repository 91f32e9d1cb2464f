package strategy

import (
	"fmt"
	"strconv"
	"strings"
)

// A dump proves itself through the backup it was made for, not through the live pod: the dump
// script writes the backup's name into the dump directory (the identity file, which the marker
// vouches for with the dumps), then prints one report line per file the marker lists on stdout.
// Velero writes a hook's stdout into the backup's log, which it uploads to the bucket with the
// backup, so the log of a backup holds exactly the dumps that backup's hooks made: a dump that an
// earlier backup left in the volume, or a hook that Velero replaced by a pod's own annotation,
// reports nothing for this backup.

// ReportPrefix starts every report line a dump prints.
const ReportPrefix = "styrmin-dump"

// DumpReport is one report line: a file of the dump that a backup's hook made in a pod.
type DumpReport struct {
	Backup    string
	Component string
	// Pod is the pod's host name, which is its name unless the pod template sets a hostname.
	Pod    string
	File   string
	Bytes  int64
	SHA256 string
}

// ParseDumpReports reads the report lines out of a hook's stdout; other lines are ignored.
func ParseDumpReports(stdout string) []DumpReport {
	var reports []DumpReport
	for _, line := range strings.Split(stdout, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != ReportPrefix {
			continue
		}
		values := map[string]string{}
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(f, "="); ok {
				values[k] = v
			}
		}
		bytes, err := strconv.ParseInt(values["bytes"], 10, 64)
		if err != nil || values["backup"] == "" || values["file"] == "" || len(values["sha256"]) != 64 {
			continue
		}
		reports = append(reports, DumpReport{Backup: values["backup"], Component: values["component"], Pod: values["pod"],
			File: values["file"], Bytes: bytes, SHA256: values["sha256"]})
	}
	return reports
}

// identityFile is the file that names the backup a dump was made for.
func identityFile(p *Plan) string { return string(p.Kind) + ".backup" }

// markerFiles are the files the marker lists, in its order: the dump files, then the identity.
func (p *Plan) markerFiles() []string {
	return append(p.fileNames(), identityFile(p))
}

// RecordedMarker is what the marker of a complete dump holds when it lists exactly the reported
// files, in the marker's order: sha256sum's "<sha256>  <file>" lines. reports must be one pod's
// reports for one backup (it filters nothing). It fails when a file the plan's dump writes was
// not reported.
func (p *Plan) RecordedMarker(reports []DumpReport) (string, error) {
	sums := map[string]string{}
	for _, r := range reports {
		sums[r.File] = r.SHA256
	}
	var lines, missing []string
	for _, file := range p.markerFiles() {
		sum, ok := sums[file]
		if !ok {
			missing = append(missing, file)
			continue
		}
		lines = append(lines, sum+"  "+file)
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("no report of %s", strings.Join(missing, ", "))
	}
	return strings.Join(lines, "\n"), nil
}

// DumpFileNames are the dump files a report of this plan's dump holds besides the identity, in
// the order they are written.
func (p *Plan) DumpFileNames() []string { return p.fileNames() }
