package strategy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// MongoDB and Neo4j servers are not packaged for this machine: these tests
// (and neo4j_test.go) run the scripts against fakes that model the servers'
// behaviour (harness_test.go), and check the script text.

func mongoPlan(t *testing.T, c *container, databases ...string) *Plan {
	t.Helper()
	return mongoPlanWithTimeout(t, c, 2*time.Second, databases...)
}

// mongoPlanWithTimeout is mongoPlan with the hooks' timeout, half of which a restore waits for the
// server.
func mongoPlanWithTimeout(t *testing.T, c *container, timeout time.Duration, databases ...string) *Plan {
	t.Helper()
	component := Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
		Enabled: true, Kind: driverspec.KindMongoDB, Volumes: []string{"dump"}, Databases: databases, Timeout: timeout,
	}}
	plan, err := Resolve(component, []corev1.Pod{c.pod()})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// mongoPassword has every character that JavaScript, YAML and shell quoting
// get wrong.
const mongoPassword = `mongo 'secret' \ "q" $x $(touch pwned) ` + "`id`"

// mongoServer sets the states the fake MongoDB server goes through, one per
// second of the scripts' waits (see mongod_state in harness_test.go), and
// lets time pass with the scripts' sleeps.
func (c *container) mongoServer(states ...string) {
	c.t.Helper()
	if !slices.Contains(c.fakes, "sleep") {
		c.fakes = append(slices.Clone(c.fakes), "sleep")
	}
	writeFile(c.t, filepath.Join(c.log, "mongod.timeline"), strings.Join(states, "\n")+"\n")
}

func TestMongoDBDumpAndRestore(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{
				"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": mongoPassword,
			})
			plan := mongoPlan(t, c)
			dump := backupScript(t, plan)
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			c.checkDump("mongodb.sha256", "mongodb.archive.gz", "mongodb.info")
			c.checkReports(plan, r)
			argv := c.argv("mongodump")
			config := strings.TrimPrefix(argv[0], "--config=")
			// A standalone server: no --oplog, which mongodump refuses there.
			want := []string{"--config=" + config, "--username=root", "--authenticationDatabase=admin", "--archive=mongodb.archive.gz.tmp", "--gzip"}
			if !slices.Equal(argv, want) {
				t.Errorf("mongodump argv %q, want %q", argv, want)
			}
			if got, want := c.read(filepath.Join(c.log, "mongodump.config")), "password: '"+strings.ReplaceAll(mongoPassword, "'", "''")+"'\n"; got != want {
				t.Errorf("mongodump config %q, want %q", got, want)
			}
			if got := c.read(filepath.Join(c.dumpDir(), "mongodb.info")); got != "oplog=no\nreplica_set=\n" {
				t.Errorf("mongodb.info = %q, want a dump without the oplog of a standalone server", got)
			}
			// The probe logged in (the fake checks the login against the
			// server's) with the password in a private file, not argv.
			probe := c.argv("mongosh")
			if want := []string{"--quiet", "--norc"}; len(probe) != 3 || !slices.Equal(probe[:2], want) || filepath.Base(probe[2]) != "probe.js" {
				t.Errorf("mongosh argv %q, want %q and the probe", probe, want)
			}
			for _, file := range []string{"mongodump.config-mode", "probe.js-mode"} {
				if got := strings.TrimSpace(c.read(filepath.Join(c.log, file))); got != "600" {
					t.Errorf("%s: %s, want 600", file, got)
				}
			}
			if c.exists(config) || c.exists(probe[2]) || c.exists(filepath.Dir(config)) {
				t.Error("a file with the password outlived the dump")
			}
			c.checkSecretsStayOut(dump[2], r, "secret", mongoPassword)

			restore := restoreScript(t, plan, recordedBy(t, plan, r))
			r = c.run(restore)
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			argv = c.argv("mongorestore")
			config = strings.TrimPrefix(argv[0], "--config=")
			want = []string{"--config=" + config, "--username=root", "--authenticationDatabase=admin", "--archive=mongodb.archive.gz", "--gzip", "--drop"}
			if !slices.Equal(argv, want) {
				t.Errorf("mongorestore argv %q, want %q", argv, want)
			}
			if got := c.read(filepath.Join(c.log, "restored.mongodb")); got != "fake archive of \n" {
				t.Errorf("mongorestore read %q", got)
			}
			if c.exists(config) || c.exists(filepath.Dir(config)) {
				t.Error("the config file with the password outlived the restore")
			}
			if c.exists(filepath.Join(c.mount, "pwned")) || c.exists(filepath.Join(c.dumpDir(), "pwned")) {
				t.Error("the password was run as a command")
			}
			c.checkSecretsStayOut(restore[2], r, "secret", mongoPassword)
		})
	}
}

func TestMongoDBWithoutAuthenticationAndListedDatabases(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	plan := mongoPlan(t, c, "shop", "logs")
	if !slices.Contains(plan.Warnings, mongoDatabasesWarning) {
		t.Errorf("Warnings = %q, want the one about per-database dumps and the oplog", plan.Warnings)
	}
	dump := c.dump(plan)
	c.checkDump("mongodb.sha256", "mongodb-shop.archive.gz", "mongodb-logs.archive.gz", "mongodb.info")
	if got, want := c.argv("mongodump"), []string{"--archive=mongodb-logs.archive.gz.tmp", "--gzip", "--db=logs"}; !slices.Equal(got, want) {
		t.Errorf("mongodump argv %q, want %q", got, want)
	}
	if r := c.run(restoreScript(t, plan, recordedBy(t, plan, dump))); r.code != 0 {
		t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
	}
	if got := c.read(filepath.Join(c.log, "restored.mongodb")); got != "fake archive of shop\nfake archive of logs\n" {
		t.Errorf("mongorestore read %q", got)
	}
}

// The official image's entrypoint runs a temporary mongod (no
// authentication, 127.0.0.1 alone) for its init scripts before the real one.
// The restore used to wait for a ping without a login, which the temporary
// server answers: it then replayed into that server (whose data the fake,
// like the entrypoint stopping it, loses) or failed to log in. It now waits
// for the probe to find the real server.
func TestMongoDBRestoreWaitsForTheRealServer(t *testing.T) {
	// oldWait is how the restore waited before.
	const oldWait = `wait_ready mongodb "$styrmin_shell" --quiet --eval 'db.adminCommand({ ping: 1 })'`
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			env := map[string]string{"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": mongoPassword}
			dumped := newContainer(t, shell, env)
			plan := mongoPlanWithTimeout(t, dumped, 20*time.Second)
			recorded := recordedBy(t, plan, dumped.dump(plan))
			restore := restoreScript(t, plan, recorded)
			if !strings.Contains(restore[2], "\nmongo_wait writable\n") {
				t.Fatalf("the restore does not wait with mongo_wait writable:\n%s", restore[2])
			}
			old := []string{restore[0], restore[1], strings.Replace(restore[2], "\nmongo_wait writable\n", "\n"+oldWait+"\n", 1)}

			// fresh is a restored pod: the dump volume as the backup holds it,
			// and a server that starts while the restore runs.
			fresh := func(states ...string) *container {
				c := newContainer(t, shell, env)
				c.mount = dumped.mount
				c.mongoServer(states...)
				return c
			}
			startup := []string{"down", "temporary", "temporary-root", "temporary-root", "real"}

			// The old wait, while the temporary server runs the init scripts:
			// the restore "succeeds" into the temporary server.
			c := fresh(startup[2:]...)
			if r := c.run(old); r.code != 0 {
				t.Fatalf("the old restore exited %d:\n%s", r.code, r.stderr)
			}
			if !c.exists(filepath.Join(c.log, "lost.mongodb")) || c.exists(filepath.Join(c.log, "restored.mongodb")) {
				t.Fatalf("the fake did not lose the old restore's data to the temporary server: the fake does not model it\n%s", c.calls())
			}
			// The old wait before the root user exists: the login fails.
			c = fresh(startup[1:]...)
			if r := c.run(old); r.code == 0 || !strings.Contains(r.stderr, "Authentication failed") {
				t.Errorf("the old restore against a temporary server without the root user: exit %d, stderr %q; want a failed login", r.code, r.stderr)
			}

			// The new wait, from a server that is not up yet.
			c = fresh(startup...)
			r := c.run(restore)
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			if c.exists(filepath.Join(c.log, "lost.mongodb")) {
				t.Errorf("the restore replayed into the temporary server:\n%s", c.calls())
			}
			if got := c.read(filepath.Join(c.log, "restored.mongodb")); got != "fake archive of \n" {
				t.Errorf("restored %q into the real server", got)
			}
			if probes := strings.Count(c.calls(), "mongosh <--quiet> <--norc>"); probes != len(startup) {
				t.Errorf("%d probes, want one per second until the real server is up (%d):\n%s", probes, len(startup), c.calls())
			}
			c.checkSecretsStayOut(restore[2], r, "secret", mongoPassword)
		})
	}
}

func TestMongoDBWaitIsBounded(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		// states are the fake server's; it stays in the last.
		states []string
		want   string
	}{
		{
			name:   "the temporary server never goes away",
			env:    map[string]string{"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": "pw"},
			states: []string{"temporary-root"},
			want:   "the MongoDB server was not ready within 3s: only the image entrypoint's temporary server (without authentication, for its init scripts) answered",
		},
		{
			name:   "the temporary server without a login",
			states: []string{"temporary"},
			want:   "the MongoDB server was not ready within 3s: only the image entrypoint's temporary server",
		},
		{
			name:   "a wrong password",
			env:    map[string]string{"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": "pw"},
			states: []string{"real"},
			want:   "the server refused the login of 'root' (MONGO_INITDB_ROOT_USERNAME)",
		},
		{
			name:   "no server",
			states: []string{"down"},
			want:   "no server answered mongosh: MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017",
		},
		{
			name:   "a secondary",
			env:    map[string]string{"FAKE_MONGO_SET": "rs0"},
			states: []string{"real-secondary"},
			want:   "the server is a member of replica set rs0 but not its primary: it does not accept writes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dumped := newContainer(t, "/bin/sh", nil)
			plan := mongoPlanWithTimeout(t, dumped, 6*time.Second)
			restore := restoreScript(t, plan, recordedBy(t, plan, dumped.dump(plan)))

			c := newContainer(t, "/bin/sh", tt.env)
			c.mount = dumped.mount
			c.mongoServer(tt.states...)
			var fakeEnv []string
			if tt.name == "a wrong password" {
				// The server's root password is not the container's.
				fakeEnv = append(fakeEnv, "FAKE_MONGO_ROOT_PASSWORD=another")
			}
			r := c.run(restore, fakeEnv...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("restore: exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tt.want)
			}
			if c.called("mongorestore") {
				t.Errorf("mongorestore ran against a server that was not ready:\n%s", c.calls())
			}
			if probes := strings.Count(c.calls(), "mongosh <--quiet>"); probes != 4 {
				t.Errorf("%d probes, want 4 (a 3s wait)", probes)
			}
		})
	}
}

// On a replica-set member, the full dump takes the oplog (a point-in-time
// snapshot) and the restore replays it; the info file, not the server the
// restore finds, says whether the archive holds an oplog.
func TestMongoDBReplicaSetOplog(t *testing.T) {
	env := map[string]string{"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": "pw"}
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, env)
			plan := mongoPlanWithTimeout(t, c, 20*time.Second)
			dump := c.dump(plan, "FAKE_MONGO_SET=rs0")
			c.checkDump("mongodb.sha256", "mongodb.archive.gz", "mongodb.info")
			argv := c.argv("mongodump")
			if want := []string{"--archive=mongodb.archive.gz.tmp", "--gzip", "--oplog"}; !slices.Equal(argv[3:], want) {
				t.Errorf("mongodump argv %q, want %q after the login", argv, want)
			}
			if got := c.read(filepath.Join(c.dumpDir(), "mongodb.info")); got != "oplog=yes\nreplica_set=rs0\n" {
				t.Errorf("mongodb.info = %q", got)
			}
			recorded := recordedBy(t, plan, dump)

			// Into a replica set whose member becomes primary a second later.
			c.mongoServer("real-secondary", "real")
			r := c.run(restoreScript(t, plan, recorded), "FAKE_MONGO_SET=rs0")
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			if argv := c.argv("mongorestore"); argv[len(argv)-1] != "--oplogReplay" {
				t.Errorf("mongorestore argv %q, want --oplogReplay", argv)
			}
			if got := c.read(filepath.Join(c.log, "restored.mongodb")); got != "fake archive of \noplog of rs0\nreplayed the oplog\n" {
				t.Errorf("restored %q", got)
			}

			// Into a standalone server: the archive's oplog is replayed all the same.
			os.Remove(filepath.Join(c.log, "restored.mongodb"))
			c.mongoServer("real")
			if r := c.run(restoreScript(t, plan, recorded)); r.code != 0 {
				t.Fatalf("restore into a standalone server exited %d:\n%s", r.code, r.stderr)
			}
			if argv := c.argv("mongorestore"); argv[len(argv)-1] != "--oplogReplay" {
				t.Errorf("mongorestore argv %q, want --oplogReplay", argv)
			}

			// A standalone server's dump into a replica set: there is no oplog
			// to replay, which mongorestore --oplogReplay would refuse.
			standalone := newContainer(t, shell, env)
			standalonePlan := mongoPlan(t, standalone)
			recorded = recordedBy(t, standalonePlan, standalone.dump(standalonePlan))
			r = standalone.run(restoreScript(t, standalonePlan, recorded), "FAKE_MONGO_SET=rs0")
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			if argv := standalone.argv("mongorestore"); slices.Contains(argv, "--oplogReplay") {
				t.Errorf("mongorestore argv %q: no oplog to replay", argv)
			}
		})
	}
}

// mongodump takes --oplog only for a full dump: listed databases on a
// replica set are dumped without it, and the dump says so.
func TestMongoDBReplicaSetListedDatabases(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	plan := mongoPlan(t, c, "shop")
	r := c.dump(plan, "FAKE_MONGO_SET=rs0")
	if got, want := c.argv("mongodump"), []string{"--archive=mongodb-shop.archive.gz.tmp", "--gzip", "--db=shop"}; !slices.Equal(got, want) {
		t.Errorf("mongodump argv %q, want %q", got, want)
	}
	if !strings.Contains(r.stderr, "mongodump takes --oplog only for a dump of every database") {
		t.Errorf("the dump did not say its dumps are not a snapshot:\n%s", r.stderr)
	}
	if got := c.read(filepath.Join(c.dumpDir(), "mongodb.info")); got != "oplog=no\nreplica_set=rs0\n" {
		t.Errorf("mongodb.info = %q", got)
	}
	if r := c.run(restoreScript(t, plan, recordedBy(t, plan, r)), "FAKE_MONGO_SET=rs0"); r.code != 0 {
		t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
	}
	if argv := c.argv("mongorestore"); slices.Contains(argv, "--oplogReplay") {
		t.Errorf("mongorestore argv %q: no oplog to replay", argv)
	}

	// The fake refuses what the real mongodump refuses.
	if r := c.run([]string{"/bin/sh", "-c", "mongodump --archive=x --db=shop --oplog"}, "FAKE_MONGO_SET=rs0"); r.code == 0 || !strings.Contains(r.stderr, "--oplog mode only supported on full dumps") {
		t.Errorf("the fake mongodump took --oplog with --db: exit %d, %s", r.code, r.stderr)
	}
}

// TestMongoDBProbeScript runs probe.js as the scripts write it, with the
// login in it, under Node.js (where the machine has it) against mock servers
// with mongosh's and the legacy shell's behaviours: the fake mongosh only
// stands in for it.
func TestMongoDBProbeScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: probe.js is checked through the fakes only")
	}
	// probeFor is the probe.js a dump writes in a container whose root
	// user is user, with password (none where user is empty): the one the
	// fake mongosh was given.
	probes := map[string]string{}
	probeFor := func(user, password string) string {
		if probe, ok := probes[user]; ok {
			return probe
		}
		env := map[string]string{}
		if user != "" {
			env = map[string]string{"MONGO_INITDB_ROOT_USERNAME": user, "MONGO_INITDB_ROOT_PASSWORD": password}
		}
		c := newContainer(t, "/bin/sh", env)
		c.dump(mongoPlan(t, c))
		probes[user] = c.read(filepath.Join(c.log, "probe.js"))
		return probes[user]
	}
	// The mock: the server's state comes in SERVER (JSON); SHELL is mongosh
	// (throws on errors) or mongo (returns ok: 0).
	const mock = `
const server = JSON.parse(process.env.SERVER);
const mongosh = process.env.SHELL_KIND === 'mongosh';
let authed = false;
function fail(message) {
	if (mongosh) throw new Error(message);
	return { ok: 0, errmsg: message };
}
const admin = {
	auth(user, password) {
		if (server.users[user] !== password) {
			if (mongosh) throw new Error('Authentication failed.');
			return 0;
		}
		authed = true;
		return mongosh ? { ok: 1 } : 1;
	},
	runCommand(command) {
		if (server.auth && !authed) return fail('command requires authentication');
		if (command.getCmdLineOpts) return { ok: 1, parsed: server.parsed };
		if (command.hello) return server.old ? fail('no such command: hello') : Object.assign({ ok: 1 }, server.hello);
		if (command.isMaster) return Object.assign({ ok: 1 }, server.isMaster);
		return fail('unexpected command');
	},
};
const db = { getSiblingDB(name) { if (name !== 'admin') throw new Error(name); return admin; } };
class Quit { constructor(code) { this.code = code; } }
function print(line) { console.log(line); }
function quit(code) { throw new Quit(code); }
try {
	eval(require('fs').readFileSync(process.env.PROBE, 'utf8'));
} catch (e) {
	if (!(e instanceof Quit)) throw e;
	process.exitCode = e.code;
}
`
	dir := t.TempDir()
	probeFile, mockFile := filepath.Join(dir, "probe.js"), filepath.Join(dir, "mock.js")
	writeFile(t, mockFile, mock)

	password := mongoPassword
	enforced := `"parsed":{"security":{"authorization":"enabled"}}`
	tests := []struct {
		name, user, server, want string
		code                     int
	}{
		{"standalone", "root", `{"auth":true,` + enforced + `,"hello":{"isWritablePrimary":true}}`, "real set= writable=true", 0},
		{"primary", "root", `{"auth":true,` + enforced + `,"hello":{"isWritablePrimary":true,"setName":"rs0"}}`, "real set=rs0 writable=true", 0},
		{"secondary", "root", `{"auth":true,` + enforced + `,"hello":{"isWritablePrimary":false,"secondary":true,"setName":"rs0"}}`, "real set=rs0 writable=false", 0},
		{"keyFile", "root", `{"auth":true,"parsed":{"security":{"keyFile":"/etc/key"}},"hello":{"isWritablePrimary":true,"setName":"rs0"}}`, "real set=rs0 writable=true", 0},
		{"before hello", "root", `{"auth":true,` + enforced + `,"old":true,"isMaster":{"ismaster":true}}`, "real set= writable=true", 0},
		{"temporary, root created", "root", `{"auth":false,"parsed":{"processManagement":{"fork":true},"net":{"bindIp":"127.0.0.1"}},"hello":{"isWritablePrimary":true}}`, "temporary", 4},
		{"temporary, authorization off", "root", `{"auth":false,"parsed":{},"hello":{"isWritablePrimary":true}}`, "temporary", 4},
		{"temporary, without a login", "", `{"auth":false,"parsed":{"processManagement":{"fork":true}},"hello":{"isWritablePrimary":true}}`, "temporary", 4},
		{"without a login", "", `{"auth":false,"parsed":{},"hello":{"isWritablePrimary":true}}`, "real set= writable=true", 0},
		{"wrong user", "admin", `{"auth":true,` + enforced + `}`, "login-failed", 2},
		{"real server, no login", "", `{"auth":true,` + enforced + `}`, "error ", 3},
	}
	for _, shell := range []string{"mongosh", "mongo"} {
		for _, tt := range tests {
			t.Run(shell+"/"+tt.name, func(t *testing.T) {
				server := strings.Replace(tt.server, "{", `{"users":{"root":`+jsonString(password)+`},`, 1)
				writeFile(t, probeFile, probeFor(tt.user, password))
				cmd := exec.Command(node, mockFile)
				cmd.Env = append(os.Environ(), "SERVER="+server, "SHELL_KIND="+shell, "PROBE="+probeFile)
				out, err := cmd.CombinedOutput()
				code := 0
				if exit, ok := err.(*exec.ExitError); ok {
					code = exit.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != tt.code || !strings.HasPrefix(strings.TrimSpace(string(out)), "styrmin-mongo "+tt.want) {
					t.Errorf("probe: exit %d, output %q; want exit %d and styrmin-mongo %s", code, out, tt.code, tt.want)
				}
			})
		}
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Images before mongosh have the legacy mongo shell, which runs probe.js
// alike; without either, the scripts cannot tell the servers apart and fail.
func TestMongoDBShells(t *testing.T) {
	without := func(tools []string, tool string) []string {
		return slices.DeleteFunc(slices.Clone(tools), func(t string) bool { return t == tool })
	}
	c := newContainer(t, "/bin/sh", map[string]string{"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": "pw"})
	c.fakes = append(without(fakeTools, "mongosh"), "mongo")
	plan := mongoPlan(t, c)
	dump := c.dump(plan)
	if r := c.run(restoreScript(t, plan, recordedBy(t, plan, dump))); r.code != 0 {
		t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
	}
	if c.called("mongosh") || len(c.argv("mongo")) != 3 {
		t.Errorf("the probe did not run in the legacy shell:\n%s", c.calls())
	}

	c = newContainer(t, "/bin/sh", nil)
	c.fakes = without(fakeTools, "mongosh")
	r := c.run(backupScript(t, mongoPlan(t, c)))
	if r.code == 0 || !strings.Contains(r.stderr, "the container has neither mongosh nor mongo") || c.called("mongodump") {
		t.Errorf("dump without a shell: exit %d, stderr %q", r.code, r.stderr)
	}
}
