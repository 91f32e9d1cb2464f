package strategy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// A password with every character that shell quoting gets wrong.
const trickyPassword = `pg pa$$ 'w"rd \ $(touch pwned) ` + "`id`"

func postgresPlan(t *testing.T, c *container, databases ...string) *Plan {
	t.Helper()
	component := postgresComponent("")
	component.Backup.Databases = databases
	component.Backup.Timeout = 2 * time.Second // a one-second wait for readiness
	plan, err := Resolve(component, []corev1.Pod{c.pod()})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func backupScript(t *testing.T, plan *Plan) []string {
	t.Helper()
	return backupScriptFor(t, plan, testBackup)
}

func backupScriptFor(t *testing.T, plan *Plan, backup string) []string {
	t.Helper()
	hooks := plan.BackupHooks("shop", backup)
	if hooks == nil || len(hooks.PreHooks) != 1 {
		t.Fatalf("backup hooks %+v, want one pre hook", hooks)
	}
	return hooks.PreHooks[0].Exec.Command
}

// restoreScript restores testBackup, whose log recorded the markers recorded.
func restoreScript(t *testing.T, plan *Plan, recorded map[string]string) []string {
	t.Helper()
	return restoreScriptFor(t, plan, testBackup, recorded)
}

func restoreScriptFor(t *testing.T, plan *Plan, backup string, recorded map[string]string) []string {
	t.Helper()
	hooks := plan.RestoreHooks("shop-clone", backup, recorded)
	if hooks == nil || len(hooks.PostHooks) != 1 {
		t.Fatalf("restore hooks %+v, want one post hook", hooks)
	}
	return hooks.PostHooks[0].Exec.Command
}

// The roles a server's globals dump holds are replayed before the databases, so owners and
// grants replay too: each role created when missing, its attributes (password hash included) and
// memberships set, but never the restore user's own; tablespaces and settings are left out. A dump
// user that may not read role passwords dumps the roles without them.
func TestPostgresRolesReplay(t *testing.T) {
	globals := filepath.Join(t.TempDir(), "globals.sql")
	writeFile(t, globals, `--
-- PostgreSQL database cluster dump
--
SET default_transaction_read_only = off;
--
-- Roles
--
CREATE ROLE app;
ALTER ROLE app WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:prod';
CREATE ROLE "odd ""name""";
ALTER ROLE "odd ""name""" WITH NOSUPERUSER INHERIT LOGIN;
CREATE ROLE reporter;
ALTER ROLE reporter WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:rep';
ALTER ROLE reporter SET search_path TO reports;
--
-- Role memberships
--
GRANT readers TO reporter GRANTED BY app;
CREATE TABLESPACE fast OWNER app LOCATION '/ssd';
`)
	want := `DO $styrmin$ BEGIN CREATE ROLE app; EXCEPTION WHEN duplicate_object THEN NULL; END $styrmin$;
DO $styrmin$ BEGIN CREATE ROLE "odd ""name"""; EXCEPTION WHEN duplicate_object THEN NULL; END $styrmin$;
ALTER ROLE "odd ""name""" WITH NOSUPERUSER INHERIT LOGIN;
DO $styrmin$ BEGIN CREATE ROLE reporter; EXCEPTION WHEN duplicate_object THEN NULL; END $styrmin$;
ALTER ROLE reporter WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:rep';
ALTER ROLE reporter SET search_path TO reports;
GRANT readers TO reporter GRANTED BY app;
`
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "x"})
			plan := postgresPlan(t, c)
			r := c.dump(plan, "FAKE_GLOBALS="+globals)
			restore := restoreScript(t, plan, recordedBy(t, plan, r))
			if r = c.run(restore); r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			stdin := c.read(filepath.Join(c.log, "psql.stdin"))
			if !strings.HasPrefix(stdin, want) {
				t.Errorf("psql got, before the databases:\n%s\nwant:\n%s", stdin, want)
			}
			if calls := c.calls(); strings.Index(calls, "psql") > strings.Index(calls, "pg_restore <--single-transaction>") {
				t.Errorf("the roles were replayed after the databases:\n%s", calls)
			}
		})
	}

	t.Run("without the right to read passwords", func(t *testing.T) {
		c := newContainer(t, shells(t)[0], map[string]string{"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "x"})
		r := c.dump(postgresPlan(t, c), "FAKE_NO_PASSWORDS=1")
		if r.code != 0 {
			t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
		}
		if got := c.argv("pg_dumpall"); !slices.Contains(got, "--no-role-passwords") {
			t.Errorf("pg_dumpall argv %q: the second try must leave the passwords out", got)
		}
		if !strings.Contains(r.stderr, "roles are dumped without them") {
			t.Errorf("the dump does not say the passwords are left out:\n%s", r.stderr)
		}
	})
}

func TestPostgresDumpAndRestore(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{
				"POSTGRES_USER": "app", "POSTGRES_DB": "shop", "POSTGRES_PASSWORD": trickyPassword,
			})
			plan := postgresPlan(t, c)
			// A previous backup's complete dump: the new one must remove its
			// marker before dumping.
			writeFile(t, filepath.Join(c.dumpDir(), "postgres.dump"), "PGDMP old")
			writeFile(t, filepath.Join(c.dumpDir(), "postgres.sha256"), "old marker\n")

			dump := backupScript(t, plan)
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			c.checkDump("postgres.sha256", "postgres.dump", "postgres-globals.sql")
			if got := c.read(filepath.Join(c.dumpDir(), "postgres.dump")); got != "PGDMP fake archive of shop\n" {
				t.Errorf("postgres.dump = %q: not the fake's dump of the default database", got)
			}
			if c.exists(filepath.Join(c.log, "markers-seen")) {
				t.Errorf("pg_dump ran while a marker was present: %s", c.read(filepath.Join(c.log, "markers-seen")))
			}
			wantDump := []string{"-Fc", "-Z", "1", "-w", "--username=app", "-f", "postgres.dump.tmp", "shop"}
			if got := c.argv("pg_dump"); !slices.Equal(got, wantDump) {
				t.Errorf("pg_dump argv %q, want %q", got, wantDump)
			}
			wantGlobals := []string{"--globals-only", "-w", "--username=app", "--database=shop", "-f", "postgres-globals.sql.tmp"}
			if got := c.argv("pg_dumpall"); !slices.Equal(got, wantGlobals) {
				t.Errorf("pg_dumpall argv %q, want %q", got, wantGlobals)
			}
			if got := c.toolEnv("pg_dump")["PGPASSWORD"]; got != trickyPassword {
				t.Errorf("pg_dump got PGPASSWORD %q, want %q", got, trickyPassword)
			}
			if got := c.toolEnv("pg_dump")["PGHOST"]; got != "" {
				t.Errorf("pg_dump got PGHOST %q: the dump must use the local socket", got)
			}
			if !strings.Contains(r.stderr, "dump complete") || strings.Contains(r.stdout, "PGDMP") {
				t.Errorf("stdout %q, stderr %q: the dump must be reported on stderr and never written to stdout", r.stdout, r.stderr)
			}
			if c.exists(filepath.Join(c.mount, "pwned")) || c.exists(filepath.Join(c.dumpDir(), "pwned")) {
				t.Error("the password was run as a command")
			}
			c.checkSecretsStayOut(dump[2], r, trickyPassword, "pa$$")

			// The report on stdout, which Velero writes into the backup's log.
			c.checkReports(plan, r)

			restore := restoreScript(t, plan, recordedBy(t, plan, r))
			r = c.run(restore)
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			wantRestore := []string{"--single-transaction", "--clean", "--if-exists", "--exit-on-error", "-w",
				"--username=app", "--dbname=shop", "postgres.dump"}
			if got := c.argv("pg_restore"); !slices.Equal(got, wantRestore) {
				t.Errorf("pg_restore argv %q, want %q", got, wantRestore)
			}
			if got := c.read(filepath.Join(c.log, "restored.shop")); got != "PGDMP fake archive of shop\n" {
				t.Errorf("restored %q into shop", got)
			}
			if got := c.argv("pg_isready"); !slices.Contains(got, "--host=127.0.0.1") {
				t.Errorf("pg_isready argv %q: must wait for the server on TCP", got)
			}
			if got := c.toolEnv("pg_restore")["PGPASSWORD"]; got != trickyPassword {
				t.Errorf("pg_restore got PGPASSWORD %q", got)
			}
			if c.called("createdb") {
				t.Error("createdb ran for a database that exists")
			}
			c.checkSecretsStayOut(restore[2], r, trickyPassword, "pa$$")
		})
	}
}

func TestPostgresCredentials(t *testing.T) {
	passwordFile := filepath.Join(t.TempDir(), "password")
	writeFile(t, passwordFile, "from-a-file\n")
	tests := []struct {
		name         string
		env          map[string]string
		wantUser     string
		wantDatabase string
		// wantPassword empty: PGPASSWORD must not be set.
		wantPassword string
	}{
		{
			name:     "defaults of the official image",
			env:      map[string]string{},
			wantUser: "postgres", wantDatabase: "postgres",
		},
		{
			name:     "the database defaults to the user",
			env:      map[string]string{"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "pw"},
			wantUser: "app", wantDatabase: "app", wantPassword: "pw",
		},
		{
			name: "PG variables win",
			env: map[string]string{
				"PGUSER": "backup", "POSTGRES_USER": "app", "PGPASSWORD": "pg", "POSTGRES_PASSWORD": "pw",
				"PGDATABASE": "reports", "POSTGRES_DB": "app",
			},
			wantUser: "backup", wantDatabase: "reports", wantPassword: "pg",
		},
		{
			name:     "NAME_FILE when NAME is not set",
			env:      map[string]string{"POSTGRES_USER": "app", "POSTGRES_PASSWORD_FILE": passwordFile, "POSTGRES_DB": "shop"},
			wantUser: "app", wantDatabase: "shop", wantPassword: "from-a-file",
		},
		{
			name:     "NAME wins over NAME_FILE",
			env:      map[string]string{"POSTGRES_PASSWORD": "direct", "POSTGRES_PASSWORD_FILE": passwordFile},
			wantUser: "postgres", wantDatabase: "postgres", wantPassword: "direct",
		},
		{
			name:     "an empty NAME counts as not set",
			env:      map[string]string{"PGPASSWORD": "", "POSTGRES_PASSWORD_FILE": passwordFile},
			wantUser: "postgres", wantDatabase: "postgres", wantPassword: "from-a-file",
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, tt.env)
				plan := postgresPlan(t, c)
				dump := backupScript(t, plan)
				r := c.run(dump)
				if r.code != 0 {
					t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
				}
				argv := c.argv("pg_dump")
				if !slices.Contains(argv, "--username="+tt.wantUser) || argv[len(argv)-1] != tt.wantDatabase {
					t.Errorf("pg_dump argv %q, want user %s and database %s", argv, tt.wantUser, tt.wantDatabase)
				}
				password, set := c.toolEnv("pg_dump")["PGPASSWORD"]
				if tt.wantPassword == "" && set && password != "" {
					t.Errorf("PGPASSWORD = %q, want it unset", password)
				}
				if tt.wantPassword != "" && password != tt.wantPassword {
					t.Errorf("PGPASSWORD = %q, want %q", password, tt.wantPassword)
				}
				c.checkSecretsStayOut(dump[2], r, "from-a-file", "direct")
			})
		}
	}
}

func TestPostgresDumpFailures(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		fakeEnv    []string
		wantStderr string
	}{
		{name: "pg_dump fails", fakeEnv: []string{"FAKE_FAIL=pg_dump"}, wantStderr: "fake pg_dump: failing"},
		{name: "the archive is unreadable", fakeEnv: []string{"FAKE_CORRUPT=1"}, wantStderr: "pg_restore cannot read the archive"},
		{name: "pg_dumpall fails", fakeEnv: []string{"FAKE_FAIL=pg_dumpall"}, wantStderr: "fake pg_dumpall: failing"},
		{name: "sha256sum fails", fakeEnv: []string{"FAKE_FAIL=sha256sum"}, wantStderr: "fake sha256sum: failing"},
		{
			name:       "the password file cannot be read",
			env:        map[string]string{"POSTGRES_PASSWORD_FILE": "/nonexistent/password"},
			wantStderr: "POSTGRES_PASSWORD_FILE names /nonexistent/password, which cannot be read",
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, tt.env)
				if strings.Contains(tt.name, "sha256sum") {
					// Stand a failing fake in for the real sha256sum.
					c.fakes = append(slices.Clone(fakeTools), "sha256sum")
				}
				plan := postgresPlan(t, c)
				writeFile(t, filepath.Join(c.dumpDir(), "postgres.dump"), "PGDMP old")
				writeFile(t, filepath.Join(c.dumpDir(), "postgres.sha256"), "old marker\n")
				r := c.run(backupScript(t, plan), tt.fakeEnv...)
				if r.code == 0 {
					t.Fatalf("dump succeeded; stderr:\n%s", r.stderr)
				}
				if !strings.Contains(r.stderr, tt.wantStderr) {
					t.Errorf("stderr %q does not say %q", r.stderr, tt.wantStderr)
				}
				if c.exists(filepath.Join(c.dumpDir(), "postgres.sha256")) {
					t.Error("a failed dump left a marker: the old one must go before the dump starts")
				}
				c.checkNoTemporaryFiles()
				if strings.Contains(tt.name, "password") && c.called("pg_dump") {
					t.Error("pg_dump ran without the credentials it was told to use")
				}
				// A failed dump reports nothing, so its backup's log records no dump,
				// and the restore of what is left refuses.
				if reports := ParseDumpReports(r.stdout); len(reports) != 0 {
					t.Errorf("a failed dump reported %+v", reports)
				}
				if _, err := recordedFor(plan, testBackup, r.stdout); err == nil {
					t.Error("RecordedMarker accepted the report of a failed dump")
				}
				// The restored pod's credentials are not the point here (the restore
				// reads them before it looks at the dump): what the volume holds is.
				c.env = nil
				r = c.run(restoreScript(t, plan, nil))
				if r.code == 0 || !strings.Contains(r.stderr, "postgres.sha256 is missing") {
					t.Errorf("restore after a failed dump: exit %d, stderr %q", r.code, r.stderr)
				}
			})
		}
	}
}

func TestPostgresDumpWaitsForNoOne(t *testing.T) {
	if _, err := os.Stat("/usr/bin/flock"); err != nil {
		t.Fatal("flock (util-linux) is not installed: the dump lock cannot be tested")
	}
	c := newContainer(t, "/bin/sh", nil)
	plan := postgresPlan(t, c)
	// An earlier dump that Velero gave up on still holds the lock.
	if err := os.MkdirAll(c.dumpDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(c.dumpDir(), ".lock"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	r := c.run(backupScript(t, plan))
	if r.code == 0 || !strings.Contains(r.stderr, "an earlier dump into "+c.dumpDir()+" is still running") {
		t.Errorf("dump beside a running one: exit %d, stderr %q", r.code, r.stderr)
	}
	if c.called("pg_dump") {
		t.Error("pg_dump ran while another dump held the lock")
	}
}

func TestPostgresSeveralDatabases(t *testing.T) {
	for _, shell := range shells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			c := newContainer(t, shell, map[string]string{"POSTGRES_USER": "app"})
			plan := postgresPlan(t, c, "shop", "it's reports")
			dump := c.dump(plan)
			c.checkDump("postgres.sha256", "postgres-shop.dump", "postgres-it_s_reports.dump", "postgres-globals.sql")
			if got := c.read(filepath.Join(c.dumpDir(), "postgres-it_s_reports.dump")); got != "PGDMP fake archive of it's reports\n" {
				t.Errorf("postgres-it_s_reports.dump = %q", got)
			}

			// The clone's fresh data directory lacks the second database.
			r := c.run(restoreScript(t, plan, recordedBy(t, plan, dump)), "FAKE_MISSING_DBS=it's reports")
			if r.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
			}
			if got, want := c.argv("createdb"), []string{"-w", "--username=app", "it's reports"}; !slices.Equal(got, want) {
				t.Errorf("createdb argv %q, want %q", got, want)
			}
			if got := c.read(filepath.Join(c.log, "restored.it's reports")); got != "PGDMP fake archive of it's reports\n" {
				t.Errorf("restored %q into \"it's reports\"", got)
			}
			if got := c.read(filepath.Join(c.log, "restored.shop")); got != "PGDMP fake archive of shop\n" {
				t.Errorf("restored %q into shop", got)
			}
			if got := c.read(filepath.Join(c.log, "psql.stdin")); !strings.Contains(got, "datname = :'styrmin_db'") {
				t.Errorf("psql read %q: the database name must reach SQL as a psql variable", got)
			}
		})
	}
}

func TestPostgresRestoreCreatesAMissingDatabase(t *testing.T) {
	c := newContainer(t, "/bin/sh", map[string]string{"POSTGRES_USER": "app", "POSTGRES_DB": "shop"})
	plan := postgresPlan(t, c)
	dump := c.dump(plan)
	r := c.run(restoreScript(t, plan, recordedBy(t, plan, dump)), "FAKE_MISSING_DBS=shop")
	if r.code != 0 {
		t.Fatalf("restore exited %d:\n%s", r.code, r.stderr)
	}
	if got, want := c.argv("createdb"), []string{"-w", "--username=app", "shop"}; !slices.Equal(got, want) {
		t.Errorf("createdb argv %q, want %q", got, want)
	}
}

func TestPostgresRestoreRefuses(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		// recordDamage: the log recorded the damaged marker, not the dump's
		// (a dump taken with other settings, which RecordedMarker would not
		// accept, so that the restore's own check of the files is reached).
		recordDamage bool
		fakeEnv      []string
		wantStderr   string
	}{
		{
			name:       "no marker",
			damage:     func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "postgres.sha256")) },
			wantStderr: "postgres.sha256 is missing: the dump in this backup never completed; refusing to restore it",
		},
		{
			name: "a corrupted dump",
			damage: func(t *testing.T, dir string) {
				f, err := os.OpenFile(filepath.Join(dir, "postgres.dump"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteString("flipped bits"); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			},
			wantStderr: "do not match postgres.sha256",
		},
		{
			name:       "a missing dump file",
			damage:     func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "postgres-globals.sql")) },
			wantStderr: "do not match postgres.sha256",
		},
		{
			name: "a marker that does not list the dump",
			damage: func(t *testing.T, dir string) {
				marker := filepath.Join(dir, "postgres.sha256")
				data, _ := os.ReadFile(marker)
				lines := strings.SplitAfter(string(data), "\n")
				if err := os.WriteFile(marker, []byte(lines[1]), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			recordDamage: true,
			wantStderr:   "postgres.dump is not listed in postgres.sha256",
		},
		{
			name:       "no dump directory",
			damage:     func(t *testing.T, dir string) { os.RemoveAll(dir) },
			wantStderr: "does not exist: the backup holds no dump of this component",
		},
		{
			name:       "a server that never accepts connections",
			fakeEnv:    []string{"FAKE_NOT_READY=1"},
			wantStderr: "postgres did not accept connections within 1s",
		},
	}
	for _, shell := range shells(t) {
		for _, tt := range tests {
			t.Run(filepath.Base(shell)+"/"+tt.name, func(t *testing.T) {
				c := newContainer(t, shell, map[string]string{"POSTGRES_PASSWORD": "pw"})
				plan := postgresPlan(t, c)
				recorded := recordedBy(t, plan, c.dump(plan))
				if tt.damage != nil {
					tt.damage(t, c.dumpDir())
				}
				if tt.recordDamage {
					recorded[testPodName] = strings.TrimSuffix(c.read(plan.Marker), "\n")
				}
				r := c.run(restoreScript(t, plan, recorded), tt.fakeEnv...)
				if r.code == 0 {
					t.Fatalf("restore succeeded; stderr:\n%s", r.stderr)
				}
				if !strings.Contains(r.stderr, tt.wantStderr) {
					t.Errorf("stderr %q does not say %q", r.stderr, tt.wantStderr)
				}
				if c.called("pg_restore") && slices.Contains(c.argv("pg_restore"), "--clean") {
					t.Error("pg_restore touched the database")
				}
			})
		}
	}
}

func TestReadyWaitFitsTheTimeout(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		time.Second:                     time.Second,
		2 * time.Second:                 time.Second,
		time.Minute:                     30 * time.Second,
		driverspec.DefaultTimeout:       5 * time.Minute,
		24 * time.Hour:                  5 * time.Minute,
		3*time.Second + time.Nanosecond: 2 * time.Second,
	} {
		if got := (&Plan{Timeout: timeout}).readyWait(); got != want {
			t.Errorf("readyWait for timeout %v = %v, want %v", timeout, got, want)
		}
	}
}
