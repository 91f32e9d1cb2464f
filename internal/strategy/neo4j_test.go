package strategy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// The fake Neo4j server (harness_test.go) refuses what the real one refuses:
// neo4j-admin dump, load and restore of a database that is in use, STOP
// DATABASE outside Enterprise edition or of the system database, an online
// backup outside Enterprise edition or without a running server.

// neo4jPassword is NEO4J_AUTH's password part, with a slash and every
// character that shell quoting gets wrong.
const neo4jPassword = `neo4j pa$$/w'rd "x" $(touch pwned) ` + "`id`"

// neo4jEnterprise is the environment of an Enterprise server's container:
// NEO4J_EDITION comes from the official image, the rest from the pod.
func neo4jEnterprise() map[string]string {
	return map[string]string{
		"NEO4J_EDITION":                        "enterprise",
		"NEO4J_AUTH":                           "neo4j/" + neo4jPassword,
		"NEO4J_initial_dbms_default__database": "graph",
	}
}

// neo4jServer is the server's container in a pod as the official image's
// chart would write it: data and dump volumes, the neo4j user, resources.
func neo4jServer(c *container, image string) corev1.Container {
	server := testContainer("neo4j", "data:/data", "dump:"+c.mount)
	server.Image = image
	server.ImagePullPolicy = corev1.PullIfNotPresent
	uid := int64(7474)
	server.SecurityContext = &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &uid}
	server.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}
	return server
}

func neo4jPlan(t *testing.T, server corev1.Container, databases ...string) *Plan {
	t.Helper()
	component := Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
		Enabled: true, Kind: driverspec.KindNeo4j, Volumes: []string{"dump"}, Databases: databases, Timeout: time.Minute,
	}}
	pod := testPod(testPodName, corev1.PodRunning, []string{"data", "dump"}, server)
	plan, err := Resolve(component, []corev1.Pod{pod})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// neo4jVersions are the neo4j-admin versions whose syntax the scripts pick:
// 4.x, 5.x, and the calendar versions after 5.26.
var neo4jVersions = []string{"4.4.26", "5.26.0", "2025.01.0"}

// events is what the fake server did to its databases, in order.
func (c *container) events() []string {
	if !c.exists(filepath.Join(c.log, "neo4j.events")) {
		return nil
	}
	return strings.Split(strings.TrimSuffix(c.read(filepath.Join(c.log, "neo4j.events")), "\n"), "\n")
}

// stoppedDatabases are the databases STOP DATABASE left stopped.
func (c *container) stoppedDatabases() []string {
	entries, _ := os.ReadDir(filepath.Join(c.log, "neo4j.stopped"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// callsOf are the calls of tool, one per line as the calls log holds them.
func (c *container) callsOf(tool string) []string {
	var calls []string
	for _, line := range strings.Split(c.calls(), "\n") {
		if strings.HasPrefix(line, tool+" ") {
			calls = append(calls, line)
		}
	}
	return calls
}

// dbmsStopped makes the fake DBMS not running, as in an init container
// before the server starts.
func (c *container) dbmsStopped(stopped bool) {
	state := "running"
	if stopped {
		state = "stopped"
	}
	writeFile(c.t, filepath.Join(c.log, "neo4j.dbms"), state+"\n")
}

// Enterprise: each database is stopped, dumped and started again, one at a
// time; system, which cannot be stopped, is backed up online.
func TestNeo4jEnterpriseDumpStopsDumpsStarts(t *testing.T) {
	for _, version := range neo4jVersions {
		for _, shell := range shells(t) {
			t.Run(version+"/"+filepath.Base(shell), func(t *testing.T) {
				c := newContainer(t, shell, neo4jEnterprise())
				plan := neo4jPlan(t, neo4jServer(c, "neo4j:"+version+"-enterprise"))
				dump := backupScript(t, plan)
				r := c.run(dump, "FAKE_NEO4J_VERSION="+version)
				if r.code != 0 {
					t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
				}
				c.checkDump("neo4j.sha256", "neo4j.dump", "neo4j-system.backup", "neo4j.info")
				c.checkReports(plan, r)
				if diff := cmp.Diff([]string{"stop graph", "dump graph", "start graph", "backup system"}, c.events()); diff != "" {
					t.Errorf("what the dump did (-want +got):\n%s", diff)
				}
				if stopped := c.stoppedDatabases(); len(stopped) > 0 {
					t.Errorf("the dump left %q stopped", stopped)
				}
				if got := c.read(filepath.Join(c.dumpDir(), "neo4j.dump")); got != "fake neo4j dump of graph\n" {
					t.Errorf("neo4j.dump = %q, want the default database's dump", got)
				}
				if got, want := c.read(filepath.Join(c.dumpDir(), "neo4j.info")), "version="+version+"\nedition=enterprise\ndefault_database=graph\n"; got != want {
					t.Errorf("neo4j.info = %q, want %q", got, want)
				}
				staging := c.dumpDir() + "/neo4j.staging"
				want := []string{
					"neo4j-admin <database> <dump> <graph> <--to-path=" + staging + "> <--overwrite-destination=true>",
					"neo4j-admin <database> <backup> <system> <--to-path=" + staging + "/backup>",
				}
				if strings.HasPrefix(version, "4.") {
					want = []string{
						"neo4j-admin <dump> <--database=graph> <--to=" + staging + "/graph.dump>",
						"neo4j-admin <backup> <--backup-dir=" + staging + "/backup> <--database=system>",
					}
				}
				if diff := cmp.Diff(append([]string{"neo4j-admin <--version>"}, want...), c.callsOf("neo4j-admin")); diff != "" {
					t.Errorf("neo4j-admin calls (-want +got):\n%s", diff)
				}
				// cypher-shell logs in through its environment, on the system database.
				if got, want := c.argv("cypher-shell"), []string{"-d", "system", "--format", "plain"}; !slices.Equal(got, want) {
					t.Errorf("cypher-shell argv %q, want %q", got, want)
				}
				if env := c.toolEnv("cypher-shell"); env["NEO4J_USERNAME"] != "neo4j" || env["NEO4J_PASSWORD"] != neo4jPassword {
					t.Errorf("cypher-shell got NEO4J_USERNAME %q, NEO4J_PASSWORD %q", env["NEO4J_USERNAME"], env["NEO4J_PASSWORD"])
				}
				if got, want := c.read(filepath.Join(c.log, "cypher-shell.stdin")), "STOP DATABASE `graph` WAIT;\nSTART DATABASE `graph` WAIT;\n"; got != want {
					t.Errorf("cypher-shell ran %q, want %q", got, want)
				}
				if !strings.Contains(r.stderr, "stopping database graph to dump it: it is unavailable until the dump is done") {
					t.Errorf("the dump did not say it takes the database offline:\n%s", r.stderr)
				}
				if c.exists(filepath.Join(c.mount, "pwned")) || c.exists(filepath.Join(c.dumpDir(), "pwned")) {
					t.Error("the password was run as a command")
				}
				c.checkSecretsStayOut(dump[2], r, neo4jPassword, "pa$$")
			})
		}
	}
}

// Whatever fails once a database is stopped, the dump starts it again.
func TestNeo4jDumpStartsTheDatabaseAgain(t *testing.T) {
	tests := []struct {
		name, fail string
		want       []string
		wantStderr string
	}{
		{"the dump fails", "dump", []string{"stop graph", "start graph"}, "starting database graph again"},
		{"the online backup fails", "backup", []string{"stop graph", "dump graph", "start graph"}, "fake neo4j-admin: backup fails as asked"},
		{"the start fails", "start", []string{"stop graph", "dump graph"}, "database graph was dumped but did not start again: start it with START DATABASE"},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, neo4jEnterprise())
				plan := neo4jPlan(t, neo4jServer(c, "neo4j:5-enterprise"))
				r := c.run(backupScript(t, plan), "FAKE_NEO4J_FAIL="+tt.fail)
				if r.code == 0 || !strings.Contains(r.stderr, tt.wantStderr) {
					t.Errorf("dump: exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tt.wantStderr)
				}
				if diff := cmp.Diff(tt.want, c.events()); diff != "" {
					t.Errorf("what the dump did (-want +got):\n%s", diff)
				}
				if tt.fail != "start" && len(c.stoppedDatabases()) > 0 {
					t.Errorf("the dump left %q stopped", c.stoppedDatabases())
				}
				if c.exists(plan.Marker) {
					t.Error("a failed dump left a marker")
				}
				c.checkNoTemporaryFiles()
			})
		}
	}
}

// The dump is interrupted (Velero, or the pod, sends TERM) while the
// database is stopped: it starts the database on its way out.
func TestNeo4jDumpStartsTheDatabaseWhenInterrupted(t *testing.T) {
	c := newContainer(t, "/bin/sh", neo4jEnterprise())
	plan := neo4jPlan(t, neo4jServer(c, "neo4j:5-enterprise"))
	script := backupScript(t, plan)
	// The interruption comes as neo4j-admin dumps.
	script[2] = strings.Replace(script[2], "\nadmin_dump ", "\nkill -TERM $$\nadmin_dump ", 1)
	r := c.run(script)
	if r.code == 0 {
		t.Fatal("an interrupted dump succeeded")
	}
	if diff := cmp.Diff([]string{"stop graph", "start graph"}, c.events()); diff != "" {
		t.Errorf("what the dump did (-want +got):\n%s", diff)
	}
}

// Community edition cannot dump a running database and cannot stop one:
// the dump refuses before it touches the server.
func TestNeo4jCommunityDumpIsRefused(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		fakeEnv []string
	}{
		{"NEO4J_EDITION", map[string]string{"NEO4J_EDITION": "community", "NEO4J_AUTH": "neo4j/pw"}, nil},
		{"the server's answer", map[string]string{"NEO4J_AUTH": "neo4j/pw"}, []string{"FAKE_NEO4J_EDITION=community"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, "/bin/sh", tt.env)
			plan := neo4jPlan(t, neo4jServer(c, "neo4j:5.26.0"))
			r := c.run(backupScript(t, plan), tt.fakeEnv...)
			if r.code == 0 || !strings.Contains(r.stderr, "Neo4j Community edition cannot dump a running database") {
				t.Errorf("dump: exit %d, stderr %q; want the refusal of Community edition", r.code, r.stderr)
			}
			if events := c.events(); len(events) > 0 {
				t.Errorf("the refused dump did %q", events)
			}
			if c.called("neo4j-admin") {
				t.Errorf("neo4j-admin ran: %q", c.callsOf("neo4j-admin"))
			}
			if c.exists(plan.Marker) {
				t.Error("a refused dump left a marker")
			}
		})
	}

	// Without NEO4J_EDITION, an Enterprise server's answer lets the dump run.
	c := newContainer(t, "/bin/sh", map[string]string{"NEO4J_AUTH": "neo4j/pw"})
	plan := neo4jPlan(t, neo4jServer(c, "registry.example/graph:1"))
	c.dump(plan, "FAKE_NEO4J_EDITION=enterprise")
	if got := c.read(filepath.Join(c.log, "cypher-shell.stdin")); !strings.HasPrefix(got, "CALL dbms.components() YIELD edition RETURN edition;\n") {
		t.Errorf("cypher-shell ran %q, want the edition asked first", got)
	}
	if got := c.read(filepath.Join(c.dumpDir(), "neo4j.info")); !strings.Contains(got, "edition=enterprise\ndefault_database=neo4j\n") {
		t.Errorf("neo4j.info = %q", got)
	}
}

// The fakes refuse what the real tools refuse, which is why the dump stops
// databases and the load runs before the server: neo4j-admin never touches
// a database in use.
func TestNeo4jFakesRefuseWhatTheServerRefuses(t *testing.T) {
	tests := []struct {
		name, command, version, want string
		env                          map[string]string
	}{
		{"5.x dump of a running database", "neo4j-admin database dump graph --to-path=.", "5.26.0",
			"The database is in use. Stop database 'graph' and try again.", nil},
		{"5.x load into a running database", "neo4j-admin database load graph --from-path=. --overwrite-destination=true", "5.26.0",
			"The database is in use. Stop database 'graph' and try again.", nil},
		{"4.x dump of a running database", "neo4j-admin dump --database=graph --to=graph.dump", "4.4.26",
			"The database is in use. Stop database 'graph' and try again.", nil},
		{"4.x load into a running database", "neo4j-admin load --from=graph.dump --database=graph --force", "4.4.26",
			"The database is in use. Stop database 'graph' and try again.", nil},
		{"5.x syntax on 4.x", "neo4j-admin database dump graph --to-path=.", "4.4.26", "unrecognized command: database", nil},
		{"4.x syntax on 5.x", "neo4j-admin dump --database=graph --to=graph.dump", "5.26.0", "Unmatched argument at index 0: 'dump'", nil},
		{"a 5.x load without --overwrite-destination", "neo4j-admin database load graph --from-path=.", "5.26.0",
			"missing --overwrite-destination=true", map[string]string{"NEO4J_EDITION": "enterprise"}},
		{"an online backup on Community", "neo4j-admin database backup system --to-path=.", "5.26.0", "Unmatched argument at index 1: 'backup'", nil},
		{"STOP DATABASE on Community", "echo 'STOP DATABASE `graph` WAIT;' | cypher-shell -d system", "5.26.0",
			"Unsupported administration command", nil},
		{"STOP DATABASE system", "echo 'STOP DATABASE `system` WAIT;' | cypher-shell -d system", "5.26.0",
			"Not allowed to stop system database.", map[string]string{"NEO4J_EDITION": "enterprise"}},
		{"STOP DATABASE outside the system database", "echo 'STOP DATABASE `graph` WAIT;' | cypher-shell -d neo4j", "5.26.0",
			"should be executed against the system database", map[string]string{"NEO4J_EDITION": "enterprise"}},
		{"a wrong login", "echo 'STOP DATABASE `graph` WAIT;' | NEO4J_USERNAME=neo4j NEO4J_PASSWORD=no cypher-shell -d system", "5.26.0",
			"unauthorized due to authentication failure", map[string]string{"NEO4J_EDITION": "enterprise", "NEO4J_AUTH": "neo4j/pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContainer(t, "/bin/sh", tt.env)
			r := c.run([]string{"/bin/sh", "-c", tt.command}, "FAKE_NEO4J_VERSION="+tt.version)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%s: exit %d, stderr %q; want a refusal saying %q", tt.command, r.code, r.stderr, tt.want)
			}
			if events := c.events(); len(events) > 0 {
				t.Errorf("the refused command did %q", events)
			}
		})
	}
}

// The load runs in an init container of the restored pod, before the server
// starts; an exec hook in the server's container then checks it did.
func TestNeo4jRestoreLoadsInAnInitContainer(t *testing.T) {
	for _, version := range neo4jVersions {
		for _, shell := range shells(t) {
			t.Run(version+"/"+filepath.Base(shell), func(t *testing.T) {
				source := newContainer(t, shell, neo4jEnterprise())
				server := neo4jServer(source, "neo4j:"+version+"-enterprise")
				plan := neo4jPlan(t, server)
				recorded := recordedBy(t, plan, source.dump(plan, "FAKE_NEO4J_VERSION="+version))

				hooks := plan.RestoreHooks("shop-clone", testBackup, recorded)
				if hooks == nil || len(hooks.PostHooks) != 2 || hooks.PostHooks[0].Init == nil || hooks.PostHooks[0].Exec != nil ||
					hooks.PostHooks[1].Exec == nil || hooks.PostHooks[1].Init != nil {
					t.Fatalf("restore hooks %+v, want an init hook, then an exec hook", hooks)
				}
				init := initContainerOf(t, hooks.PostHooks[0].Init)
				check := hooks.PostHooks[1].Exec

				// The restored pod: the dump volume as the backup holds it, a
				// server that has not started, and in the init container
				// none of the server's environment but the image's.
				c := newContainer(t, shell, map[string]string{"NEO4J_EDITION": "enterprise"})
				c.mount = source.mount
				c.dbmsStopped(true)
				r := c.run(init.Command, "FAKE_NEO4J_VERSION="+version)
				if r.code != 0 {
					t.Fatalf("the init container exited %d:\n%s", r.code, r.stderr)
				}
				// system (users, roles, the registry of databases) first.
				if diff := cmp.Diff([]string{"restore system", "load graph"}, c.events()); diff != "" {
					t.Errorf("what the load did (-want +got):\n%s", diff)
				}
				// (4.x: through the tar of the backup directory.)
				if got := c.read(filepath.Join(c.log, "loaded.system")); got != "fake neo4j backup of system\n" {
					t.Errorf("restored %q into system", got)
				}
				if got := c.read(filepath.Join(c.log, "loaded.graph")); got != "fake neo4j dump of graph\n" {
					t.Errorf("loaded %q into graph: the default database's name must come from neo4j.info", got)
				}
				staging := c.dumpDir() + "/neo4j.staging"
				want := []string{
					"neo4j-admin <database> <restore> <--from-path=" + staging + "/backup/system.backup> <system> <--overwrite-destination=true>",
					"neo4j-admin <database> <load> <graph> <--from-path=" + staging + "> <--overwrite-destination=true>",
				}
				if strings.HasPrefix(version, "4.") {
					want = []string{
						"neo4j-admin <restore> <--from=" + staging + "/backup/system> <--database=system> <--force>",
						"neo4j-admin <load> <--from=" + c.dumpDir() + "/neo4j.dump> <--database=graph> <--force>",
					}
				}
				if diff := cmp.Diff(append([]string{"neo4j-admin <--version>"}, want...), c.callsOf("neo4j-admin")); diff != "" {
					t.Errorf("neo4j-admin calls (-want +got):\n%s", diff)
				}
				if c.called("cypher-shell") {
					t.Error("the load talked to a server, which is not running yet")
				}
				if got := c.read(filepath.Join(c.dumpDir(), "neo4j.loaded")); got != testBackup+"\n" {
					t.Errorf("neo4j.loaded = %q, want the backup's name", got)
				}
				c.checkNoTemporaryFiles()

				// The server starts; the exec hook finds the load done.
				c.dbmsStopped(false)
				if check.Container != "neo4j" {
					t.Errorf("the check runs in %q, want the server's container", check.Container)
				}
				if r := c.run(check.Command); r.code != 0 || !strings.Contains(r.stderr, "loaded backup "+testBackup+" before the server started") {
					t.Errorf("the check: exit %d, stderr %q", r.code, r.stderr)
				}

				// The pod's sandbox is recreated (a node reboot): the init
				// container runs again and must not load over the server's data.
				c.dbmsStopped(true)
				r = c.run(init.Command, "FAKE_NEO4J_VERSION="+version)
				if r.code != 0 || !strings.Contains(r.stderr, "was loaded into this pod before") {
					t.Errorf("the init container again: exit %d, stderr %q", r.code, r.stderr)
				}
				if len(c.events()) != 2 {
					t.Errorf("the init container loaded again: %q", c.events())
				}
			})
		}
	}
}

// Loading needs the database not running: the init container is the only
// place a hook can load, and the check fails the restore when it did not.
func TestNeo4jRestoreFailures(t *testing.T) {
	source := newContainer(t, "/bin/sh", neo4jEnterprise())
	plan := neo4jPlan(t, neo4jServer(source, "neo4j:5-enterprise"))
	recorded := recordedBy(t, plan, source.dump(plan, "FAKE_NEO4J_VERSION=4.4.26"))
	hooks := plan.RestoreHooks("shop-clone", testBackup, recorded)
	init := initContainerOf(t, hooks.PostHooks[0].Init)

	// restored is a restored pod with the dump volume as the backup holds
	// it (none of these loads changes it).
	restored := func() *container {
		c := newContainer(t, "/bin/sh", map[string]string{"NEO4J_EDITION": "enterprise"})
		c.mount = source.mount
		return c
	}

	// As the post-restore exec hook used to: the server is running.
	c := restored()
	if r := c.run(init.Command, "FAKE_NEO4J_VERSION=4.4.26"); r.code == 0 || !strings.Contains(r.stderr, "The database is in use. Stop database 'system' and try again.") {
		t.Errorf("a load into a running server: exit %d, stderr %q; want neo4j-admin's refusal", r.code, r.stderr)
	}
	if r := c.run(hooks.PostHooks[1].Exec.Command); r.code == 0 ||
		!strings.Contains(r.stderr, "the init container styrmin-neo4j-load did not load backup "+testBackup+" into this pod") {
		t.Errorf("the check after a failed load: exit %d, stderr %q", r.code, r.stderr)
	}

	// An image of another major version than the dump's.
	c = restored()
	c.dbmsStopped(true)
	if r := c.run(init.Command, "FAKE_NEO4J_VERSION=5.26.0"); r.code == 0 ||
		!strings.Contains(r.stderr, "the dump was made by Neo4j 4.4.26 and this image runs Neo4j 5.26.0") {
		t.Errorf("a load by another major version: exit %d, stderr %q", r.code, r.stderr)
	}
	if events := c.events(); len(events) > 0 {
		t.Errorf("the refused load did %q", events)
	}

	// A dump another backup made.
	c = restored()
	c.dbmsStopped(true)
	other := initContainerOf(t, plan.RestoreHooks("shop-clone", otherBackup, recorded).PostHooks[0].Init)
	c.checkRefused(c.run(other.Command, "FAKE_NEO4J_VERSION=4.4.26"), "was made for backup '"+testBackup+"', not for "+otherBackup)
}

// Listed databases: each user database is stopped, dumped and started;
// system, listed too, is backed up online and restored first.
func TestNeo4jListedDatabases(t *testing.T) {
	c := newContainer(t, "/bin/sh", neo4jEnterprise())
	plan := neo4jPlan(t, neo4jServer(c, "neo4j:5-enterprise"), "movies", "system", "people")
	recorded := recordedBy(t, plan, c.dump(plan))
	c.checkDump("neo4j.sha256", "neo4j-movies.dump", "neo4j-system.backup", "neo4j-people.dump", "neo4j.info")
	want := []string{"stop movies", "dump movies", "start movies", "backup system", "stop people", "dump people", "start people"}
	if diff := cmp.Diff(want, c.events()); diff != "" {
		t.Errorf("what the dump did (-want +got):\n%s", diff)
	}
	if got := c.read(filepath.Join(c.dumpDir(), "neo4j.info")); got != "version=5.26.0\nedition=enterprise\n" {
		t.Errorf("neo4j.info = %q", got)
	}

	restored := newContainer(t, "/bin/sh", nil)
	restored.mount = c.mount
	restored.dbmsStopped(true)
	init := initContainerOf(t, plan.RestoreHooks("shop-clone", testBackup, recorded).PostHooks[0].Init)
	if r := restored.run(init.Command); r.code != 0 {
		t.Fatalf("the init container exited %d:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff([]string{"restore system", "load movies", "load people"}, restored.events()); diff != "" {
		t.Errorf("what the load did (-want +got):\n%s", diff)
	}
}

// The init container Velero adds: the server's image, mounts, user and
// resources, as canonical JSON; the exec hook that checks it.
func TestNeo4jRestoreHookSpec(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	server := neo4jServer(c, "neo4j:5.26.0-enterprise")
	plan := neo4jPlan(t, server)
	if diff := cmp.Diff([]string{neo4jDowntimeWarning}, plan.Warnings); diff != "" {
		t.Errorf("Warnings (-want +got):\n%s", diff)
	}
	if !plan.HasRestoreHook() || !plan.HasInitRestoreHook() || plan.CheckRestore() != nil {
		t.Errorf("HasRestoreHook %v, HasInitRestoreHook %v, CheckRestore %v", plan.HasRestoreHook(), plan.HasInitRestoreHook(), plan.CheckRestore())
	}
	recorded := map[string]string{testPodName: "a marker"}
	hooks := plan.RestoreHooks("shop-clone", testBackup, recorded)
	if hooks.Name != "styrmin-db" || !slices.Equal(hooks.IncludedNamespaces, []string{"shop-clone"}) {
		t.Errorf("restore hook spec %q in %q", hooks.Name, hooks.IncludedNamespaces)
	}
	initHook := hooks.PostHooks[0].Init
	if initHook.Timeout.Duration != time.Minute {
		t.Errorf("init hook timeout %v, want the plan's", initHook.Timeout.Duration)
	}
	got := initContainerOf(t, initHook)
	want, err := plan.RestoreInitContainer(testBackup, recorded)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the init hook's container is not RestoreInitContainer's (-want +got):\n%s", diff)
	}
	wantSpec := corev1.Container{
		Name: "styrmin-neo4j-load", Image: server.Image, ImagePullPolicy: corev1.PullIfNotPresent,
		Command: got.Command, VolumeMounts: server.VolumeMounts, SecurityContext: server.SecurityContext, Resources: server.Resources,
	}
	if diff := cmp.Diff(wantSpec, got); diff != "" {
		t.Errorf("init container (-want +got):\n%s", diff)
	}
	if len(got.Command) != 3 || got.Command[0] != "/bin/sh" || got.Command[1] != "-c" || !strings.Contains(got.Command[2], "admin_load ") ||
		!strings.Contains(got.Command[2], "'db-0') styrmin_recorded='a marker'") {
		t.Errorf("init container command %q, want [/bin/sh -c <load script checking the recorded marker>]", got.Command)
	}
	// The JSON is canonical (keys sorted), as the API server gives a raw
	// field back, so that an existing Restore compares equal.
	raw := initHook.InitContainers[0].Raw
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if canonical, _ := json.Marshal(generic); string(canonical) != string(raw) {
		t.Errorf("init container JSON is not canonical:\n%s", raw)
	}
	check := hooks.PostHooks[1].Exec
	if check.Container != "neo4j" || check.OnError != velerov1.HookErrorModeFail || check.ExecTimeout.Duration != time.Minute ||
		check.WaitTimeout.Duration != time.Minute+restoreContainerWait || check.WaitForReady == nil || *check.WaitForReady {
		t.Errorf("check hook %+v", check)
	}

	// A plan rebuilt from a pod skeleton that does not name the image.
	server.Image = ""
	skeleton := neo4jPlan(t, server)
	if err := skeleton.CheckRestore(); err == nil || !strings.Contains(err.Error(), `runs the image of container "neo4j", and that image is not known`) {
		t.Errorf("CheckRestore without an image: %v", err)
	}
	if _, err := skeleton.RestoreInitContainer(testBackup, recorded); err == nil {
		t.Error("RestoreInitContainer without an image succeeded")
	}
	// Other kinds restore in an exec hook.
	postgres := postgresPlan(t, c)
	if _, err := postgres.RestoreInitContainer(testBackup, recorded); err == nil || postgres.HasInitRestoreHook() || postgres.CheckRestore() != nil {
		t.Errorf("postgres: RestoreInitContainer error %v, HasInitRestoreHook %v", err, postgres.HasInitRestoreHook())
	}
	var none *Plan
	if none.HasInitRestoreHook() || none.CheckRestore() != nil || none.RestoreHooks("ns", testBackup, nil) != nil {
		t.Error("a nil plan has restore hooks")
	}
}

func TestNeo4jPlanWarnings(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	for image, community := range map[string]bool{
		"neo4j:5.26.0":                      true,
		"docker.io/library/neo4j:5":         true,
		"neo4j:5.26.0-community":            true,
		"neo4j:5.26.0-enterprise":           false,
		"neo4j:enterprise":                  false,
		"registry.example/Neo4j-Enterprise": false,
	} {
		plan := neo4jPlan(t, neo4jServer(c, image))
		want := []string{neo4jDowntimeWarning}
		if community {
			want = append(want, `neo4j: image "`+image+`" is not named like an Enterprise image (the official ones have "enterprise" in their tag): `+
				"if it runs Community edition, every backup of this component fails, because Community edition cannot dump a running database")
		}
		if diff := cmp.Diff(want, plan.Warnings); diff != "" {
			t.Errorf("%s: Warnings (-want +got):\n%s", image, diff)
		}
	}
}

// Velero adds the init container an annotation names instead of the
// Restore's: such a pod is refused, like one with an exec hook annotation.
func TestNeo4jRefusesAnInitHookAnnotation(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	pod := testPod(testPodName, corev1.PodRunning, []string{"data", "dump"}, neo4jServer(c, "neo4j:5-enterprise"))
	pod.Annotations = map[string]string{"init.hook.restore.velero.io/container-image": "busybox"}
	component := Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindNeo4j, Volumes: []string{"dump"}}}
	if _, err := Resolve(component, []corev1.Pod{pod}); err == nil || !strings.Contains(err.Error(), `"init.hook.restore.velero.io/container-image"`) {
		t.Errorf("Resolve = %v, want the init hook annotation refused", err)
	}
	// Other kinds have no init hook to replace.
	postgres := postgresComponent("")
	pod.Spec.Containers[0].Name = "postgres"
	if _, err := Resolve(postgres, []corev1.Pod{pod}); err != nil {
		t.Errorf("postgres was refused for an init hook annotation: %v", err)
	}
}
