package strategy

import (
	"embed"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// scriptData is what the dump and restore script templates see. Every value
// that ends up in a script is either fixed by this package or shell-quoted:
// database names and paths come from the driver file and the pod spec.
type scriptData struct {
	Component string
	// Dir is the dump directory in the container.
	Dir string
	// Marker is the "dump complete" marker, relative to Dir.
	Marker string
	// Dumps are the database dumps, in the order they are written.
	Dumps []dumpFile
	// Files are every file Marker lists: Dumps and any extra file.
	Files []string
	// Databases are the databases listed in the driver file.
	Databases []string
	// DefaultDatabase is true when a dump holds the kind's default database,
	// which the script resolves from the container's environment.
	DefaultDatabase bool
	// ReadyWait is how many seconds a restore waits for the database.
	ReadyWait int
	// Dumping is true for a dump script, false for a restore script.
	Dumping bool
	// Backup is the backup the dump is made for, or restored from.
	Backup string
	// Schedule, for a dump made by a Velero Schedule's backups (Backup is then
	// empty), is the identity's start; the dump adds the run (ScheduleRunPrefix).
	Schedule string
	// ScheduleRuns, for a restore, is the pattern of every schedule's run identity.
	ScheduleRuns string
	// Identity is the file that names Backup in the dump directory, relative to Dir.
	Identity string
	// Recorded are, for a restore, the markers of the dumps Backup recorded in its log, by pod.
	Recorded []recordedDump
	// Info is the file in which the dump records how it was taken, relative
	// to Dir; empty for kinds that write none. Files lists it.
	Info string
	// Loaded is, for neo4j, the file in Dir that names the backup whose
	// dumps the restore's init container has loaded.
	Loaded string
	// InitContainer is the name of neo4j's restore init container.
	InitContainer string
}

// recordedDump is the marker a backup's log recorded for the dump in one pod.
type recordedDump struct {
	Pod    string
	Marker string
}

// ReportPrefix starts every report line; see ParseDumpReports.
func (d scriptData) ReportPrefix() string { return ReportPrefix }

// MarkerTmp is where the marker is written before it is renamed into place.
func (d scriptData) MarkerTmp() string {
	return d.Marker + ".tmp"
}

// InfoTmp is where the info file is written before it is renamed into place.
func (d scriptData) InfoTmp() string {
	return d.Info + ".tmp"
}

// LoadOrder is the order a restore replays the dumps in: neo4j's system
// database (users, roles, the database registry) before the others.
func (d scriptData) LoadOrder() []dumpFile {
	ordered := slices.Clone(d.Dumps)
	slices.SortStableFunc(ordered, func(a, b dumpFile) int {
		switch {
		case a.Database == "system" && b.Database != "system":
			return -1
		case b.Database == "system" && a.Database != "system":
			return 1
		}
		return 0
	})
	return ordered
}

func (p *Plan) scriptData(dumping bool, backup string) scriptData {
	data := scriptData{
		Dumping:   dumping,
		Backup:    backup,
		Identity:  identityFile(p),
		Component: p.Component,
		Dir:       p.dumpDir(),
		Marker:    markerName(p.Kind),
		Dumps:     p.dumps,
		Files:     p.fileNames(),
		Databases: p.backup.Databases,
		ReadyWait: int(p.readyWait().Seconds()),
	}
	if slices.Contains(p.extraFiles, infoFile(p.Kind)) {
		data.Info = infoFile(p.Kind)
	}
	if p.Kind == driverspec.KindNeo4j {
		data.Loaded = neo4jLoadedFile
		data.InitContainer = neo4jInitContainerName
	}
	for _, d := range p.dumps {
		if d.Database == "" {
			data.DefaultDatabase = true
		}
	}
	return data
}

// scriptFiles are the scripts the hooks and the checksum command run, as
// text/template files: the files directly in scripts/ are shared by every
// database kind, scripts/<kind>/ holds a kind's dump.sh and restore.sh and
// the parts only they share (and, as *.js, the scripts they hand to a
// database shell). Each file is a template named by its base name.
//
//go:embed scripts
var scriptFiles embed.FS

// kindScripts are the script templates of each database kind: the shared
// files and the kind's own. A kind's file must not reuse a shared file's
// name, which it would replace; extra-cleanup.sh, which cleanup.sh leaves
// empty, is the one a kind may fill in.
var kindScripts = parseKindScripts()

func parseKindScripts() map[driverspec.Kind]*template.Template {
	scripts := map[driverspec.Kind]*template.Template{}
	for _, kind := range driverspec.Kinds() {
		if !kind.IsDatabase() {
			continue
		}
		t := template.New(string(kind)).Funcs(template.FuncMap{"q": shellQuote})
		patterns := []string{"scripts/*.sh", "scripts/" + string(kind) + "/*.sh"}
		// ParseFS refuses a pattern that matches nothing.
		if js, _ := fs.Glob(scriptFiles, "scripts/"+string(kind)+"/*.js"); len(js) > 0 {
			patterns = append(patterns, "scripts/"+string(kind)+"/*.js")
		}
		scripts[kind] = template.Must(t.ParseFS(scriptFiles, patterns...))
	}
	return scripts
}

func (p *Plan) dumpScript(backup, schedule string) string {
	data := p.scriptData(true, backup)
	if schedule != "" {
		data.Schedule = ScheduleRunPrefix(schedule)
	}
	return p.render("dump.sh", data)
}

// restoreScript replays the dump of backup; recorded are the markers its log holds, by pod.
func (p *Plan) restoreScript(backup string, recorded map[string]string) string {
	data := p.scriptData(false, backup)
	data.ScheduleRuns = ScheduleRunPrefix("*") + "*"
	for _, pod := range slices.Sorted(maps.Keys(recorded)) {
		data.Recorded = append(data.Recorded, recordedDump{Pod: pod, Marker: recorded[pod]})
	}
	return p.render("restore.sh", data)
}

// restoreCheckScript checks, in the restored server's container, that
// neo4j's init container loaded backup's dumps.
func (p *Plan) restoreCheckScript(backup string) string {
	return p.render("restore-check.sh", p.scriptData(false, backup))
}

// render executes the script template name of p's kind with data.
func (p *Plan) render(name string, data any) string {
	var b strings.Builder
	if err := kindScripts[p.Kind].ExecuteTemplate(&b, name, data); err != nil {
		// The templates are fixed and their data is plain strings: an error
		// is a bug in this package, which the tests catch.
		panic("strategy: rendering the " + string(p.Kind) + " script " + name + ": " + err.Error())
	}
	return b.String()
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
