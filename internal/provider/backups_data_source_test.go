package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// The clone guide without names passed between configurations: production holds, oldest first,
// a verified backup, a backup whose log was deleted from the bucket, and a newer backup made by
// hand with Velero (proven from the pods it captured: it ran no dump hook). The clone's configuration restores data.styrmin_backups' latest_verified:
// the oldest, the only one proven, and the clone holds its data. Then production makes a new
// backup: the next apply of the same configuration replaces the restore, in place, and the
// clone holds the new data.
func TestAccBackups_cloneRestoresTheLatestVerifiedBackup(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-find")
	app.write("good", 4)
	atGood := app.fingerprint(app.namespace)
	good := retainedBackup(t, stack, app)

	app.write("log-gone", 2)
	logGone := retainedBackup(t, stack, app)
	if _, err := stack.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(stack.Bucket),
		Key: aws.String(sandbox.DefaultBSLPrefix + "/" + velero.BackupLogKey(logGone))}); err != nil {
		t.Fatal(err)
	}
	byHand := backupByHand(t, stack, app.namespace)

	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	found := tfjsonpath.New("backups")
	var newest string
	var atNewest map[string]string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: findConfig(t, app.namespace, clone),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.styrmin_backups.prod", tfjsonpath.New("latest_verified"), knownvalue.StringExact(good)),
				statecheck.ExpectKnownValue("data.styrmin_backups.prod", found, knownvalue.ListExact([]knownvalue.Check{
					foundBackup(byHand, "Completed", false, `Velero attempted 0 hooks, the plan has \d+`),
					foundBackup(logGone, "Completed", false, regexp.QuoteMeta(velero.BackupLogKey(logGone))+` is gone from the bucket`),
					foundBackup(good, "Completed", true, `^$`),
				})),
				statecheck.ExpectKnownValue("data.styrmin_backups.none", tfjsonpath.New("latest_verified"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.styrmin_backups.none", found, knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("backup_name"), knownvalue.StringExact(good)),
				statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("verified"), knownvalue.Bool(true)),
			},
			Check: app.cloneMatches(clone, atGood),
		}, {
			PreConfig: func() {
				app.write("newest", 3)
				atNewest = app.fingerprint(app.namespace)
				newest = retainedBackup(t, stack, app)
			},
			Config: findConfig(t, app.namespace, clone),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("styrmin_restore.clone", plancheck.ResourceActionDestroyBeforeCreate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.styrmin_backups.prod", found, knownvalue.ListSizeExact(4)),
				statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("verified"), knownvalue.Bool(true)),
			},
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrPtr("data.styrmin_backups.prod", "latest_verified", &newest),
				resource.TestCheckResourceAttrPtr("data.styrmin_backups.prod", "backups.0.name", &newest),
				resource.TestCheckResourceAttrPtr("styrmin_restore.clone", "backup_name", &newest),
				func(s *terraform.State) error { return app.cloneMatches(clone, atNewest)(s) },
			),
		}, { // with no verified backup there is nothing to restore: the plan fails (and the read warns why)
			Config:      strings.Replace(findConfig(t, app.namespace, clone), "data.styrmin_backups.prod.latest_verified", "data.styrmin_backups.none.latest_verified", 1),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Must set a configuration value for the backup_name attribute`),
		}},
	})
}

func foundBackup(name, phase string, verified bool, problem string) knownvalue.Check {
	when := knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"name":         knownvalue.StringExact(name),
		"phase":        knownvalue.StringExact(phase),
		"schedule":     knownvalue.StringExact(""),
		"started_at":   when,
		"completed_at": when,
		"expires_at":   when,
		"verified":     knownvalue.Bool(verified),
		"problem":      knownvalue.StringRegexp(regexp.MustCompile(problem)),
	})
}

// findConfig is a clone environment's configuration that finds production's backups: the
// restore, in place, of the latest verified one, and a search that finds none.
func findConfig(t *testing.T, production, clone string) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %[1]q
}

data "styrmin_driver_spec" "app" {
  path = %[2]q
}

data "styrmin_backups" "prod" {
  location   = %[3]q
  namespace  = %[4]q
  components = data.styrmin_driver_spec.app.components
}

data "styrmin_backups" "none" {
  location   = %[3]q
  namespace  = %[4]q
  components = data.styrmin_driver_spec.app.components
  labels     = { "styrmin.io/test" = "none" }
}

resource "styrmin_restore" "clone" {
  backup_name      = data.styrmin_backups.prod.latest_verified
  target_namespace = %[5]q
  components       = data.styrmin_driver_spec.app.components
  in_place         = true
}
`, sandboxtest.ProviderKubeconfig(), driverSpecPath(t), os.Getenv("SANDBOX_DEFAULT_BSL"), production, clone)
}

// backupByHand makes a backup of namespace as `velero backup create` would, waits until Velero
// finishes it, and deletes it with its data when the test ends.
func backupByHand(t *testing.T, stack *sandboxtest.Stack, namespace string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := namespace + "-by-hand"
	if _, err := velero.Create(ctx, stack.Velero, &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: velerov1.BackupSpec{IncludedNamespaces: []string{namespace}, StorageLocation: os.Getenv("SANDBOX_DEFAULT_BSL"), TTL: metav1.Duration{Duration: time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_ = backups.Runner{Kube: stack.Kube, Velero: stack.Velero}.DeleteBackup(ctx, name)
	})
	b, err := velero.WaitFor(ctx, stack.Velero, name, func(b *velerov1.Backup) (bool, error) { return backups.BackupFinished(b.Status.Phase), nil })
	if err != nil {
		t.Fatalf("the backup by hand: %v", err)
	}
	if b.Status.Phase != velerov1.BackupPhaseCompleted {
		t.Fatalf("the backup by hand is %s, not Completed", b.Status.Phase)
	}
	return name
}
