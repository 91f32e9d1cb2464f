package strategy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// The hook scripts run for real here, under every POSIX shell the machine
// has, in a directory that stands in for the dump volume, with fake database
// tools first on PATH. The fakes record their argv and environment and
// behave just enough like the real tools; FAKE_* variables steer them.
const fakeTool = `#!/bin/sh
set -eu
tool=${0##*/}
{
	printf '%s' "$tool"
	for arg in "$@"; do printf ' <%s>' "$arg"; done
	printf '\n'
} >>"$FAKE_LOG/calls"
printf '%s\n' "$@" >"$FAKE_LOG/$tool.argv"
env >"$FAKE_LOG/$tool.env"
case " ${FAKE_FAIL:-} " in
*" $tool "*)
	echo "fake $tool: failing as asked" >&2
	exit 3
	;;
esac
# A dump must never run while a marker says the directory holds a complete dump.
saw_markers() {
	for marker in *.sha256; do
		if [ -e "$marker" ]; then echo "$tool saw $marker" >>"$FAKE_LOG/markers-seen"; fi
	done
}
# option NAME ARGS...: the value of --NAME=VALUE.
option() {
	name=$1
	shift
	for arg in "$@"; do
		case $arg in --"$name"=*) printf '%s' "${arg#*=}" ;; esac
	done
}
not_ready() {
	[ -n "${FAKE_NOT_READY:-}" ]
}
case $tool in
pg_dump)
	saw_markers
	out= db=
	while [ $# -gt 0 ]; do
		case $1 in
		-f | -Z) [ "$1" != -f ] || out=$2; shift ;;
		-*) ;;
		*) db=$1 ;;
		esac
		shift
	done
	if [ -n "${FAKE_CORRUPT:-}" ]; then
		printf 'garbage\n' >"$out"
	else
		printf 'PGDMP fake archive of %s\n' "$db" >"$out"
		# FAKE_DATA stands for the rows the database held at the time of the dump.
		if [ -n "${FAKE_DATA:-}" ]; then printf '%s\n' "$FAKE_DATA" >>"$out"; fi
	fi
	;;
pg_restore)
	if [ "$1" = --list ]; then
		[ "$(head -c 5 "$2")" = PGDMP ]
		exit
	fi
	for file in "$@"; do :; done
	cat "$file" >>"$FAKE_LOG/restored.$(option dbname "$@")"
	;;
pg_dumpall)
	while [ $# -gt 0 ]; do
		if [ "$1" = -f ]; then printf -- '-- fake globals\n' >"$2"; fi
		shift
	done
	;;
pg_isready | mariadb-admin | mysqladmin | mongosh | mongo)
	if not_ready; then exit 2; fi
	;;
psql)
	cat >"$FAKE_LOG/psql.stdin"
	db=
	for arg in "$@"; do
		case $arg in styrmin_db=*) db=${arg#*=} ;; esac
	done
	case "|${FAKE_MISSING_DBS:-}|" in
	*"|$db|"*) ;;
	*) echo 1 ;;
	esac
	;;
createdb) ;;
mariadb-dump | mysqldump)
	saw_markers
	out=$(option result-file "$@")
	printf -- '-- MariaDB dump 10.19 (fake)\nCREATE DATABASE IF NOT EXISTS app;\n' >"$out"
	if [ -z "${FAKE_INCOMPLETE:-}" ]; then printf -- '-- Dump completed on 2026-01-01  0:00:00\n' >>"$out"; fi
	;;
mariadb | mysql)
	cat >>"$FAKE_LOG/$tool.stdin"
	;;
mongodump | mongorestore)
	[ "$tool" != mongodump ] || saw_markers
	config=$(option config "$@")
	if [ -n "$config" ]; then
		cp "$config" "$FAKE_LOG/$tool.config"
		stat -c %a "$config" >"$FAKE_LOG/$tool.config-mode"
	fi
	if [ "$tool" = mongodump ]; then
		printf 'fake archive of %s\n' "$(option db "$@")" >"$(option archive "$@")"
	else
		cat "$(option archive "$@")" >>"$FAKE_LOG/restored.mongodb"
	fi
	;;
neo4j-admin)
	[ "$1 $2" = "database dump" ] || [ "$1 $2" = "database load" ]
	if [ "$2" = dump ]; then
		saw_markers
		printf 'fake neo4j dump of %s\n' "$3" >"$(option to-path "$@")/$3.dump"
	else
		cat "$(option from-path "$@")/$3.dump" >>"$FAKE_LOG/loaded.$3"
	fi
	;;
*)
	echo "fake: no behaviour for $tool" >&2
	exit 99
	;;
esac
`

// fakeTools are the tools the fakes stand in for.
var fakeTools = []string{
	"pg_dump", "pg_restore", "pg_dumpall", "pg_isready", "psql", "createdb",
	"mariadb-dump", "mariadb", "mariadb-admin",
	"mongodump", "mongorestore", "mongosh",
	"neo4j-admin",
}

// systemTools are the real commands the scripts (and the fakes) may use. Only
// these are on PATH next to the fakes, so a database tool installed on the
// machine can never stand in for a fake.
var systemTools = []string{
	"cat", "chmod", "cp", "env", "flock", "grep", "head", "ln", "mkdir", "mktemp",
	"mv", "rm", "sed", "sha256sum", "sleep", "stat", "sync", "tail", "wc",
}

// shells are the POSIX shells to run the scripts with: /bin/sh is what the
// hooks name; dash and bash are what it is in most images.
func shells(t *testing.T) []string {
	t.Helper()
	var found []string
	seen := map[string]bool{}
	for _, name := range []string{"/bin/sh", "dash", "bash"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil || seen[resolved] {
			continue
		}
		seen[resolved] = true
		found = append(found, path)
	}
	if len(found) == 0 {
		t.Fatal("no POSIX shell on this machine: the hook scripts cannot be tested")
	}
	return found
}

// container is one run of the stand-in container: its dump volume, its
// environment, and the fakes' records.
type container struct {
	t     *testing.T
	shell string
	// mount stands in for the dump volume's mount path.
	mount string
	bin   string
	log   string
	// env is the container's environment, besides PATH and the fakes' own.
	env map[string]string
	// fakes are the tools faked; realTools are directories of real tools
	// that come first on PATH.
	fakes     []string
	realTools []string
	// hostname is the container's HOSTNAME, which the scripts report and
	// check as the pod's name: testPodName unless a test changes it; empty
	// leaves HOSTNAME unset.
	hostname string
}

func newContainer(t *testing.T, shell string, env map[string]string) *container {
	t.Helper()
	c := &container{
		t: t, shell: shell,
		mount: t.TempDir(), bin: t.TempDir(), log: t.TempDir(),
		env: env, fakes: fakeTools, hostname: testPodName,
	}
	system := filepath.Join(c.bin, "system")
	if err := os.Mkdir(system, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range systemTools {
		path, err := exec.LookPath(tool)
		if err != nil {
			continue // the scripts cope without flock; the tests that need a tool check
		}
		if err := os.Symlink(path, filepath.Join(system, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// install writes the fakes named in c.fakes.
func (c *container) install() {
	c.t.Helper()
	fakes := filepath.Join(c.bin, "fakes")
	os.RemoveAll(fakes)
	if err := os.Mkdir(fakes, 0o755); err != nil {
		c.t.Fatal(err)
	}
	for _, tool := range c.fakes {
		if err := os.WriteFile(filepath.Join(fakes, tool), []byte(fakeTool), 0o755); err != nil {
			c.t.Fatal(err)
		}
	}
}

// testPodName is the pod the harness's container stands in for.
const testPodName = "db-0"

// pod is a Running pod whose "db" container mounts the dump volume at
// c.mount, for Resolve.
func (c *container) pod() corev1.Pod {
	return testPod(testPodName, corev1.PodRunning, []string{"dump"}, testContainer("db", "dump:"+c.mount))
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs an exec hook command the way the container would, with extra
// variables for the fakes.
func (c *container) run(command []string, fakeEnv ...string) result {
	c.t.Helper()
	if len(command) != 3 || command[0] != "/bin/sh" || command[1] != "-c" {
		c.t.Fatalf("hook command %q is not [/bin/sh -c script]", command)
	}
	c.install()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.shell, "-c", command[2])
	// The container's working directory is not the dump volume.
	cmd.Dir = c.t.TempDir()
	path := append(slices.Clone(c.realTools), filepath.Join(c.bin, "fakes"), filepath.Join(c.bin, "system"))
	cmd.Env = []string{
		"PATH=" + strings.Join(path, ":"),
		"FAKE_LOG=" + c.log,
		"TMPDIR=" + c.t.TempDir(),
	}
	if c.hostname != "" {
		// As in a pod: the container runtime sets HOSTNAME to the pod's name.
		cmd.Env = append(cmd.Env, "HOSTNAME="+c.hostname)
	}
	for name, value := range c.env {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	cmd.Env = append(cmd.Env, fakeEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		c.t.Fatalf("running the script: %v", err)
	}
	return r
}

// dumpDir is where the scripts write.
func (c *container) dumpDir() string {
	return filepath.Join(c.mount, dumpSubdir)
}

func (c *container) read(path string) string {
	c.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(data)
}

func (c *container) exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// argv is the argv of the last call to tool.
func (c *container) argv(tool string) []string {
	c.t.Helper()
	return strings.Split(strings.TrimSuffix(c.read(filepath.Join(c.log, tool+".argv")), "\n"), "\n")
}

// env is the environment of the last call to tool.
func (c *container) toolEnv(tool string) map[string]string {
	c.t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(c.read(filepath.Join(c.log, tool+".env")), "\n") {
		if name, value, ok := strings.Cut(line, "="); ok {
			env[name] = value
		}
	}
	return env
}

// called reports whether tool ran at all.
func (c *container) called(tool string) bool {
	return c.exists(filepath.Join(c.log, tool+".argv"))
}

// calls is every call of every fake, one per line.
func (c *container) calls() string {
	if !c.exists(filepath.Join(c.log, "calls")) {
		return ""
	}
	return c.read(filepath.Join(c.log, "calls"))
}

// checkSecretsStayOut fails when a secret shows in any fake's argv, in the
// script's output or in the script itself.
func (c *container) checkSecretsStayOut(script string, r result, secrets ...string) {
	c.t.Helper()
	for _, secret := range secrets {
		for what, text := range map[string]string{"argv": c.calls(), "stdout": r.stdout, "stderr": r.stderr, "the script": script} {
			if strings.Contains(text, secret) {
				c.t.Errorf("secret %q shows in %s:\n%s", secret, what, text)
			}
		}
	}
}

// checkDump checks that the dump directory holds exactly files, the identity
// file naming testBackup and the marker; that the marker lists every file with
// its checksum, then the identity file; and that no temporary file is left.
func (c *container) checkDump(marker string, files ...string) {
	c.t.Helper()
	identity := strings.TrimSuffix(marker, ".sha256") + ".backup"
	if got := c.read(filepath.Join(c.dumpDir(), identity)); got != testBackup+"\n" {
		c.t.Errorf("identity file %s holds %q, want the backup's name %q", identity, got, testBackup)
	}
	var want []string
	for _, f := range append(slices.Clone(files), identity) {
		data, err := os.ReadFile(filepath.Join(c.dumpDir(), f))
		if err != nil {
			c.t.Errorf("dump file: %v", err)
			continue
		}
		if len(data) == 0 {
			c.t.Errorf("dump file %s is empty", f)
		}
		want = append(want, sha256Hex(data)+"  "+f)
	}
	got := strings.Split(strings.TrimSuffix(c.read(filepath.Join(c.dumpDir(), marker)), "\n"), "\n")
	if !slices.Equal(got, want) {
		c.t.Errorf("marker %s holds\n%s\nwant\n%s", marker, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c.checkNoTemporaryFiles()
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (c *container) checkNoTemporaryFiles() {
	c.t.Helper()
	entries, _ := os.ReadDir(c.dumpDir())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") || strings.HasSuffix(e.Name(), ".staging") {
			c.t.Errorf("temporary %s left in the dump directory", e.Name())
		}
	}
}

// writeFile writes content to path, creating its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testBackup is the Backup the tests dump for and restore from.
const testBackup = "shop-20261130-101500-x7k2"

// dumpFor runs plan's dump hook for backup and fails t unless it succeeds.
func (c *container) dumpFor(plan *Plan, backup string, fakeEnv ...string) result {
	c.t.Helper()
	r := c.run(backupScriptFor(c.t, plan, backup), fakeEnv...)
	if r.code != 0 {
		c.t.Fatalf("dump for %s exited %d:\n%s", backup, r.code, r.stderr)
	}
	return r
}

// dump runs plan's dump hook for testBackup and fails t unless it succeeds.
func (c *container) dump(plan *Plan, fakeEnv ...string) result {
	c.t.Helper()
	return c.dumpFor(plan, testBackup, fakeEnv...)
}

// recordedFor derives, as the provider does from the log of backup, the
// marker each of plan's pods recorded: the report lines in stdout (a log holds
// a hook's stdout whole) that name backup, the component and the pod, through
// RecordedMarker. It fails when a pod reported no complete dump.
func recordedFor(plan *Plan, backup, stdout string) (map[string]string, error) {
	reports := ParseDumpReports(stdout)
	recorded := map[string]string{}
	for _, pod := range plan.Pods {
		var own []DumpReport
		for _, r := range reports {
			if r.Backup == backup && r.Component == plan.Component && r.Pod == pod {
				own = append(own, r)
			}
		}
		marker, err := plan.RecordedMarker(own)
		if err != nil {
			return nil, fmt.Errorf("pod %s: %w", pod, err)
		}
		recorded[pod] = marker
	}
	return recorded, nil
}

// recordedBy is what testBackup's log recorded of dump, a run of plan's dump
// hook for testBackup: the recorded markers RestoreHooks takes.
func recordedBy(t *testing.T, plan *Plan, dump result) map[string]string {
	t.Helper()
	recorded, err := recordedFor(plan, testBackup, dump.stdout)
	if err != nil {
		t.Fatalf("the dump's report: %v\nstdout:\n%s", err, dump.stdout)
	}
	return recorded
}

// checkReports checks what dump, a run of plan's dump hook for testBackup,
// reported on stdout: nothing but report lines, one per line of the marker,
// naming testBackup, the component, the container's pod and each file the
// marker lists, in its order, with the file's size and sha256 on disk; and
// that RecordedMarker rebuilds the marker from them.
func (c *container) checkReports(plan *Plan, dump result) {
	c.t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(dump.stdout, "\n"), "\n") {
		if !strings.HasPrefix(line, ReportPrefix+" ") {
			c.t.Errorf("the dump wrote %q to stdout: only report lines belong there", line)
		}
	}
	marker := strings.TrimSuffix(c.read(plan.Marker), "\n")
	var want []DumpReport
	for _, line := range strings.Split(marker, "\n") {
		_, file, _ := strings.Cut(line, "  ")
		data, err := os.ReadFile(filepath.Join(c.dumpDir(), file))
		if err != nil {
			c.t.Fatal(err)
		}
		want = append(want, DumpReport{Backup: testBackup, Component: plan.Component, Pod: c.hostname,
			File: file, Bytes: int64(len(data)), SHA256: sha256Hex(data)})
	}
	reports := ParseDumpReports(dump.stdout)
	if diff := cmp.Diff(want, reports); diff != "" {
		c.t.Errorf("reports (-want +got):\n%s\nstdout:\n%s", diff, dump.stdout)
	}
	if got, err := plan.RecordedMarker(reports); err != nil || got != marker {
		c.t.Errorf("RecordedMarker = %q, %v; want the marker %q", got, err, marker)
	}
}
