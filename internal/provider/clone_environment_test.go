package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// The clone guide, run as written, across two Velero installs of the stack: production's (the
// stack's own) and the test environment's (namespace velero-test, its own server, node-agent and
// a key that reads production's prefix and writes only under its restores/). The guide's
// production configuration backs the sample app up; the guide's clone configuration, with its own
// state and provider block, creates the ReadOnly location, finds the backup once Velero's sync
// brought it in and restores it into another namespace: the data is production's. Production's
// backup and its Kopia repository in the bucket are the same objects afterwards, and the test
// environment's key cannot write them (nor list another prefix).
func TestAccClone_testEnvironmentRestoresProductionsLatestVerifiedBackup(t *testing.T) {
	stack := sandboxtest.Require(t)
	ctx := context.Background()
	if err := stack.RemovePrefix(ctx, sandbox.ProductionPrefix+"/"); err != nil { // an earlier run's
		t.Fatal(err)
	}
	env := stack.TestEnvironment(t)
	app := deploySampleApp(t, stack, "acc-prod")
	app.write("production", 4)
	atBackup := app.fingerprint(app.namespace)
	clone := app.namespace + "-test"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	t.Cleanup(func() { removeProductionLocation(t, stack) })
	t.Setenv("HOME", kubeconfigHome(t, "production", "test"))

	root := sandbox.S3Credentials{AccessKeyID: os.Getenv("SANDBOX_S3_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY")}
	bucket := config.Variables{"bucket": config.StringVariable(stack.Bucket), "endpoint": config.StringVariable(os.Getenv("SANDBOX_S3_ENDPOINT"))}
	production := guideConfiguration(t, "production", bucket, config.Variables{
		"namespace":            config.StringVariable(app.namespace),
		"s3_access_key_id":     config.StringVariable(root.AccessKeyID),
		"s3_secret_access_key": config.StringVariable(root.SecretAccessKey),
	})
	testEnvironment := guideConfiguration(t, "clone", bucket, config.Variables{
		"production_namespace": config.StringVariable(app.namespace),
		"target_namespace":     config.StringVariable(clone),
		"s3_access_key_id":     config.StringVariable(env.Key.AccessKeyID),
		"s3_secret_access_key": config.StringVariable(env.Key.SecretAccessKey),
	})
	// Terraform starts a provider in its working directory, where the guide's driver file is;
	// this one runs in the test's process.
	t.Chdir(production.dir)

	var backup string
	var productionObjects map[string]string
	// The providers are the steps' own: the framework counts a directory's terraform block as
	// declaring them.
	resource.Test(t, resource.TestCase{
		Steps: []resource.TestStep{{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			ConfigDirectory:          config.StaticDirectory(production.dir),
			ConfigVariables:          production.variables,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("styrmin_backup.app", tfjsonpath.New("verified"), knownvalue.Bool(true)),
			},
			Check: func(s *terraform.State) error {
				backup = s.RootModule().Resources["styrmin_backup.app"].Primary.ID
				var err error
				productionObjects, err = backupObjects(stack, backup, app.namespace)
				return err
			},
		}, {
			// The test environment's configuration runs while production's stands, as in the guide.
			PreConfig: func() {
				t.Run("test environment", func(t *testing.T) {
					t.Setenv("STYRMIN_VELERO_NAMESPACE", env.Namespace) // the guide's "velero" of another cluster
					resource.Test(t, resource.TestCase{
						Steps: []resource.TestStep{{
							ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
							ConfigDirectory:          config.StaticDirectory(testEnvironment.dir),
							ConfigVariables:          testEnvironment.variables,
							ConfigStateChecks: []statecheck.StateCheck{
								statecheck.ExpectKnownValue("styrmin_backup_location.production", tfjsonpath.New("phase"), knownvalue.StringExact("Available")),
								statecheck.ExpectKnownValue("styrmin_restore.app", tfjsonpath.New("verified"), knownvalue.Bool(true)),
							},
							Check: resource.ComposeTestCheckFunc(
								resource.TestCheckResourceAttrPtr("data.styrmin_backups.production", "latest_verified", &backup),
								resource.TestCheckResourceAttrPtr("styrmin_restore.app", "backup_name", &backup),
								app.cloneMatches(clone, atBackup),
								restoredBy(stack, env.Namespace),
							),
						}},
					})
				})
			},
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			ConfigDirectory:          config.StaticDirectory(production.dir),
			ConfigVariables:          production.variables,
			PlanOnly:                 true, // production's state is untouched by the test environment
			Check: func(*terraform.State) error {
				after, err := backupObjects(stack, backup, app.namespace)
				if err != nil {
					return err
				}
				if !maps.Equal(productionObjects, after) {
					return fmt.Errorf("the test environment changed production's backup or repository in the bucket:\nbefore %v\nafter  %v", productionObjects, after)
				}
				return testEnvKeyConfined(env.Key, stack.Bucket, backup, app.namespace)
			},
		}},
	})
}

// restoredBy checks that the Restore is the test environment's Velero's.
func restoredBy(stack *sandboxtest.Stack, namespace string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		name := s.RootModule().Resources["styrmin_restore.app"].Primary.ID
		_, err := velero.Get[velerov1.Restore](context.Background(), velero.NewClient(stack.Dynamic, namespace), name)
		if err != nil {
			return fmt.Errorf("restore %s in %s: %w", name, namespace, err)
		}
		return nil
	}
}

// guide is one of the clone guide's configurations, in a working directory of its own.
type guide struct {
	dir       string
	variables config.Variables
}

// guideConfiguration copies the guide's configuration name and the sample app's driver file
// (the guide's driver.styrmin.yml) into a directory of its own.
func guideConfiguration(t *testing.T, name string, variables ...config.Variables) guide {
	t.Helper()
	dir := t.TempDir()
	for src, dest := range map[string]string{
		filepath.Join("../../examples/guides/environment-clones", name, "main.tf"): "main.tf",
		"../../examples/sample-app/driver.styrmin.yml":                             "driver.styrmin.yml",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dest), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := config.Variables{}
	for _, v := range variables {
		maps.Copy(all, v)
	}
	return guide{dir: dir, variables: all}
}

// kubeconfigHome is a home directory whose ~/.kube/config, which the guide's provider blocks read,
// names the provider's ServiceAccount on the stack under each of contexts.
func kubeconfigHome(t *testing.T, contexts ...string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(sandboxtest.ProviderKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	current := cfg.Contexts[cfg.CurrentContext]
	if current == nil {
		t.Fatalf("%s has no current context", sandboxtest.ProviderKubeconfig())
	}
	for _, name := range contexts {
		cfg.Contexts[name] = current.DeepCopy()
	}
	home := t.TempDir()
	if err := clientcmd.WriteToFile(*cfg, filepath.Join(home, ".kube", "config")); err != nil {
		t.Fatal(err)
	}
	return home
}

// backupObjects lists, with their ETags, the bucket's objects of production's backup and of the
// Kopia repository that holds namespace's volumes.
func backupObjects(stack *sandboxtest.Stack, backup, namespace string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := map[string]string{}
	for _, prefix := range []string{"backups/" + backup + "/", "kopia/" + namespace + "/"} {
		objects, err := stack.Objects(ctx, sandbox.ProductionPrefix+"/"+prefix)
		if err != nil {
			return nil, err
		}
		if len(objects) == 0 {
			return nil, fmt.Errorf("nothing under %s/%s in the bucket", sandbox.ProductionPrefix, prefix)
		}
		maps.Copy(all, objects)
	}
	return all, nil
}

// testEnvKeyConfined checks that the test environment's key is refused a write next to
// production's backup and into its repository, and a listing of another prefix.
func testEnvKeyConfined(key sandbox.S3Credentials, bucket, backup, namespace string) error {
	client := sandbox.S3Client(key)
	denied := func(what string, err error) error {
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
			return fmt.Errorf("the test environment's key %s: got %v, want AccessDenied", what, err)
		}
		return nil
	}
	for _, dir := range []string{"backups/" + backup, "kopia/" + namespace} {
		k := sandbox.ProductionPrefix + "/" + dir + "/written-by-the-test-environment"
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader("x")})
		if err := denied("writing "+k, err); err != nil {
			return err
		}
	}
	_, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(sandbox.DefaultBSLPrefix + "/")})
	return denied("listing "+sandbox.DefaultBSLPrefix+"/", err)
}

// removeProductionLocation deletes what production's configuration leaves when it is destroyed:
// the retained backup (its location is gone, so Velero cannot), its records and the prefix.
func removeProductionLocation(t *testing.T, stack *sandboxtest.Stack) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	backups, _ := velero.List[velerov1.Backup](ctx, stack.Velero, "")
	for _, b := range backups {
		if b.Spec.StorageLocation != sandbox.TestEnvLocation {
			continue
		}
		volumes, _ := velero.List[velerov1.PodVolumeBackup](ctx, stack.Velero, velerov1.BackupNameLabel+"="+b.Name)
		for _, v := range volumes {
			_ = velero.Delete[velerov1.PodVolumeBackup](ctx, stack.Velero, v.Name)
		}
		_ = velero.Delete[velerov1.Backup](ctx, stack.Velero, b.Name)
	}
	repos, _ := velero.List[velerov1.BackupRepository](ctx, stack.Velero, "")
	for _, r := range slices.DeleteFunc(repos, func(r velerov1.BackupRepository) bool { return r.Spec.BackupStorageLocation != sandbox.TestEnvLocation }) {
		_ = velero.Delete[velerov1.BackupRepository](ctx, stack.Velero, r.Name)
	}
	if err := stack.RemovePrefix(ctx, sandbox.ProductionPrefix+"/"); err != nil {
		t.Error(err)
	}
}
