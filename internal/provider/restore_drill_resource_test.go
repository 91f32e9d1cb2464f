package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// Restore drills of one backup: a drill whose checks hold passes and leaves nothing behind; one
// whose expected output differs fails naming the check and keeps its scratch namespace
// (keep_failed), which the next apply removes; and after the backup's file-system data was
// corrupted in the bucket, the drill fails with the restore's reason.
func TestAccRestoreDrill_passesAndFailsWithTheReason(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-drill")
	app.write("drill", 6)
	backup := retainedBackup(t, stack, app)
	drill := func(n int) string { return fmt.Sprintf("%s-d%d", app.namespace, n) }
	t.Cleanup(func() {
		for n := 1; n <= 3; n++ {
			stack.DeleteNamespace(drill(n))
		}
	})
	address := "styrmin_restore_drill.nightly"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for n := 1; n <= 3; n++ {
				if namespaceExists(stack, drill(n)) {
					return fmt.Errorf("scratch namespace %s is left after destroy", drill(n))
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: drillConfig(t, backup, drill(1), "6", false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("passed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("scratch_namespace"), knownvalue.StringExact(drill(1))),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("results").AtMapKey("postgres").AtMapKey("output"), knownvalue.StringExact("6")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("results").AtMapKey("mariadb").AtMapKey("output"), knownvalue.StringExact("6")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("results").AtMapKey("files").AtMapKey("passed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("duration"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9.]+(m[0-9.]+)?s$`))),
				},
				Check: func(*terraform.State) error {
					if namespaceExists(stack, drill(1)) {
						return fmt.Errorf("the passed drill left its scratch namespace %s", drill(1))
					}
					return nil
				},
			},
			{ // another expectation: the drill runs again, and fails naming the check
				Config: drillConfig(t, backup, drill(2), "999", true),
				ExpectError: regexp.MustCompile(`(?s)1\s+of\s+3\s+checks\s+failed.*check\s+of\s+component\s+postgres\s+in\s+pod\s+postgres-0:\s+it\s+printed\s+"6",\s+expected\s+"999".*` +
					drill(2) + `\s+is\s+kept`),
			},
			{ // the kept namespace is there until the next drill; the repository's data is corrupted
				PreConfig: func() {
					if !namespaceExists(stack, drill(2)) {
						t.Fatalf("the failed drill with keep_failed did not keep %s", drill(2))
					}
					corruptRepository(t, stack, app.namespace)
				},
				Config:      drillConfig(t, backup, drill(3), "6", false),
				ExpectError: regexp.MustCompile(`(?s)The restore drill failed.*restore\s+` + drill(3) + `\s+failed`),
			},
			{ // the drill failed without keep_failed: nothing of it is left
				PreConfig: func() {
					for _, n := range []int{2, 3} {
						if namespaceExists(stack, drill(n)) {
							t.Errorf("scratch namespace %s is still there", drill(n))
						}
					}
					// and no volume restore of it was left to wait for its deleted pod
					pvrs, err := velero.List[velerov1.PodVolumeRestore](context.Background(), stack.Velero, velerov1.RestoreNameLabel+"="+drill(3))
					if err != nil || len(pvrs) == 0 {
						t.Fatalf("PodVolumeRestores of %s: %d, %v", drill(3), len(pvrs), err)
					}
					for _, pvr := range pvrs {
						if pvr.Status.Phase != velerov1.PodVolumeRestorePhaseCompleted && pvr.Status.Phase != velerov1.PodVolumeRestorePhaseFailed {
							t.Errorf("PodVolumeRestore %s is %q: its pod was deleted before it ran", pvr.Name, pvr.Status.Phase)
						}
					}
				},
				Config:             drillConfig(t, backup, drill(3), "6", false),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true, // the failed drill is tainted: the next apply runs it again
			},
		},
	})
}

func drillConfig(t *testing.T, backup, name, rows string, keepFailed bool) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %[1]q
}

data "styrmin_driver_spec" "app" {
  path = %[2]q
}

resource "styrmin_restore_drill" "nightly" {
  name        = %[4]q
  backup_name = %[3]q
  components  = data.styrmin_driver_spec.app.components
  keep_failed = %[6]t
  checks = {
    postgres = { command = ["sh", "-c", %[7]q], expected_output = %[5]q }
    mariadb  = { command = ["sh", "-c", %[8]q], expected_output = "6" }
    files    = { command = ["sh", "-c", "ls /data/uploads | grep -q drill-6"] }
  }
}
`, sandboxtest.ProviderKubeconfig(), driverSpecPath(t), backup, name, rows, keepFailed,
		psql+` "select count(*) from items"`, mariadb+` "select count(*) from items"`)
}

func namespaceExists(stack *sandboxtest.Stack, name string) bool {
	_, err := stack.Kube.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	return err == nil
}

// corruptRepository overwrites, in the bucket, every pack blob of the Kopia repository that holds
// namespace's file-system backups with random bytes of the same size: the data is there, damaged.
func corruptRepository(t *testing.T, stack *sandboxtest.Stack, namespace string) {
	t.Helper()
	ctx := context.Background()
	prefix := sandbox.DefaultBSLPrefix + "/kopia/" + namespace + "/"
	list, err := stack.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(stack.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	corrupted := 0
	for _, o := range list.Contents {
		if !strings.HasPrefix(strings.TrimPrefix(aws.ToString(o.Key), prefix), "p") {
			continue
		}
		junk := make([]byte, aws.ToInt64(o.Size))
		_, _ = rand.Read(junk)
		if _, err := stack.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(stack.Bucket), Key: o.Key, Body: strings.NewReader(string(junk))}); err != nil {
			t.Fatal(err)
		}
		corrupted++
	}
	if corrupted == 0 {
		t.Fatalf("no pack blob under s3://%s/%s", stack.Bucket, prefix)
	}
	t.Logf("corrupted %d pack blobs under %s", corrupted, prefix)
}
