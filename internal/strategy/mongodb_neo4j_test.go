package strategy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// MongoDB and Neo4j servers are not packaged for this machine: these tests
// check the commands the scripts run, through the fakes, and the script text.

func kindPlan(t *testing.T, c *container, kind driverspec.Kind, databases ...string) *Plan {
	t.Helper()
	component := Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
		Enabled: true, Kind: kind, Volumes: []string{"dump"}, Databases: databases, Timeout: 2 * time.Second,
	}}
	plan, err := Resolve(component, []corev1.Pod{c.pod()})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestMongoDBDumpAndRestore(t *testing.T) {
	const password = `mongo 'secret' $x`
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{
				"MONGO_INITDB_ROOT_USERNAME": "root", "MONGO_INITDB_ROOT_PASSWORD": password,
			})
			plan := kindPlan(t, c, driverspec.KindMongoDB)
			dump := backupScript(t, plan)
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			c.checkDump("mongodb.sha256", "mongodb.archive.gz")
			argv := c.argv("mongodump")
			config := strings.TrimPrefix(argv[0], "--config=")
			want := []string{"--config=" + config, "--username=root", "--authenticationDatabase=admin", "--archive=mongodb.archive.gz.tmp", "--gzip"}
			if !slices.Equal(argv, want) {
				t.Errorf("mongodump argv %q, want %q", argv, want)
			}
			if got, want := c.read(filepath.Join(c.log, "mongodump.config")), "password: 'mongo ''secret'' $x'\n"; got != want {
				t.Errorf("mongodump config %q, want %q", got, want)
			}
			if got := strings.TrimSpace(c.read(filepath.Join(c.log, "mongodump.config-mode"))); got != "600" {
				t.Errorf("mongodump config mode %s, want 600", got)
			}
			if c.exists(config) {
				t.Error("the config file with the password outlived the dump")
			}
			c.checkSecretsStayOut(dump[2], r, "secret")

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
			if c.exists(config) {
				t.Error("the config file with the password outlived the restore")
			}
			c.checkSecretsStayOut(restore[2], r, "secret")
		})
	}
}

func TestMongoDBWithoutAuthenticationAndListedDatabases(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	plan := kindPlan(t, c, driverspec.KindMongoDB, "shop", "logs")
	dump := c.dump(plan)
	c.checkDump("mongodb.sha256", "mongodb-shop.archive.gz", "mongodb-logs.archive.gz")
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

func TestNeo4jDumpAndLoad(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{"NEO4J_initial_dbms_default__database": "graph", "NEO4J_AUTH": "neo4j/secret"})
			plan := kindPlan(t, c, driverspec.KindNeo4j)
			dump := backupScript(t, plan)
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			c.checkDump("neo4j.sha256", "neo4j.dump", "neo4j-system.dump")
			if got := c.read(filepath.Join(c.dumpDir(), "neo4j.dump")); got != "fake neo4j dump of graph\n" {
				t.Errorf("neo4j.dump = %q, want the default database's dump", got)
			}
			want := []string{"database", "dump", "system", "--to-path=" + c.dumpDir() + "/neo4j.staging", "--overwrite-destination=true"}
			if got := c.argv("neo4j-admin"); !slices.Equal(got, want) {
				t.Errorf("neo4j-admin argv %q, want %q", got, want)
			}

			r = c.run(restoreScript(t, plan, recordedBy(t, plan, r)))
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			want = []string{"database", "load", "graph", "--from-path=" + c.dumpDir() + "/neo4j.staging", "--overwrite-destination=true"}
			if got := c.argv("neo4j-admin"); !slices.Equal(got, want) {
				t.Errorf("neo4j-admin argv %q, want %q", got, want)
			}
			if got := c.read(filepath.Join(c.log, "loaded.graph")); got != "fake neo4j dump of graph\n" {
				t.Errorf("loaded %q into graph", got)
			}
			if got := c.read(filepath.Join(c.log, "loaded.system")); got != "fake neo4j dump of system\n" {
				t.Errorf("loaded %q into system", got)
			}
			// system (users, roles, the database registry) loads first.
			calls := c.calls()
			if strings.Index(calls, "<load> <system>") > strings.Index(calls, "<load> <graph>") {
				t.Errorf("graph loaded before system:\n%s", calls)
			}
			if strings.Contains(calls, "ping") || c.called("cypher-shell") {
				t.Error("the neo4j restore waited for a server it needs offline")
			}
			c.checkNoTemporaryFiles()
		})
	}
}

func TestNeo4jPlanWarnsAboutDowntime(t *testing.T) {
	c := newContainer(t, "/bin/sh", nil)
	plan := kindPlan(t, c, driverspec.KindNeo4j, "movies")
	if !slices.Contains(plan.Warnings, neo4jOfflineWarning) {
		t.Errorf("Warnings = %q, want the offline warning", plan.Warnings)
	}
	dumpScript, restoreScript := plan.dumpScript(testBackup), plan.restoreScript(testBackup, map[string]string{testPodName: "a marker"})
	for _, script := range []string{dumpScript, restoreScript} {
		for _, forbidden := range []string{"STOP DATABASE", "START DATABASE", "cypher-shell", "neo4j stop", "neo4j start"} {
			if strings.Contains(script, forbidden) {
				t.Errorf("a neo4j script runs %q: the hooks must not stop or start databases", forbidden)
			}
		}
	}
	if !strings.Contains(dumpScript, `neo4j-admin database dump "$styrmin_db" --to-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true`) {
		t.Errorf("dump script lacks the neo4j-admin 5.x dump command:\n%s", dumpScript)
	}
	if !strings.Contains(restoreScript, `neo4j-admin database load "$styrmin_db" --from-path="$styrmin_dir/neo4j.staging" --overwrite-destination=true`) {
		t.Errorf("restore script lacks the neo4j-admin 5.x load command:\n%s", restoreScript)
	}
}
