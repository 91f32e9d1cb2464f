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
# The fake MongoDB server on localhost:27017. $FAKE_LOG/mongod.timeline, when
# it exists, lists the states it goes through, one a line, the current one
# first; the fake sleep (a second passing) moves on to the next. Without it
# the server is the real one from the start. The states:
#   down            nothing listens yet.
#   temporary       the image entrypoint's temporary server (forked, without
#                   authentication, on 127.0.0.1) before it has created the
#                   root user: a login fails, no login works.
#   temporary-root  that server running the init scripts, the root user
#                   created: the login works, but it is still the temporary
#                   server, and what a restore writes into it is lost (the
#                   entrypoint stops it once the init scripts are done,
#                   cutting the restore off).
#   real-secondary  the real server, a replica-set member not yet primary.
#   real            the real server: with authentication where
#                   MONGO_INITDB_ROOT_USERNAME is set (the root password is
#                   $FAKE_MONGO_ROOT_PASSWORD, else the container's
#                   MONGO_INITDB_ROOT_PASSWORD); a member (the primary)
#                   of replica set $FAKE_MONGO_SET where that is set, else
#                   standalone.
mongod_state() {
	if [ -s "$FAKE_LOG/mongod.timeline" ]; then head -n 1 "$FAKE_LOG/mongod.timeline"; else echo real; fi
}
# mongo_session USER PASSWORD: whether the server lets a tool logged in as
# USER (empty: no login) work; if not, prints why.
mongo_session() {
	state=$(mongod_state)
	case $state in
	down)
		echo "connection refused"
		return 1
		;;
	temporary)
		if [ -n "$1" ]; then
			echo "Authentication failed."
			return 1
		fi
		;;
	*)
		if [ -n "$1" ]; then
			if [ "$1" != "${MONGO_INITDB_ROOT_USERNAME:-}" ] || [ "$2" != "${FAKE_MONGO_ROOT_PASSWORD:-${MONGO_INITDB_ROOT_PASSWORD:-}}" ]; then
				echo "Authentication failed."
				return 1
			fi
		elif [ "${state#real}" != "$state" ] && [ -n "${MONGO_INITDB_ROOT_USERNAME:-}" ]; then
			echo "(Unauthorized) command requires authentication"
			return 1
		fi
		;;
	esac
}
# js_string NAME FILE: the value of the JavaScript string NAME that FILE
# defines as var NAME = '...';, unescaped.
js_string() {
	sed -n "s/^var $1 = '\\(.*\\)';\$/\\1/p" "$2" | sed -e 's/\\\\/\x01/g' -e "s/\\\\'/'/g" -e 's/\x01/\\/g'
}
# The fake Neo4j server: its edition is the image's NEO4J_EDITION, else
# $FAKE_NEO4J_EDITION, else community; its version $FAKE_NEO4J_VERSION, else
# 5.26.0. The DBMS runs unless $FAKE_LOG/neo4j.dbms says "stopped" (as in an
# init container, before the server starts); $FAKE_LOG/neo4j.stopped/<name>
# marks a database that STOP DATABASE stopped. $FAKE_LOG/neo4j.events records
# what was done to which database, in order. $FAKE_NEO4J_FAIL lists steps
# (dump, backup, load, restore, stop, start) that fail.
neo4j_edition() {
	printf '%s' "${NEO4J_EDITION:-${FAKE_NEO4J_EDITION:-community}}"
}
neo4j_running() {
	[ "$(cat "$FAKE_LOG/neo4j.dbms" 2>/dev/null)" != stopped ]
}
neo4j_in_use() {
	neo4j_running && [ ! -e "$FAKE_LOG/neo4j.stopped/$1" ]
}
neo4j_event() {
	echo "$*" >>"$FAKE_LOG/neo4j.events"
}
neo4j_fails() {
	case " ${FAKE_NEO4J_FAIL:-} " in
	*" $1 "*)
		echo "fake $tool: $1 fails as asked" >&2
		return 0
		;;
	esac
	return 1
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
	# FAKE_NO_PASSWORDS: the dump user may not read pg_authid, as a non-superuser.
	if [ -n "${FAKE_NO_PASSWORDS:-}" ] && ! printf '%s\n' "$@" | grep -qx -- --no-role-passwords; then
		echo "pg_dumpall: error: query failed: ERROR:  permission denied for table pg_authid" >&2
		exit 1
	fi
	while [ $# -gt 0 ]; do
		if [ "$1" = -f ]; then
			# FAKE_GLOBALS: a file with what a real server's globals dump holds.
			if [ -n "${FAKE_GLOBALS:-}" ]; then cat "$FAKE_GLOBALS" >"$2"; else printf -- '-- fake globals\n' >"$2"; fi
		fi
		shift
	done
	;;
pg_isready | mariadb-admin | mysqladmin)
	if not_ready; then exit 2; fi
	;;
psql)
	cat >>"$FAKE_LOG/psql.stdin"
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
mongosh | mongo)
	state=$(mongod_state)
	if [ "$state" = down ]; then
		echo "MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017" >&2
		exit 1
	fi
	case " $* " in
	*" --eval "*)
		# A ping without a login: every server answers it, the temporary one too.
		exit 0
		;;
	esac
	# A script file: styrmin's probe.js, with the login it was given. The
	# fake answers what probe.js prints against the fake server.
	for probe in "$@"; do :; done
	grep -q getCmdLineOpts "$probe" || { echo "fake $tool: $probe is not the probe" >&2; exit 99; }
	cp "$probe" "$FAKE_LOG/probe.js"
	stat -c %a "$probe" >"$FAKE_LOG/probe.js-mode"
	user=$(js_string styrminUser "$probe")
	password=$(js_string styrminPassword "$probe")
	if [ -n "$user" ] && ! mongo_session "$user" "$password" >/dev/null; then
		echo "styrmin-mongo login-failed"
		exit 2
	fi
	case $state in
	temporary*)
		echo "styrmin-mongo temporary"
		exit 4
		;;
	esac
	if [ -z "$user" ] && [ -n "${MONGO_INITDB_ROOT_USERNAME:-}" ]; then
		echo "styrmin-mongo error command getCmdLineOpts requires authentication"
		exit 3
	fi
	writable=true
	[ "$state" != real-secondary ] || writable=false
	echo "styrmin-mongo real set=${FAKE_MONGO_SET:-} writable=$writable"
	;;
mongodump | mongorestore)
	[ "$tool" != mongodump ] || saw_markers
	config=$(option config "$@")
	password=
	if [ -n "$config" ]; then
		cp "$config" "$FAKE_LOG/$tool.config"
		stat -c %a "$config" >"$FAKE_LOG/$tool.config-mode"
		password=$(sed -n "s/^password: '\\(.*\\)'\$/\\1/p" "$config" | sed "s/''/'/g")
	fi
	if ! why=$(mongo_session "$(option username "$@")" "$password"); then
		echo "Failed: error connecting to db server: $why" >&2
		exit 1
	fi
	state=$(mongod_state)
	oplog=
	case " $* " in *" --oplog "* | *" --oplogReplay "*) oplog=yes ;; esac
	if [ "$tool" = mongodump ]; then
		db=$(option db "$@")
		if [ -n "$oplog" ] && [ -n "$db" ]; then
			echo "Failed: bad option: --oplog mode only supported on full dumps" >&2
			exit 1
		fi
		if [ -n "$oplog" ] && [ -z "${FAKE_MONGO_SET:-}" ]; then
			echo "Failed: error getting oplog start: no oplog: the server is not a replica set member" >&2
			exit 1
		fi
		out=$(option archive "$@")
		printf 'fake archive of %s\n' "$db" >"$out"
		if [ -n "$oplog" ]; then printf 'oplog of %s\n' "$FAKE_MONGO_SET" >>"$out"; fi
	else
		archive=$(option archive "$@")
		if [ "$state" = real-secondary ]; then
			echo "Failed: (NotWritablePrimary) not primary" >&2
			exit 1
		fi
		if [ -n "$oplog" ] && ! grep -q '^oplog of ' "$archive"; then
			echo "Failed: no oplog file to replay; make sure you run mongodump with --oplog" >&2
			exit 1
		fi
		case $state in
		temporary*)
			# The entrypoint stops the temporary server once its init
			# scripts are done, cutting the restore off: nothing of it is kept.
			cat "$archive" >>"$FAKE_LOG/lost.mongodb"
			;;
		*)
			cat "$archive" >>"$FAKE_LOG/restored.mongodb"
			if [ -n "$oplog" ]; then echo "replayed the oplog" >>"$FAKE_LOG/restored.mongodb"; fi
			;;
		esac
	fi
	;;
sleep)
	# A second passes: the fake MongoDB server moves on to its next state.
	if [ -f "$FAKE_LOG/mongod.timeline" ] && [ "$(wc -l <"$FAKE_LOG/mongod.timeline")" -gt 1 ]; then
		tail -n +2 "$FAKE_LOG/mongod.timeline" >"$FAKE_LOG/mongod.timeline.next"
		mv "$FAKE_LOG/mongod.timeline.next" "$FAKE_LOG/mongod.timeline"
	fi
	;;
neo4j-admin)
	version=${FAKE_NEO4J_VERSION:-5.26.0}
	if [ "$1" = --version ]; then
		case $version in 4.*) echo "neo4j-admin $version" ;; *) echo "$version" ;; esac
		exit 0
	fi
	# 5.x: neo4j-admin database <command> [options] <database>;
	# 4.x: neo4j-admin <command> --database=<database> [options].
	case $version in 4.*) syntax=4 ;; *) syntax=5 ;; esac
	if [ "$1" = database ]; then
		if [ $syntax = 4 ]; then
			echo "neo4j-admin $version: unrecognized command: database" >&2
			exit 1
		fi
		command=$2
		shift 2
		db=
		for arg in "$@"; do
			case $arg in -*) ;; *) db=$arg ;; esac
		done
	else
		if [ $syntax = 5 ]; then
			echo "Unmatched argument at index 0: '$1'" >&2
			exit 2
		fi
		command=$1
		shift
		db=$(option database "$@")
	fi
	[ -n "$db" ] || { echo "neo4j-admin $command: no database" >&2; exit 2; }
	case $syntax-$command in
	5-dump) needed="--to-path=" ;;
	4-dump) needed="--to=" ;;
	5-load) needed="--from-path= --overwrite-destination=true" ;;
	4-load) needed="--from= --force" ;;
	5-backup) needed="--to-path=" ;;
	4-backup) needed="--backup-dir=" ;;
	5-restore) needed="--from-path= --overwrite-destination=true" ;;
	4-restore) needed="--from= --force" ;;
	*)
		echo "neo4j-admin: unknown command $command" >&2
		exit 2
		;;
	esac
	# What the real tool's syntax needs.
	for need in $needed; do
		found=
		for arg in "$@"; do
			case $arg in "$need"*) found=yes ;; esac
		done
		[ -n "$found" ] || { echo "neo4j-admin $command: missing $need" >&2; exit 2; }
	done
	case $command in
	dump | load | restore)
		# Store files are written and read only while nothing else has them open.
		if neo4j_in_use "$db"; then
			echo "The database is in use. Stop database '$db' and try again." >&2
			exit 1
		fi
		;;
	backup)
		if [ "$(neo4j_edition)" != enterprise ]; then
			echo "Unmatched argument at index 1: 'backup'" >&2
			exit 2
		fi
		if ! neo4j_running; then
			echo "Could not connect to the backup server at localhost:6362: connection refused" >&2
			exit 1
		fi
		;;
	esac
	if neo4j_fails "$command"; then exit 1; fi
	[ "$command" != dump ] || saw_markers
	neo4j_event "$command $db"
	case $syntax-$command in
	5-dump) printf 'fake neo4j dump of %s\n' "$db" >"$(option to-path "$@")/$db.dump" ;;
	4-dump) printf 'fake neo4j dump of %s\n' "$db" >"$(option to "$@")" ;;
	5-load) cat "$(option from-path "$@")/$db.dump" >>"$FAKE_LOG/loaded.$db" ;;
	4-load) cat "$(option from "$@")" >>"$FAKE_LOG/loaded.$db" ;;
	5-backup) printf 'fake neo4j backup of %s\n' "$db" >"$(option to-path "$@")/$db-2026-11-30T10-15-00.backup" ;;
	4-backup)
		mkdir -p "$(option backup-dir "$@")/$db"
		printf 'fake neo4j backup of %s\n' "$db" >"$(option backup-dir "$@")/$db/neostore"
		;;
	5-restore) cat "$(option from-path "$@")" >>"$FAKE_LOG/loaded.$db" ;;
	4-restore) cat "$(option from "$@")/neostore" >>"$FAKE_LOG/loaded.$db" ;;
	esac
	;;
cypher-shell)
	statement=$(cat)
	printf '%s\n' "$statement" >>"$FAKE_LOG/cypher-shell.stdin"
	if ! neo4j_running; then
		echo "Unable to connect to localhost:7687, ensure the database is running" >&2
		exit 1
	fi
	# The server's login is the one the image set from NEO4J_AUTH.
	case ${NEO4J_AUTH:-none} in
	none) ;;
	*)
		if [ "${NEO4J_USERNAME:-}" != "${NEO4J_AUTH%%/*}" ] || [ "${NEO4J_PASSWORD:-}" != "${NEO4J_AUTH#*/}" ]; then
			echo "The client is unauthorized due to authentication failure." >&2
			exit 1
		fi
		;;
	esac
	database=neo4j
	while [ $# -gt 0 ]; do
		case $1 in
		-d | --database) database=$2; shift ;;
		--database=*) database=${1#*=} ;;
		esac
		shift
	done
	bt=$(printf '\140')
	case $statement in
	"CALL dbms.components() YIELD edition RETURN edition;")
		printf 'edition\n"%s"\n' "$(neo4j_edition)"
		;;
	"STOP DATABASE $bt"*"$bt WAIT;" | "START DATABASE $bt"*"$bt WAIT;")
		if [ "$database" != system ]; then
			echo "This is an administration command and it should be executed against the system database: ${statement%%$bt*}" >&2
			exit 1
		fi
		if [ "$(neo4j_edition)" != enterprise ]; then
			echo "Unsupported administration command: $statement" >&2
			exit 1
		fi
		name=${statement#* DATABASE $bt}
		name=$(printf '%s' "${name%"$bt WAIT;"}" | sed "s/$bt$bt/$bt/g")
		case $statement in STOP*) verb=stop ;; *) verb=start ;; esac
		if [ $verb = stop ] && [ "$name" = system ]; then
			echo "Not allowed to stop system database." >&2
			exit 1
		fi
		if neo4j_fails "$verb"; then exit 1; fi
		mkdir -p "$FAKE_LOG/neo4j.stopped"
		if [ $verb = stop ]; then
			: >"$FAKE_LOG/neo4j.stopped/$name"
		else
			rm -f "$FAKE_LOG/neo4j.stopped/$name"
		fi
		neo4j_event "$verb $name"
		;;
	*)
		echo "fake cypher-shell: no behaviour for $statement" >&2
		exit 99
		;;
	esac
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
	"neo4j-admin", "cypher-shell",
}

// systemTools are the real commands the scripts (and the fakes) may use. Only
// these are on PATH next to the fakes, so a database tool installed on the
// machine can never stand in for a fake.
var systemTools = []string{
	"awk", "cat", "chmod", "cp", "date", "env", "flock", "grep", "head", "ln", "mkdir", "mktemp",
	"mv", "od", "rm", "sed", "sha256sum", "sleep", "stat", "sync", "tail", "tar", "tr", "wc",
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
