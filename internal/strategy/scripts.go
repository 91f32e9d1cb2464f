package strategy

import (
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
}

// MarkerTmp is where the marker is written before it is renamed into place.
func (d scriptData) MarkerTmp() string {
	return d.Marker + ".tmp"
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

func (p *Plan) scriptData(dumping bool) scriptData {
	data := scriptData{
		Dumping:   dumping,
		Component: p.Component,
		Dir:       p.dumpDir(),
		Marker:    markerName(p.Kind),
		Dumps:     p.dumps,
		Files:     p.fileNames(),
		Databases: p.backup.Databases,
		ReadyWait: int(p.readyWait().Seconds()),
	}
	for _, d := range p.dumps {
		if d.Database == "" {
			data.DefaultDatabase = true
		}
	}
	return data
}

func (p *Plan) dumpScript() string {
	return p.render(dumpTemplates[p.Kind], p.scriptData(true))
}

func (p *Plan) restoreScript() string {
	return p.render(restoreTemplates[p.Kind], p.scriptData(false))
}

func (p *Plan) render(t *template.Template, data scriptData) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		// The templates are fixed and their data is plain strings: an error
		// is a bug in this package, which the tests catch.
		panic("strategy: rendering the " + string(p.Kind) + " script: " + err.Error())
	}
	return b.String()
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var (
	dumpTemplates = map[driverspec.Kind]*template.Template{
		driverspec.KindPostgres: parseScript("postgres-dump", postgresDump),
		driverspec.KindMariaDB:  parseScript("mariadb-dump", mariadbDump),
		driverspec.KindMongoDB:  parseScript("mongodb-dump", mongodbDump),
		driverspec.KindNeo4j:    parseScript("neo4j-dump", neo4jDump),
	}
	restoreTemplates = map[driverspec.Kind]*template.Template{
		driverspec.KindPostgres: parseScript("postgres-restore", postgresRestore),
		driverspec.KindMariaDB:  parseScript("mariadb-restore", mariadbRestore),
		driverspec.KindMongoDB:  parseScript("mongodb-restore", mongodbRestore),
		driverspec.KindNeo4j:    parseScript("neo4j-restore", neo4jRestore),
	}
)

func parseScript(name, text string) *template.Template {
	t := template.New(name).Funcs(template.FuncMap{"q": shellQuote})
	template.Must(t.Parse(commonTemplates))
	return template.Must(t.Parse(text))
}

// commonTemplates are the parts every dump and restore script shares.
const commonTemplates = `
{{- define "prelude" -}}
set -eu
if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi
umask 077
styrmin_dir={{q .Dir}}
note() { printf 'styrmin %s: %s\n' {{q .Component}} "$*" >&2; }
fail() { note "error: $*"; exit 1; }
# env_value NAME prints $NAME or, when NAME is not set, the content of the
# file that NAME_FILE names.
env_value() {
	eval "styrmin_value=\${$1:-}"
	if [ -n "$styrmin_value" ]; then
		printf '%s' "$styrmin_value"
		return 0
	fi
	eval "styrmin_file=\${$1_FILE:-}"
	if [ -n "$styrmin_file" ]; then
		[ -r "$styrmin_file" ] || fail "$1_FILE names $styrmin_file, which cannot be read"
		cat -- "$styrmin_file"
	fi
}
# first_env NAME... prints the value of the first NAME that env_value finds.
first_env() {
	for styrmin_name in "$@"; do
		styrmin_value=$(env_value "$styrmin_name") || return 1
		if [ -n "$styrmin_value" ]; then
			printf '%s' "$styrmin_value"
			return 0
		fi
	done
}
{{end}}

{{- define "cleanup" -}}
cleanup() {
	:
	{{- if .Dumping}}
	{{- range .Files}}
	rm -f -- "$styrmin_dir"/{{q (print . ".tmp")}}
	{{- end}}
	rm -f -- "$styrmin_dir"/{{q .MarkerTmp}}
	{{- end}}
	{{- block "extra-cleanup" .}}{{end}}
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
{{end}}

{{- define "dump-begin" -}}
mkdir -p -- "$styrmin_dir"
cd -- "$styrmin_dir"
# Velero does not kill a hook that timed out: never let two dumps write here at once.
if command -v flock >/dev/null 2>&1; then
	exec 9>>.lock
	flock -n 9 || fail "an earlier dump into $styrmin_dir is still running"
fi
{{template "cleanup" .}}
# The old marker goes first: until the new dump is complete, none claims it is.
rm -f -- {{q .Marker}}
{{end}}

{{- define "dump-end" -}}
sync
{{- range .Files}}
mv -f -- {{q (print . ".tmp")}} {{q .}}
{{- end}}
sha256sum --{{range .Files}} {{q .}}{{end}} >{{q .MarkerTmp}}
sync
mv -f -- {{q .MarkerTmp}} {{q .Marker}}
sync
note "dump complete in $styrmin_dir:"
cat -- {{q .Marker}} >&2
{{end}}

{{- define "restore-begin" -}}
{{template "cleanup" .}}
cd -- "$styrmin_dir" 2>/dev/null || fail "$styrmin_dir does not exist: the backup holds no dump of this component"
[ -f {{q .Marker}} ] || fail "$styrmin_dir/{{.Marker}} is missing: the dump in this backup never completed; refusing to restore it"
sha256sum -c -- {{q .Marker}} >&2 || fail "the files in $styrmin_dir do not match {{.Marker}} (see above): the dump is damaged or incomplete; refusing to restore it"
# listed FILE: whether the marker vouches for FILE.
listed() {
	while read -r styrmin_sum styrmin_name; do
		[ "$styrmin_name" != "$1" ] || return 0
	done <{{q .Marker}}
	return 1
}
{{- range .Files}}
listed {{q .}} || fail "{{.}} is not listed in {{$.Marker}}: the dump was taken with other settings (backup.databases?); refusing to restore"
{{- end}}
# wait_ready WHAT COMMAND...: run COMMAND every second until it succeeds, for at most {{.ReadyWait}}s.
wait_ready() {
	styrmin_what=$1
	shift
	styrmin_waited=0
	until "$@" >/dev/null 2>&1; do
		[ "$styrmin_waited" -lt {{.ReadyWait}} ] || fail "$styrmin_what did not accept connections within {{.ReadyWait}}s"
		sleep 1
		styrmin_waited=$((styrmin_waited + 1))
	done
}
{{end}}
`
