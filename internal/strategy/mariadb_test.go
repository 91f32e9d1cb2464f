package strategy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

func mariadbPlan(t *testing.T, c *container, databases ...string) *Plan {
	t.Helper()
	component := Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
		Enabled: true, Kind: driverspec.KindMariaDB, Volumes: []string{"dump"},
		Databases: databases, Timeout: 2 * time.Second,
	}}
	plan, err := Resolve(component, []corev1.Pod{c.pod()})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

var mariadbDumpFlags = []string{"--single-transaction", "--quick", "--routines", "--triggers", "--events", "--hex-blob", "--result-file=mariadb.sql.tmp"}

func TestMariaDBDumpAndRestore(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{
				"MARIADB_DATABASE": "app", "MARIADB_USER": "app", "MARIADB_PASSWORD": "app-secret",
				"MARIADB_ROOT_PASSWORD": trickyPassword,
			})
			plan := mariadbPlan(t, c)
			writeFile(t, filepath.Join(c.dumpDir(), "mariadb.sha256"), "old marker\n")

			dump := backupScript(t, plan)
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			c.checkDump("mariadb.sha256", "mariadb.sql")
			if c.exists(filepath.Join(c.log, "markers-seen")) {
				t.Errorf("mariadb-dump ran while a marker was present: %s", c.read(filepath.Join(c.log, "markers-seen")))
			}
			want := append([]string{"--user=root"}, mariadbDumpFlags...)
			want = append(want, "--databases", "app")
			if got := c.argv("mariadb-dump"); !slices.Equal(got, want) {
				t.Errorf("mariadb-dump argv %q, want %q", got, want)
			}
			if got := c.toolEnv("mariadb-dump")["MYSQL_PWD"]; got != trickyPassword {
				t.Errorf("mariadb-dump got MYSQL_PWD %q, want the root password", got)
			}
			c.checkSecretsStayOut(dump[2], r, trickyPassword, "pa$$", "app-secret")

			restore := restoreScript(t, plan, recordedBy(t, plan, r))
			r = c.run(restore)
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			if got, want := c.argv("mariadb"), []string{"--binary-mode", "--user=root"}; !slices.Equal(got, want) {
				t.Errorf("mariadb argv %q, want %q", got, want)
			}
			if got, want := c.read(filepath.Join(c.log, "mariadb.stdin")), c.read(filepath.Join(c.dumpDir(), "mariadb.sql")); got != want {
				t.Errorf("mariadb read %q, want the dump %q", got, want)
			}
			if got, want := c.argv("mariadb-admin"), []string{"--protocol=tcp", "--host=127.0.0.1", "--user=root", "ping"}; !slices.Equal(got, want) {
				t.Errorf("mariadb-admin argv %q, want %q", got, want)
			}
			if got := c.toolEnv("mariadb")["MYSQL_PWD"]; got != trickyPassword {
				t.Errorf("mariadb got MYSQL_PWD %q", got)
			}
			c.checkSecretsStayOut(restore[2], r, trickyPassword, "pa$$", "app-secret")
		})
	}
}

func TestMariaDBCredentialsAndDatabases(t *testing.T) {
	passwordFile := filepath.Join(t.TempDir(), "password")
	writeFile(t, passwordFile, "file-secret\n")
	tests := []struct {
		name      string
		env       map[string]string
		databases []string
		// wantUser is the --user; wantPassword the MYSQL_PWD ("" = unset).
		wantUser, wantPassword string
		wantArgs               []string
	}{
		{
			name:     "MYSQL root password and database",
			env:      map[string]string{"MYSQL_ROOT_PASSWORD": "root-secret", "MYSQL_DATABASE": "shop"},
			wantUser: "root", wantPassword: "root-secret", wantArgs: []string{"--databases", "shop"},
		},
		{
			name:     "root password from a file, all databases",
			env:      map[string]string{"MARIADB_ROOT_PASSWORD_FILE": passwordFile},
			wantUser: "root", wantPassword: "file-secret", wantArgs: []string{"--all-databases"},
		},
		{
			name:     "MARIADB_USER without root",
			env:      map[string]string{"MARIADB_USER": "app", "MARIADB_PASSWORD_FILE": passwordFile, "MARIADB_DATABASE": "app"},
			wantUser: "app", wantPassword: "file-secret", wantArgs: []string{"--databases", "app"},
		},
		{
			name:     "MYSQL_USER without root",
			env:      map[string]string{"MYSQL_USER": "app", "MYSQL_PASSWORD": "user-secret", "MYSQL_DATABASE": "app"},
			wantUser: "app", wantPassword: "user-secret", wantArgs: []string{"--databases", "app"},
		},
		{
			name:      "listed databases",
			env:       map[string]string{"MARIADB_USER": "app", "MARIADB_PASSWORD": "user-secret", "MARIADB_DATABASE": "ignored"},
			databases: []string{"shop", "it's"},
			wantUser:  "app", wantPassword: "user-secret", wantArgs: []string{"--databases", "shop", "it's"},
		},
		{
			name:     "no credentials at all: root over the socket",
			env:      map[string]string{},
			wantUser: "root", wantArgs: []string{"--all-databases"},
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, tt.env)
				plan := mariadbPlan(t, c, tt.databases...)
				dump := backupScript(t, plan)
				r := c.run(dump)
				if r.code != 0 {
					t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
				}
				want := append([]string{"--user=" + tt.wantUser}, mariadbDumpFlags...)
				want = append(want, tt.wantArgs...)
				if got := c.argv("mariadb-dump"); !slices.Equal(got, want) {
					t.Errorf("mariadb-dump argv %q, want %q", got, want)
				}
				password, set := c.toolEnv("mariadb-dump")["MYSQL_PWD"]
				if password != tt.wantPassword || (tt.wantPassword == "" && set) {
					t.Errorf("MYSQL_PWD = %q (set %v), want %q", password, set, tt.wantPassword)
				}
				c.checkSecretsStayOut(dump[2], r, "file-secret", "user-secret", "root-secret")
			})
		}
	}
}

func TestMariaDBDumpFailures(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		fakeEnv    []string
		wantStderr string
	}{
		{
			name:       "all databases without root",
			env:        map[string]string{"MARIADB_USER": "app", "MARIADB_PASSWORD": "pw"},
			wantStderr: "dumping all databases needs root",
		},
		{
			name:       "mariadb-dump fails",
			env:        map[string]string{"MARIADB_ROOT_PASSWORD": "pw"},
			fakeEnv:    []string{"FAKE_FAIL=mariadb-dump"},
			wantStderr: "fake mariadb-dump: failing",
		},
		{
			name:       "a dump without its completion line",
			env:        map[string]string{"MARIADB_ROOT_PASSWORD": "pw"},
			fakeEnv:    []string{"FAKE_INCOMPLETE=1"},
			wantStderr: `does not end with mariadb-dump's "-- Dump completed" line`,
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, tt.env)
				plan := mariadbPlan(t, c)
				writeFile(t, filepath.Join(c.dumpDir(), "mariadb.sql"), "old dump")
				writeFile(t, filepath.Join(c.dumpDir(), "mariadb.sha256"), "old marker\n")
				r := c.run(backupScript(t, plan), tt.fakeEnv...)
				if r.code == 0 {
					t.Fatalf("dump succeeded; stderr:\n%s", r.stderr)
				}
				if !strings.Contains(r.stderr, tt.wantStderr) {
					t.Errorf("stderr %q does not say %q", r.stderr, tt.wantStderr)
				}
				if c.exists(filepath.Join(c.dumpDir(), "mariadb.sha256")) {
					t.Error("a failed dump left a marker")
				}
				c.checkNoTemporaryFiles()
			})
		}
	}
}

func TestMariaDBRestoreRefusesACorruptedDump(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{"MARIADB_ROOT_PASSWORD": "pw"})
			plan := mariadbPlan(t, c)
			recorded := recordedBy(t, plan, c.dump(plan))
			writeFile(t, filepath.Join(c.dumpDir(), "mariadb.sql"), "DROP DATABASE app;\n")
			r := c.run(restoreScript(t, plan, recorded))
			if r.code == 0 || !strings.Contains(r.stderr, "do not match mariadb.sha256") || !strings.Contains(r.stderr, "refusing to restore") {
				t.Errorf("restore of a corrupted dump: exit %d, stderr %q", r.code, r.stderr)
			}
			if c.called("mariadb") {
				t.Error("the corrupted dump reached mariadb")
			}

			os.Remove(filepath.Join(c.dumpDir(), "mariadb.sha256"))
			r = c.run(restoreScript(t, plan, recorded))
			if r.code == 0 || !strings.Contains(r.stderr, "mariadb.sha256 is missing") {
				t.Errorf("restore without a marker: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

// MySQL images have no mariadb-* tools.
func TestMariaDBFallsBackToTheMySQLTools(t *testing.T) {
	c := newContainer(t, "/bin/sh", map[string]string{"MYSQL_ROOT_PASSWORD": "pw", "MYSQL_DATABASE": "app"})
	c.fakes = []string{"mysqldump", "mysql", "mysqladmin"}
	plan := mariadbPlan(t, c)
	dump := c.dump(plan)
	c.checkDump("mariadb.sha256", "mariadb.sql")
	if r := c.run(restoreScript(t, plan, recordedBy(t, plan, dump))); r.code != 0 {
		t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
	}
	for _, tool := range []string{"mysqldump", "mysqladmin", "mysql"} {
		if !c.called(tool) {
			t.Errorf("%s did not run", tool)
		}
	}
}
