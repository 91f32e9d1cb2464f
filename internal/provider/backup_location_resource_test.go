package provider

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// locationConfig renders a styrmin_backup_location against the local stack's MinIO. extra is
// spliced into the resource block.
func locationConfig(name, prefix, extra string) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %q
}

resource "styrmin_backup_location" "test" {
  name               = %q
  bucket             = %q
  prefix             = %q
  region             = %q
  endpoint           = %q
  force_path_style   = true
  checksum_algorithm = ""
  access_key_id      = %q
%s
}
`, sandboxtest.ProviderKubeconfig(), name, os.Getenv("SANDBOX_S3_BUCKET"), prefix, os.Getenv("SANDBOX_S3_REGION"),
		os.Getenv("SANDBOX_S3_ENDPOINT"), os.Getenv("SANDBOX_S3_ACCESS_KEY_ID"), extra)
}

func secretLine() string {
	return fmt.Sprintf("  secret_access_key = %q\n", os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY"))
}

func randomName(prefix string) string { return fmt.Sprintf("%s-%06d", prefix, rand.IntN(1000000)) }

func TestAccBackupLocation_lifecycle(t *testing.T) {
	stack := sandboxtest.Require(t)
	name := randomName("acc-bsl")
	ctx := context.Background()
	locations := velero.Locations{Kube: stack.Kube, Velero: stack.Velero}
	address := "styrmin_backup_location.test"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkLocationGone(stack, name),
		Steps: []resource.TestStep{
			{ // create → Available
				Config: locationConfig(name, name, secretLine()),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("credentials_secret_name"), knownvalue.StringExact("styrmin-bsl-"+name)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("id"), knownvalue.StringExact(stack.VeleroNamespace+"/"+name)),
					statecheck.ExpectSensitiveValue(address, tfjsonpath.New("secret_access_key")),
				},
				Check: func(*terraform.State) error {
					bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, stack.Velero, name)
					if err != nil {
						return err
					}
					if bsl.Spec.ObjectStorage.Bucket != stack.Bucket || bsl.Spec.Config["s3ForcePathStyle"] != "true" {
						return fmt.Errorf("unexpected BSL spec: %+v", bsl.Spec)
					}
					return nil
				},
			},
			{ // update in place (canonical duration spellings, so import verifies them exactly)
				Config: locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, stack.Velero, name)
					if err != nil {
						return err
					}
					if bsl.Spec.ValidationFrequency == nil || bsl.Spec.ValidationFrequency.Duration.String() != "2m0s" {
						return fmt.Errorf("validationFrequency not updated: %v", bsl.Spec.ValidationFrequency)
					}
					return nil
				},
			},
			{ // drift 1: the BSL spec edited out of band
				PreConfig: func() {
					bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, stack.Velero, name)
					if err != nil {
						t.Fatal(err)
					}
					bsl.Spec.Config["region"] = "eu-west-9"
					if _, err := velero.Update(ctx, stack.Velero, bsl); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
				}},
				ExpectNonEmptyPlan: true,
			},
			{ // ... repaired by apply
				Config: locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				}},
				Check: checkLocationRegion(stack, name, os.Getenv("SANDBOX_S3_REGION")),
			},
			{ // drift 2: the credentials Secret edited out of band
				PreConfig: func() {
					secret, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Get(ctx, velero.CredentialSecretName(name), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					secret.Data["cloud"] = []byte("[default]\naws_access_key_id=someone-else\naws_secret_access_key=wrong\n")
					if _, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
				}},
				ExpectNonEmptyPlan: true,
			},
			{ // ... repaired by apply
				Config: locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					loc, _, err := locations.Read(ctx, name)
					if err != nil {
						return err
					}
					if loc.AccessKeyID != os.Getenv("SANDBOX_S3_ACCESS_KEY_ID") {
						return fmt.Errorf("secret not repaired: access key id %q", loc.AccessKeyID)
					}
					return nil
				},
			},
			{ // drift 3: deleted out of band → plan shows create
				PreConfig: func() {
					if err := locations.Delete(ctx, name); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
				}},
				ExpectNonEmptyPlan: true,
			},
			{ // ... re-created by apply
				Config: locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
				},
			},
			{ // drift 4: only the BSL deleted (kubectl delete backupstoragelocation), its Secret left behind
				PreConfig: func() {
					if err := velero.Delete[velerov1.BackupStorageLocation](ctx, stack.Velero, name); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
				}},
				ExpectNonEmptyPlan: true,
			},
			{ // ... re-created by apply, reusing the Secret it made
				Config: locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
				},
			},
			{ // import with `terraform import`
				ResourceName:            address,
				ImportState:             true,
				ImportStateId:           stack.VeleroNamespace + "/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "last_validation_time", "phase", "message"},
			},
			{ // import with an import block
				ResourceName:    address,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   stack.VeleroNamespace + "/" + name,
				Config:          locationConfig(name, name, secretLine()+"  validation_frequency = \"2m0s\"\n  backup_sync_period = \"1m30s\"\n"),
			},
			{ // a new prefix is a new location: replacement
				Config: locationConfig(name, name+"-moved", secretLine()),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("prefix"), knownvalue.StringExact(name+"-moved")),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
				},
			},
		},
	})
}

func TestAccBackupLocation_writeOnlySecret(t *testing.T) {
	stack := sandboxtest.Require(t)
	name := randomName("acc-bsl-wo")
	address := "styrmin_backup_location.test"
	wo := func(version int) string {
		return fmt.Sprintf("  secret_access_key_wo = %q\n  secret_access_key_wo_version = %d\n", os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY"), version)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		CheckDestroy:             checkLocationGone(stack, name),
		Steps: []resource.TestStep{
			{
				Config: locationConfig(name, name, wo(1)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(address, tfjsonpath.New("secret_access_key_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("secret_access_key"), knownvalue.Null()),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
				},
				Check: func(s *terraform.State) error {
					raw := fmt.Sprint(s.RootModule().Resources[address].Primary.Attributes)
					if strings.Contains(raw, os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY")) {
						return fmt.Errorf("the write-only secret is in state")
					}
					return nil
				},
			},
			{ // the Secret changed out of band: noticed through its hash, repaired by apply
				PreConfig: func() {
					ctx := context.Background()
					secret, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Get(ctx, velero.CredentialSecretName(name), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					secret.Data["cloud"] = []byte(strings.Replace(string(secret.Data["cloud"]), "aws_secret_access_key=", "aws_secret_access_key=x", 1))
					if _, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{PostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectNonEmptyPlan(),
				}},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: locationConfig(name, name, wo(1)),
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

// Each failed preflight names its cause and leaves neither Secret nor BSL behind.
func TestAccBackupLocation_preflightFailures(t *testing.T) {
	stack := sandboxtest.Require(t)
	for _, tc := range []struct {
		name   string
		config func(name string) string
		want   *regexp.Regexp
	}{
		{"bad credentials", func(n string) string {
			return locationConfig(n, n, "  secret_access_key = \"definitely-wrong\"\n")
		}, regexp.MustCompile(`(?s)secret_access_key|credentials`)},
		{"missing bucket", func(n string) string {
			return strings.Replace(locationConfig(n, n, secretLine()), fmt.Sprintf("bucket             = %q", stack.Bucket),
				`bucket             = "no-such-bucket-styrmin"`, 1)
		}, regexp.MustCompile(`(?s)no-such-bucket-styrmin.*(does not exist|not found)`)},
		{"unreachable endpoint", func(n string) string {
			return strings.Replace(locationConfig(n, n, secretLine()), os.Getenv("SANDBOX_S3_ENDPOINT"), "http://127.0.0.1:9", 1)
		}, regexp.MustCompile(`(?s)127\.0\.0\.1:9.*(reach|connect|refused)`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := randomName("acc-bsl-bad")
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config(name),
					ExpectError: tc.want,
				}},
			})
			if err := checkLocationGone(stack, name)(nil); err != nil {
				t.Error(err)
			}
		})
	}
}

func checkLocationGone(stack *sandboxtest.Stack, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := velero.Get[velerov1.BackupStorageLocation](ctx, stack.Velero, name); !sandboxtest.IsNotFound(err) {
			return fmt.Errorf("backup storage location %s still exists (err=%v)", name, err)
		}
		_, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).Get(ctx, velero.CredentialSecretName(name), metav1.GetOptions{})
		if !sandboxtest.IsNotFound(err) {
			return fmt.Errorf("credentials secret of %s still exists (err=%v)", name, err)
		}
		return nil
	}
}

func checkLocationRegion(stack *sandboxtest.Stack, name, region string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		bsl, err := velero.Get[velerov1.BackupStorageLocation](context.Background(), stack.Velero, name)
		if err != nil {
			return err
		}
		if got := bsl.Spec.Config["region"]; got != region {
			return fmt.Errorf("region is %q, want %q", got, region)
		}
		return nil
	}
}
