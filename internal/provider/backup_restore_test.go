package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// sampleApp is the sample application deployed into a namespace, with helpers that write data
// into each component and read back a fingerprint of it (row counts plus a checksum of a
// canonical query, file hashes).
type sampleApp struct {
	t         *testing.T
	stack     *sandboxtest.Stack
	namespace string
}

var sampleComponents = []string{"postgres", "mariadb", "files", "notes"}

func deploySampleApp(t *testing.T, stack *sandboxtest.Stack, prefix string) *sampleApp {
	t.Helper()
	ns := stack.Namespace(t, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := stack.DeploySampleApp(ctx, ns); err != nil {
		t.Fatal(err)
	}
	app := &sampleApp{t: t, stack: stack, namespace: ns}
	app.waitRunning(ns)
	return app
}

func (a *sampleApp) waitRunning(ns string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	for _, c := range sampleComponents {
		if _, err := a.stack.WaitPodRunning(ctx, ns, "app.kubernetes.io/component="+c); err != nil {
			a.t.Fatal(err)
		}
	}
}

// exec runs a shell script in the first pod of a component.
func (a *sampleApp) exec(ns, component, script string) string {
	a.t.Helper()
	return a.execIn(ns, component, script, false)
}

// execAll runs a shell script in every pod of a component (files runs two replicas, each with a
// volume of its own) and returns "pod: output" lines, in pod name order.
func (a *sampleApp) execAll(ns, component, script string) string {
	a.t.Helper()
	return a.execIn(ns, component, script, true)
}

func (a *sampleApp) execIn(ns, component, script string, all bool) string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods, err := a.stack.WaitPodRunning(ctx, ns, "app.kubernetes.io/component="+component)
	if err != nil {
		a.t.Fatal(err)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	if !all {
		pods = pods[:1]
	}
	var lines []string
	for _, pod := range pods {
		out, err := a.stack.Exec(ctx, ns, pod.Name, component, "/bin/sh", "-c", script)
		if err != nil {
			a.t.Fatalf("%s in %s/%s: %v", component, ns, pod.Name, err)
		}
		if all {
			out = pod.Name + ": " + strings.TrimSpace(out)
		}
		lines = append(lines, strings.TrimSpace(out))
	}
	return strings.Join(lines, "\n")
}

const (
	psql    = `psql -X -q -v ON_ERROR_STOP=1 -U app -d app -At -c`
	mariadb = `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B app -e`
)

// write adds n rows or files to every component, tagged with round.
func (a *sampleApp) write(round string, n int) {
	a.t.Helper()
	a.exec(a.namespace, "postgres", fmt.Sprintf(`%s "create table if not exists items (id serial primary key, note text not null); insert into items (note) select '%s-' || g from generate_series(1, %d) g"`, psql, round, n))
	a.exec(a.namespace, "mariadb", fmt.Sprintf(`%s "create table if not exists items (id int auto_increment primary key, note varchar(64) not null); insert into items (note) select concat('%s-', seq) from seq_1_to_%d"`, mariadb, round, n))
	a.execAll(a.namespace, "files", fmt.Sprintf(`for i in $(seq %d); do echo "%s-$i $HOSTNAME" > /data/uploads/%s-$i.txt; done`, n, round, round))
	a.exec(a.namespace, "notes", fmt.Sprintf(`for i in $(seq %d); do echo "%s-$i" > /data/notes/%s-$i.txt; done`, n, round, round))
}

// fingerprint is each component's data in ns, reduced to counts and checksums.
func (a *sampleApp) fingerprint(ns string) map[string]string {
	a.t.Helper()
	return map[string]string{
		"postgres": a.exec(ns, "postgres", psql+` "select count(*) || ' ' || md5(coalesce(string_agg(id || ':' || note, ',' order by id), '')) from items"`),
		"mariadb":  a.exec(ns, "mariadb", mariadb+` "select concat(count(*), ' ', md5(coalesce(group_concat(concat(id, ':', note) order by id separator ','), ''))) from items"`),
		// Every entry of each replica's volume, so that anything a restore leaves there (Velero's
		// .velero markers) shows.
		"files": a.execAll(ns, "files", `cd /data && find . | sort | sha256sum && find . -type f | sort | xargs sha256sum | sha256sum`),
		"notes": a.exec(ns, "notes", `cd /data/notes && find . -type f | sort | xargs sha256sum | sha256sum`),
	}
}

// cloneMatches checks that every component's data in the clone equals the data at backup time.
func (a *sampleApp) cloneMatches(clone string, atBackup map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		a.waitRunning(clone)
		got := a.fingerprint(clone)
		for _, c := range sampleComponents {
			if got[c] != atBackup[c] {
				return fmt.Errorf("component %s: the clone holds %q, the source held %q at backup time", c, got[c], atBackup[c])
			}
		}
		return nil
	}
}

// serverHeldUntilRestored checks that the clone's server (a component no strategy restores) was
// scheduled only once the restore had finished, every replay included, runs now, and saw at its
// start the data of the backup (postgres, its fingerprint at backup time) in the database.
func (a *sampleApp) serverHeldUntilRestored(clone, postgres string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		restore, err := velero.Get[velerov1.Restore](ctx, a.stack.Velero, s.RootModule().Resources["styrmin_restore.clone"].Primary.ID)
		if err != nil {
			return err
		}
		finished := restore.Status.CompletionTimestamp
		pods, err := a.stack.WaitPodRunning(ctx, clone, "app.kubernetes.io/component=server")
		if err != nil {
			return fmt.Errorf("the clone's server does not run: %w", err)
		}
		// What the application saw first, then why: a server that started early may have seen an
		// empty schema, or a half-replayed database.
		var problems []string
		if seen := a.exec(clone, "server", "cat /www/db-at-start"); seen != postgres {
			problems = append(problems, fmt.Sprintf("at its start the clone's server saw %q in the database, not the backup's data %q", seen, postgres))
		}
		for _, pod := range pods {
			if len(pod.Spec.SchedulingGates) > 0 {
				problems = append(problems, fmt.Sprintf("server pod %s still has scheduling gates %v", pod.Name, pod.Spec.SchedulingGates))
			}
			for _, c := range pod.Status.Conditions {
				if c.Type == corev1.PodScheduled && finished != nil && c.LastTransitionTime.Before(finished) {
					problems = append(problems, fmt.Sprintf("server pod %s was scheduled at %s, before the restore finished (%s)",
						pod.Name, c.LastTransitionTime.UTC().Format(time.RFC3339), finished.UTC().Format(time.RFC3339)))
				}
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		a.t.Logf("the clone's server was scheduled after the restore finished at %s, and saw the restored data (%s) at its start",
			finished.UTC().Format(time.RFC3339), postgres)
		return nil
	}
}

func driverSpecPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/sample-app/driver.styrmin.yml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func backupConfig(t *testing.T, namespace, extra string) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %q
}

data "styrmin_driver_spec" "app" {
  path = %q
}

resource "styrmin_backup" "app" {
  namespace       = %q
  backup_location = %q
  components      = data.styrmin_driver_spec.app.components
  ttl             = "1h"
  deletion_policy = "delete"
}
%s`, sandboxtest.ProviderKubeconfig(), driverSpecPath(t), namespace, os.Getenv("SANDBOX_DEFAULT_BSL"), extra)
}

func restoreBlock(target string) string {
	return fmt.Sprintf(`
resource "styrmin_restore" "clone" {
  backup_name      = styrmin_backup.app.name
  target_namespace = %q
  components       = data.styrmin_driver_spec.app.components
}
`, target)
}

// The clone story, with every data-bearing strategy: back up the sample app, change its data,
// restore the backup into a new namespace, and compare the clone's data with the data at backup
// time, component by component.
func TestAccBackupRestore_roundTrip(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-app")
	app.write("before", 25)
	atBackup := app.fingerprint(app.namespace)
	t.Logf("data at backup time: %v", atBackup)
	if !strings.HasPrefix(atBackup["postgres"], "25 ") || !strings.HasPrefix(atBackup["mariadb"], "25 ") {
		t.Fatalf("the seeded data is not there: %v", atBackup)
	}
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	address := "styrmin_backup.app"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: backupConfig(t, app.namespace, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Completed")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("captured").AtMapKey("postgres").AtMapKey("dump_files"),
						knownvalue.ListSizeExact(2)), // postgres.dump and postgres-globals.sql
					statecheck.ExpectKnownValue(address, tfjsonpath.New("captured").AtMapKey("postgres").AtMapKey("checksums").AtSliceIndex(0),
						knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("captured").AtMapKey("mariadb").AtMapKey("kind"), knownvalue.StringExact("mariadb")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("captured").AtMapKey("files").AtMapKey("volumes"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("files-data")})),
				},
				Check: func(s *terraform.State) error {
					// Change the source after the backup: the clone must have the old data.
					app.write("after", 7)
					if after := app.fingerprint(app.namespace); after["postgres"] == atBackup["postgres"] || after["files"] == atBackup["files"] {
						return fmt.Errorf("writing more data did not change the fingerprint: %v", after)
					}
					return nil
				},
			},
			{
				Config: backupConfig(t, app.namespace, restoreBlock(clone)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("phase"), knownvalue.StringExact("Completed")),
					statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("verified"), knownvalue.Bool(true)),
				},
				Check: resource.ComposeTestCheckFunc(app.cloneMatches(clone, atBackup), app.serverHeldUntilRestored(clone, atBackup["postgres"])),
			},
			{ // import by the Velero backup's name. Not recoverable from Velero: the components (the
				// driver file's), the provider-side settings, and ttl's spelling ("1h" is "1h0m0s").
				ResourceName:            address,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"components", "captured", "deletion_policy", "timeouts", "ttl"},
			},
			{ // import of the restore, by <velero namespace>/<name>. Not recoverable: the components,
				// what was restored, and the provider-side settings.
				ResourceName: "styrmin_restore.clone",
				ImportState:  true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return "velero/" + s.RootModule().Resources["styrmin_restore.clone"].Primary.ID, nil
				},
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"components", "restored", "timeouts"},
			},
			{ // the restore into a namespace that runs the workload is refused, nothing is created
				Config:      backupConfig(t, app.namespace, restoreBlock(clone)+strings.Replace(restoreBlock(app.namespace), `"clone"`, `"in_place"`, 1)),
				ExpectError: regexp.MustCompile(`(?s)already runs .*pod.*restore into a fresh namespace`),
			},
			{ // a backup deleted out of band (its data too, so backup sync cannot bring it back) is drift
				PreConfig: func() {
					runner := backups.Runner{Kube: stack.Kube, Velero: stack.Velero}
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
					defer cancel()
					if err := runner.DeleteBackup(ctx, backupName(t, stack, app.namespace)); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate),
				}},
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// backupName finds the one backup made of namespace.
func backupName(t *testing.T, stack *sandboxtest.Stack, namespace string) string {
	t.Helper()
	list, err := velero.List[velerov1.Backup](context.Background(), stack.Velero, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if len(b.Spec.IncludedNamespaces) == 1 && b.Spec.IncludedNamespaces[0] == namespace {
			return b.Name
		}
	}
	t.Fatalf("no backup of %s", namespace)
	return ""
}

// The clone path's wait for backup sync: a configuration that only restores (as the clone
// environment's does) names a backup whose Velero object is not in the cluster, only its data in
// the bucket. Velero's backup sync brings it back; the restore waits for it, plans from the
// synced object's record, and the clone's data equals the data at backup time.
func TestAccRestore_waitsForBackupSync(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-sync")
	app.write("synced", 5)
	atBackup := app.fingerprint(app.namespace)
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })

	// Production's configuration: the backup, kept when this configuration is destroyed.
	name := retainedBackup(t, stack, app)
	// As in another cluster: the object is gone, the data is in the bucket.
	if err := velero.Delete[velerov1.Backup](context.Background(), stack.Velero, name); err != nil {
		t.Fatal(err)
	}

	// The clone's configuration: only the restore, by name.
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: restoreOnlyConfig(t, name, clone, `backup_sync_timeout = "3m"`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("verified"), knownvalue.Bool(true)),
			},
			Check: app.cloneMatches(clone, atBackup),
		}},
	})
}

// retainedBackup makes a verified styrmin_backup of the app, as production's configuration does,
// kept when that configuration is destroyed, and deletes it with its data when the test ends.
func retainedBackup(t *testing.T, stack *sandboxtest.Stack, app *sampleApp) string {
	t.Helper()
	var name string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: strings.Replace(backupConfig(t, app.namespace, ""), `deletion_policy = "delete"`, `deletion_policy = "retain"`, 1),
			Check: func(s *terraform.State) error {
				name = s.RootModule().Resources["styrmin_backup.app"].Primary.ID
				return nil
			},
		}},
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_ = backups.Runner{Kube: stack.Kube, Velero: stack.Velero}.DeleteBackup(ctx, name)
	})
	return name
}

// restoreOnlyConfig is a clone environment's configuration: only the restore of backup into
// clone, by name; extra is spliced into the resource.
func restoreOnlyConfig(t *testing.T, backup, clone, extra string) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %q
}

data "styrmin_driver_spec" "app" {
  path = %q
}

resource "styrmin_restore" "clone" {
  backup_name      = %q
  target_namespace = %q
  components       = data.styrmin_driver_spec.app.components
  %s
}
`, sandboxtest.ProviderKubeconfig(), driverSpecPath(t), backup, clone, extra)
}

// An application role that is not the restore user keeps, in the clone, its table, its grants and
// its password: the restore replays the roles before the databases, with owners and privileges.
func TestAccRestore_postgresRolesKeepOwnershipAndGrants(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-roles")
	app.write("roles", 3)
	app.exec(app.namespace, "postgres", psql+` "create role readers nologin; create role reporter login password 'reporter-pass' in role readers;
create table reports (id int primary key, title text); insert into reports values (1, 'q1'); alter table reports owner to reporter;
grant select on items to readers"`)
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	asReporter := `PGPASSWORD=reporter-pass psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U reporter -d app -At -c`
	want := app.exec(app.namespace, "postgres", asReporter+` "select (select count(*) from items) || ' ' || (select title from reports)"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: backupConfig(t, app.namespace, restoreBlock(clone)),
			Check: func(*terraform.State) error {
				app.waitRunning(clone)
				owner := app.exec(clone, "postgres", psql+` "select tableowner from pg_tables where tablename = 'reports'"`)
				grant := app.exec(clone, "postgres", psql+` "select has_table_privilege('reporter', 'items', 'SELECT')"`)
				// The role logs in with its own password and reads through its grant and its table.
				seen := app.exec(clone, "postgres", asReporter+` "select (select count(*) from items) || ' ' || (select title from reports)"`)
				if owner != "reporter" || grant != "t" || seen != want {
					return fmt.Errorf("in the clone: reports is owned by %q, reporter may read items: %q, reporter sees %q (the source: %q)", owner, grant, seen, want)
				}
				return nil
			},
		}},
	})
}

// A PostgreSQL replay that fails halfway leaves the clone's database as it was before the replay
// (empty), not holding half of the dump, and the application stays held: the restore fails.
func TestAccRestore_postgresFailedReplayLeavesTheDatabaseAsItWas(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-replay")
	app.write("replay", 3)
	// A trap real databases hold: a CHECK constraint calling a function that reads another table.
	// pg_dump records no dependency through a function's body, so the restore loads guarded's rows
	// before zz_allowed's and the check fails, after every table was created and items was loaded.
	app.exec(app.namespace, "postgres", psql+` "create table zz_allowed (v int primary key); insert into zz_allowed values (1);
create function allowed(x int) returns boolean language sql stable as 'select exists (select 1 from public.zz_allowed where v = x)';
create table guarded (v int check (public.allowed(v))); insert into guarded values (1)"`)
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	publicTables := psql + ` "select count(*) from pg_tables where schemaname = 'public'"`

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      backupConfig(t, app.namespace, restoreBlock(clone)),
			ExpectError: regexp.MustCompile(`(?s)did not bring back what it must.*hook styrmin-postgres in container postgres failed`),
		}},
	})

	app.waitRunning(clone)
	if n := app.exec(clone, "postgres", publicTables); n != "0" {
		t.Errorf("after the failed replay the clone's database holds %s tables; it held none before the replay", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	servers, err := stack.Kube.CoreV1().Pods(clone).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=server"})
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range servers.Items {
		if len(pod.Spec.SchedulingGates) == 0 {
			t.Errorf("server pod %s is not held after the failed restore: it would start on a database without its data", pod.Name)
		}
	}
	// Control: the same dump replayed without one transaction does fail halfway, leaving tables.
	control := app.exec(clone, "postgres", `pg_restore --exit-on-error -U app -d app /backup/styrmin/postgres.dump 2>&1 | tail -n 3; `+publicTables)
	lines := strings.Split(control, "\n")
	if partial := lines[len(lines)-1]; partial == "0" || !strings.Contains(control, "guarded") {
		t.Fatalf("the staged dump does not fail halfway at guarded's check (a replay without one transaction left %s tables): the test proves nothing:\n%s", partial, control)
	}
	t.Logf("without one transaction the same replay fails and leaves tables behind:\n%s", control)
}

// Production's data is damaged after a backup; the restore in place lists in the plan what it
// removes (the components' workloads and claims), removes exactly that, and brings every
// component back equal to the backup, while a ConfigMap, a Secret and a workload that are not
// components (changed after the backup) stay exactly as they are, their pods still running.
func TestAccRestore_inPlaceReplacesTheComponentsAndNothingElse(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-inplace")
	ns := app.namespace
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	reporter := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: reporter, labels: {app.kubernetes.io/name: reporter}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: reporter}}
  template:
    metadata: {labels: {app.kubernetes.io/name: reporter}}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 1
      containers: [{name: reporter, image: localhost/styrmin/util:1, imagePullPolicy: Never, command: [sleep, "100000"]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: before}
---
apiVersion: v1
kind: Secret
metadata: {name: api-token}
stringData: {token: before}
`)
	if err := stack.Apply(ctx, reporter, ns); err != nil {
		t.Fatal(err)
	}
	app.write("before", 10)
	atBackup := app.fingerprint(app.namespace)

	// untouched reads what is not a component's: its identity and content must not change.
	untouched := func() string {
		t.Helper()
		cm, err := stack.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		secret, err := stack.Kube.CoreV1().Secrets(ns).Get(ctx, "api-token", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var pods []string
		for _, selector := range []string{"app.kubernetes.io/name=reporter", "app.kubernetes.io/component=server"} {
			running, err := stack.WaitPodRunning(ctx, ns, selector)
			if err != nil {
				t.Fatal(err)
			}
			for _, pod := range running {
				pods = append(pods, fmt.Sprintf("%s %s restarts=%d", pod.Name, pod.UID, pod.Status.ContainerStatuses[0].RestartCount))
			}
		}
		return fmt.Sprintf("configmap %s %s; secret %s %s; pods %v", cm.UID, cm.Data["mode"], secret.UID, secret.Data["token"], pods)
	}
	var before string
	removes := []knownvalue.Check{}
	for _, o := range []string{"StatefulSet/files", "StatefulSet/mariadb", "StatefulSet/postgres", "Deployment/notes",
		"PersistentVolumeClaim/files-data-files-0", "PersistentVolumeClaim/files-data-files-1", "PersistentVolumeClaim/mariadb-data-mariadb-0",
		"PersistentVolumeClaim/mariadb-dump-mariadb-0", "PersistentVolumeClaim/postgres-data-postgres-0"} {
		removes = append(removes, knownvalue.StringExact(o))
	}
	inPlace := fmt.Sprintf(`
resource "styrmin_restore" "in_place" {
  backup_name      = styrmin_backup.app.name
  target_namespace = %q
  components       = data.styrmin_driver_spec.app.components
  in_place         = true
}
`, ns)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: backupConfig(t, ns, ""),
				Check: func(*terraform.State) error {
					// The damage: rows changed and lost, a table that was not there, files gone and
					// added, and what is not a component's changed too.
					app.write("after", 7)
					app.exec(ns, "postgres", psql+` "delete from items where id <= 3; create table intruder (x int)"`)
					app.exec(ns, "mariadb", mariadb+` "update items set note = 'damaged'"`)
					app.execAll(ns, "files", `rm -f /data/uploads/before-1.txt`)
					app.exec(ns, "notes", `rm -f /data/notes/before-2.txt`)
					for _, patch := range []struct{ kind, name, data string }{
						{"configmaps", "settings", `{"data":{"mode":"after"}}`},
						{"secrets", "api-token", `{"stringData":{"token":"after"}}`},
					} {
						var err error
						if patch.kind == "configmaps" {
							_, err = stack.Kube.CoreV1().ConfigMaps(ns).Patch(ctx, patch.name, types.MergePatchType, []byte(patch.data), metav1.PatchOptions{})
						} else {
							_, err = stack.Kube.CoreV1().Secrets(ns).Patch(ctx, patch.name, types.MergePatchType, []byte(patch.data), metav1.PatchOptions{})
						}
						if err != nil {
							return err
						}
					}
					before = untouched()
					if damaged := app.fingerprint(ns); damaged["postgres"] == atBackup["postgres"] || damaged["files"] == atBackup["files"] {
						return fmt.Errorf("the damage did not change the data: %v", damaged)
					}
					return nil
				},
			},
			{
				Config: backupConfig(t, ns, inPlace),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("styrmin_restore.in_place", plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue("styrmin_restore.in_place", tfjsonpath.New("removes"), knownvalue.ListExact(removes)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("styrmin_restore.in_place", tfjsonpath.New("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("styrmin_restore.in_place", tfjsonpath.New("removes"), knownvalue.ListExact(removes)),
				},
				Check: func(*terraform.State) error {
					if err := app.cloneMatches(ns, atBackup)(nil); err != nil {
						return fmt.Errorf("restored in place: %w", err)
					}
					if n := app.exec(ns, "postgres", psql+` "select count(*) from pg_tables where tablename = 'intruder'"`); n != "0" {
						return fmt.Errorf("the table made after the backup survived the restore in place")
					}
					if after := untouched(); after != before {
						return fmt.Errorf("what is not a component's changed:\nbefore: %s\nafter:  %s", before, after)
					}
					return nil
				},
			},
		},
	})
}

// A namespace where the components run no pod, but their workloads (scaled to 0) and claims are
// still there, is refused too: Velero would keep them, and the restored pods would bind the old
// claims with their current data.
func TestAccRestore_refusesWorkloadsScaledToZeroAndLeftoverClaims(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-left")
	app.write("left", 2)
	name := retainedBackup(t, stack, app)
	// Every component's pods go: the StatefulSets and Deployments scaled to 0, files' deleted with
	// its claims left behind.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	zero := []byte(`{"spec":{"replicas":0}}`)
	for _, sts := range []string{"postgres", "mariadb"} {
		if _, err := stack.Kube.AppsV1().StatefulSets(app.namespace).Patch(ctx, sts, types.MergePatchType, zero, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stack.Kube.AppsV1().Deployments(app.namespace).Patch(ctx, "notes", types.MergePatchType, zero, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := stack.Kube.AppsV1().StatefulSets(app.namespace).Delete(ctx, "files", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err := stack.Kube.CoreV1().Pods(app.namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component in (postgres,mariadb,files,notes)"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d pods of the components still there", len(pods.Items))
		}
		time.Sleep(time.Second)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: restoreOnlyConfig(t, name, app.namespace, ""),
			ExpectError: regexp.MustCompile(`(?s)already\s+has\s+the\s+StatefulSet\s+"postgres".*already\s+has\s+the\s+PersistentVolumeClaim\s+"files-data-files-0"` +
				`.*Velero\s+keeps\s+what\s+exists`),
		}},
	})
	if restores, err := velero.List[velerov1.Restore](ctx, stack.Velero, ""); err == nil {
		for _, r := range restores {
			if r.Spec.BackupName == name {
				t.Errorf("the refused restore created Velero restore %s", r.Name)
			}
		}
	}
}
