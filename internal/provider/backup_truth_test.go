package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// A pod's own Velero hook annotation replaces the backup's hook for that pod: the dump would not
// run and the backup would hold the previous dump. The preflight refuses it, creating nothing.
func TestAccBackup_hookAnnotationOnAComponentPodIsRefused(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-annotated")
	app.write("x", 3)
	pod := app.podOf("postgres")
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		"pre.hook.backup.velero.io/container": "postgres",
		"pre.hook.backup.velero.io/command":   `["/bin/sh", "-c", "true"]`,
	}}})
	if _, err := stack.Kube.CoreV1().Pods(app.namespace).Patch(context.Background(), pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      backupConfig(t, app.namespace, ""),
			ExpectError: regexp.MustCompile(`(?s)component "postgres", pod "` + pod + `".*"pre\.hook\.backup\.velero\.io/command".*stale\s+or\s+no\s+dump`),
		}},
	})
	if n := countBackups(t, stack, app.namespace); n != 0 {
		t.Errorf("a refused preflight left %d Velero backups", n)
	}
}

// Two backups of one namespace in one apply (production's location and a copy's, say) get names
// of their own, and both are made and proven.
func TestAccBackup_twoBackupsOfOneNamespaceInOneApply(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-twice")
	app.write("x", 3)
	second := fmt.Sprintf(`
resource "styrmin_backup" "copy" {
  namespace       = %q
  backup_location = %q
  components      = data.styrmin_driver_spec.app.components
  ttl             = "1h"
  deletion_policy = "delete"
}
`, app.namespace, os.Getenv("SANDBOX_DEFAULT_BSL"))
	var names [2]string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: backupConfig(t, app.namespace, second),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("styrmin_backup.app", tfjsonpath.New("verified"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("styrmin_backup.copy", tfjsonpath.New("verified"), knownvalue.Bool(true)),
			},
			Check: func(s *terraform.State) error {
				names[0] = s.RootModule().Resources["styrmin_backup.app"].Primary.ID
				names[1] = s.RootModule().Resources["styrmin_backup.copy"].Primary.ID
				if names[0] == names[1] {
					return fmt.Errorf("both backups are named %s", names[0])
				}
				if n := countBackups(t, stack, app.namespace); n != 2 {
					return fmt.Errorf("%d Velero backups of %s, want 2", n, app.namespace)
				}
				return nil
			},
		}},
	})
}

// A restore is an event that happened: deleting its backup (deletion_policy = "delete") makes
// Velero delete the backup's Restore objects too, and a configuration that only restores must go
// on applying with an empty plan.
func TestAccRestore_outlivesItsBackup(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-outlive")
	app.write("x", 3)
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	name := app.namespace + "-backup"
	named := strings.Replace(backupConfig(t, app.namespace, ""), `namespace       =`, fmt.Sprintf("name            = %q\n  namespace       =", name), 1)
	restoreOnly := restoreOnlyConfig(t, name, clone, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{ // the backup and a clone from it
				Config: named + strings.Replace(restoreBlock(clone), "styrmin_backup.app.name", fmt.Sprintf("%q\n  depends_on       = [styrmin_backup.app]", name), 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("styrmin_restore.clone", tfjsonpath.New("verified"), knownvalue.Bool(true)),
				},
			},
			{ // the backup goes (its data, and with it Velero's Restore); the restore stays in state
				Config: restoreOnly,
				Check: func(*terraform.State) error {
					return waitGone[velerov1.Restore](stack, func(r *velerov1.Restore) bool { return r.Spec.BackupName == name })
				},
			},
			{ // and the configuration still plans nothing (a plan-only step fails on any change)
				Config:   restoreOnly,
				PlanOnly: true,
			},
		},
	})
}

// A location whose name is taken (another state's, velero install's, a lost state's) is refused
// with the way to adopt it, and nothing of the existing one changes: not its Secret, not its BSL.
func TestAccBackupLocation_nameTakenIsRefused(t *testing.T) {
	stack := sandboxtest.Require(t)
	ctx := context.Background()
	name := randomName("acc-taken")
	secretName := velero.CredentialSecretName(name)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: stack.VeleroNamespace,
			Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}},
		StringData: map[string]string{"cloud": "[default]\naws_access_key_id=other-state\naws_secret_access_key=other-secret\n"},
	}
	if _, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	existing := &velerov1.BackupStorageLocation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}},
		Spec: velerov1.BackupStorageLocationSpec{Provider: "aws", AccessMode: velerov1.BackupStorageLocationAccessModeReadOnly,
			StorageType: velerov1.StorageType{ObjectStorage: &velerov1.ObjectStorageLocation{Bucket: stack.Bucket, Prefix: name + "-other"}},
			Credential:  &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: "cloud"}},
	}
	if _, err := velero.Create(ctx, stack.Velero, existing); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = velero.Delete[velerov1.BackupStorageLocation](ctx, stack.Velero, name)
		_ = stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Delete(ctx, secretName, metav1.DeleteOptions{})
	})
	before, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: locationConfig(name, name, secretLine()),
			ExpectError: regexp.MustCompile(`(?s)backup storage location "` + name + `" already exists.*nothing was\s+changed.*terraform\s+import\s+styrmin_backup_location\.<resource>\s+` +
				stack.VeleroNamespace + `/` + name),
		}},
	})
	after, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the existing location's Secret is gone: %v", err)
	}
	if after.ResourceVersion != before.ResourceVersion || string(after.Data["cloud"]) != string(before.Data["cloud"]) {
		t.Errorf("the existing location's Secret was changed: %q, was %q", after.Data["cloud"], before.Data["cloud"])
	}
	bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, stack.Velero, name)
	if err != nil || bsl.Spec.ObjectStorage.Prefix != name+"-other" {
		t.Errorf("the existing BSL changed or went: %+v, %v", bsl, err)
	}
}

// A resumed wait that ends in a failure (the backup Velero finished after the interrupt failed)
// taints nothing: Terraform does not taint on update. The next plan must replace the backup
// rather than verify the same failure again, apply after apply.
func TestAccBackup_failedResumeIsReplaced(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-failresume")
	app.write("x", 3)
	terraform := interruptedBackup(t, stack, app.namespace, "sleep 15; echo the export failed >&2; exit 3")
	if result, err := terraform("apply", "-auto-approve", "-input=false").CombinedOutput(); err == nil ||
		!strings.Contains(string(result), "did not capture what it must") {
		t.Fatalf("the resumed apply of a failing backup: %v\n%s", err, result)
	}
	plan := terraform("plan", "-detailed-exitcode", "-input=false")
	result, err := plan.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(result), "must be replaced") {
		t.Fatalf("the plan after a failed resumed apply (%v) does not replace the backup:\n%s", err, result)
	}
}

// podOf is the name of the first pod of a component.
func (a *sampleApp) podOf(component string) string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pods, err := a.stack.WaitPodRunning(ctx, a.namespace, "app.kubernetes.io/component="+component)
	if err != nil {
		a.t.Fatal(err)
	}
	return pods[0].Name
}

// waitGone waits until no Velero object of type T that match selects is left.
func waitGone[T velero.Object](stack *sandboxtest.Stack, match func(*T) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		list, err := velero.List[T](ctx, stack.Velero, "")
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		left := 0
		for i := range list {
			if match(&list[i]) {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d objects still there", left)
		case <-time.After(time.Second):
		}
	}
}

// A location that went Unavailable (here: its bucket deleted) makes the drift job's plan fail:
// the plan updates it, quoting Velero's reason, and applying that plan, once the bucket is back,
// makes Velero validate it again.
func TestAccBackupLocation_unavailableFailsTheDriftJob(t *testing.T) {
	stack := sandboxtest.Require(t)
	ctx := context.Background()
	name := randomName("acc-unavail")
	bucket := aws.String(name)
	if _, err := stack.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = stack.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}) })
	config := strings.Replace(locationConfig(name, name, secretLine()+"  validation_frequency = \"1s\"\n"),
		fmt.Sprintf("bucket             = %q", os.Getenv("SANDBOX_S3_BUCKET")), fmt.Sprintf("bucket             = %q", name), 1)
	address := "styrmin_backup_location.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
			}},
			{ // the bucket goes: Velero marks the location Unavailable, and the plan is not empty
				PreConfig: func() {
					if _, err := stack.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); err != nil {
						t.Fatal(err)
					}
					if err := waitPhase(stack, name, velerov1.BackupStorageLocationPhaseUnavailable); err != nil {
						t.Fatal(err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // the bucket is back: applying the plan validates the location again
				PreConfig: func() {
					if _, err := stack.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
				},
			},
		},
	})
}

// waitPhase waits until Velero reports the location in phase.
func waitPhase(stack *sandboxtest.Stack, name string, phase velerov1.BackupStorageLocationPhase) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := velero.WaitFor(ctx, stack.Velero, name, func(b *velerov1.BackupStorageLocation) (bool, error) {
		return b.Status.Phase == phase, nil
	})
	return err
}

// Importing a location that `velero install` made (no credential of its own: Velero uses the
// server's key) must not copy the Velero server's key into state.
func TestAccBackupLocation_importOfAVeleroInstallLocationKeepsTheServerKeyOut(t *testing.T) {
	stack := sandboxtest.Require(t)
	serverKey := os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:        locationConfig(os.Getenv("SANDBOX_DEFAULT_BSL"), "sandbox-default", secretLine()),
			ResourceName:  "styrmin_backup_location.test",
			ImportState:   true,
			ImportStateId: stack.VeleroNamespace + "/" + os.Getenv("SANDBOX_DEFAULT_BSL"),
			ImportStateCheck: func(states []*terraform.InstanceState) error {
				if len(states) != 1 {
					return fmt.Errorf("%d states imported", len(states))
				}
				for key, value := range states[0].Attributes {
					if strings.Contains(value, serverKey) || (key == "access_key_id" && value != "") {
						return fmt.Errorf("the import copied the Velero server's credentials into state (%s)", key)
					}
				}
				return nil
			},
		}},
	})
}
