package strategy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// scriptVariant is a plan whose scripts are checked as text.
type scriptVariant struct {
	name string
	plan *Plan
	// backup is the Backup the dump is made for and restored from.
	backup string
	// scripts is how many scripts the plan's hooks run that this package
	// writes: none where the driver gives the commands.
	scripts int
	// oddNames is true where the component, the dump directory and a
	// database have names with quotes, $ and ` in them.
	oddNames bool
}

// scriptVariants are plans for every kind that together produce every script
// variant: database kinds with the default databases, one database and
// several, with plain names and with names that need quoting; action with and
// without restore_command; disk.
func scriptVariants() []scriptVariant {
	var variants []scriptVariant
	add := func(name string, b driverspec.Backup, component, dumpDir, backup string, scripts int, oddNames bool) {
		plan := &Plan{Component: component, Kind: b.Kind, DumpDir: dumpDir, backup: b, Timeout: b.Timeout}
		if b.Kind.IsDatabase() {
			plan.dumps, plan.extraFiles = dumpLayout(b)
			plan.Marker = filepath.Join(plan.dumpDir(), markerName(b.Kind))
		}
		variants = append(variants, scriptVariant{name: name, plan: plan, backup: backup, scripts: scripts, oddNames: oddNames})
	}
	// Backup names are DNS subdomains: a schedule's backups are named
	// <schedule>-<timestamp>.
	namings := []struct {
		what, component, dumpDir, database, backup string
		odd                                        bool
	}{
		{"plain names", "db", "/backup", "shop", testBackup, false},
		{"odd names", "odd 'name'", `/mnt/it's "here" $x`, `it's "odd" $(x) ` + "`y`", "nightly.shop-20261130101500", true},
	}
	for _, kind := range driverspec.Kinds() {
		b := driverspec.Backup{Enabled: true, Kind: kind, Volumes: []string{"dump"}, Timeout: time.Minute}
		switch {
		case kind.IsDatabase():
			for _, n := range namings {
				for _, databases := range []struct {
					what string
					list []string
				}{
					{"default databases", nil},
					{"one database", []string{n.database}},
					{"several databases", []string{n.database, "two"}},
				} {
					b.Databases = databases.list
					// The dump, and the restore of one pod and of several;
					// neo4j restores with an init container and an exec hook.
					scripts := 3
					if kind == driverspec.KindNeo4j {
						scripts = 5
					}
					add(fmt.Sprintf("%s, %s, %s", kind, databases.what, n.what), b, n.component, n.dumpDir, n.backup, scripts, n.odd)
				}
			}
		case kind == driverspec.KindAction:
			b.Container = "search"
			b.BackupCommand = []string{"/bin/sh", "-c", "curl -X POST localhost:9200/_flush"}
			b.RestoreCommand = []string{"/usr/bin/reindex", "--all"}
			add("action with restore_command", b, "search", "", testBackup, 0, false)
			b.RestoreCommand = nil
			add("action without restore_command", b, "search", "", testBackup, 0, false)
		default:
			add(string(kind), b, "files", "", testBackup, 0, false)
		}
	}
	return variants
}

// recordedMarkers are the markers a log of p's dumps in pods would record:
// RecordedMarker of a report per file, with made-up checksums.
func recordedMarkers(t *testing.T, p *Plan, backup string, pods ...string) map[string]string {
	t.Helper()
	recorded := map[string]string{}
	for _, pod := range pods {
		var reports []DumpReport
		for _, file := range p.markerFiles() {
			reports = append(reports, DumpReport{Backup: backup, Component: p.Component, Pod: pod, File: file, Bytes: 1,
				SHA256: sha256Hex([]byte(pod + "/" + file))})
		}
		marker, err := p.RecordedMarker(reports)
		if err != nil {
			t.Fatal(err)
		}
		recorded[pod] = marker
	}
	return recorded
}

// hookScripts returns, by what runs it, every script that v's hooks run and
// this package wrote: the dump, and the restore with the markers of one pod
// and of several. A command that is neither the driver's own (action runs its
// commands as given) nor /bin/sh -c <script> fails t.
func hookScripts(t *testing.T, v scriptVariant) map[string]string {
	t.Helper()
	p := v.plan
	commands := map[string][]string{}
	if hooks := p.BackupHooks("shop", v.backup); hooks != nil {
		commands["backup"] = hooks.PreHooks[0].Exec.Command
	}
	for what, pods := range map[string][]string{
		"restore of one pod":      {"db-0"},
		"restore of several pods": {"db-0", "db-1", "shop-db-7d9f8c6b5-x2x4k"},
	} {
		hooks := p.RestoreHooks("shop-clone", v.backup, recordedMarkers(t, p, v.backup, pods...))
		if hooks == nil {
			continue
		}
		for _, hook := range hooks.PostHooks {
			switch {
			case hook.Init != nil:
				commands[what+", init container"] = initContainerOf(t, hook.Init).Command
			case len(hooks.PostHooks) > 1:
				commands[what+", check"] = hook.Exec.Command
			default:
				commands[what] = hook.Exec.Command
			}
		}
	}
	scripts := map[string]string{}
	for what, command := range commands {
		switch {
		case slices.Equal(command, p.backup.BackupCommand), slices.Equal(command, p.backup.RestoreCommand):
		case len(command) == 3 && command[0] == "/bin/sh" && command[1] == "-c":
			scripts[what] = command[2]
		default:
			t.Errorf("%s: the %s command %q is not /bin/sh -c <script>", v.name, what, command)
		}
	}
	if len(scripts) != v.scripts {
		t.Errorf("%s: %d scripts, want %d", v.name, len(scripts), v.scripts)
	}
	return scripts
}

// initContainerOf is the one init container of hook, as Velero reads it.
func initContainerOf(t *testing.T, hook *velerov1.InitRestoreHook) corev1.Container {
	t.Helper()
	if len(hook.InitContainers) != 1 {
		t.Fatalf("init hook with %d containers, want 1", len(hook.InitContainers))
	}
	var c corev1.Container
	if err := json.Unmarshal(hook.InitContainers[0].Raw, &c); err != nil {
		t.Fatalf("init container %s: %v", hook.InitContainers[0].Raw, err)
	}
	return c
}

// TestScriptsParse checks every script variant with the shells' own parsers,
// including database and path names that need quoting.
func TestScriptsParse(t *testing.T) {
	for _, v := range scriptVariants() {
		for what, script := range hookScripts(t, v) {
			if strings.Contains(script, "<no value>") {
				t.Errorf("%s %s: the script has a template hole:\n%s", v.name, what, script)
			}
			for _, shell := range shells(t) {
				c := newContainer(t, shell, nil)
				r := c.run([]string{"/bin/sh", "-c", "set -n\n" + script})
				if r.code != 0 {
					t.Errorf("%s %s %s: syntax error: %s\n%s", filepath.Base(shell), v.name, what, r.stderr, script)
				}
			}
		}
	}
}

// TestScriptsPassShellcheck runs shellcheck on every script variant, as the
// POSIX sh that runs them (/bin/sh -c).
func TestScriptsPassShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if acctest.Enabled() {
			t.Fatal("shellcheck is not installed: apt-get install -y shellcheck (the local stack's up installs it for make test)")
		}
		t.Skip("shellcheck is not installed (apt-get install -y shellcheck); with TF_ACC set this test fails instead")
	}
	for _, v := range scriptVariants() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			for what, script := range hookScripts(t, v) {
				args := []string{"--norc", "--shell=sh"}
				if v.oddNames {
					// The names' $ and ` are theirs, single-quoted so that they
					// stay literal: SC2016 ("expressions don't expand in single
					// quotes") flags the very quoting that keeps them safe.
					args = append(args, "--exclude=SC2016")
				}
				cmd := exec.Command(shellcheck, append(args, "-")...)
				cmd.Stdin = strings.NewReader(script)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Errorf("shellcheck, the %s script: %v\n%s\nthe script:\n%s", what, err, out.String(), numberLines(script))
				}
			}
		})
	}
}

// numberLines prefixes each line of script with its number, as shellcheck
// counts them.
func numberLines(script string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
	}
	return b.String()
}
