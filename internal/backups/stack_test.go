package backups

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// On the real stack: a backup whose dump did not run is not proven, even though Velero calls it
// Completed and the dump volume holds a complete dump with its marker (an earlier backup's). The
// provider's preflight refuses the usual way this happens (a Velero hook annotation on the pod,
// which replaces the backup's hook); here the annotation is added after the preflight, as a
// rollout or another tool could, so only the proof from the backup's own log stands between the
// user and a stale backup. A restore of that backup is refused as well.
func TestStackStaleDumpIsNotProven(t *testing.T) {
	stack := sandboxtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ns := stack.Namespace(t, "stack-stale")
	if err := stack.DeploySampleApp(ctx, ns); err != nil {
		t.Fatal(err)
	}
	pods, err := stack.WaitPodRunning(ctx, ns, "app.kubernetes.io/component=postgres")
	if err != nil {
		t.Fatal(err)
	}
	pod := pods[0].Name
	psql := func(sql string) {
		t.Helper()
		if _, err := stack.Exec(ctx, ns, pod, "postgres", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "app", "-d", "app", "-c", sql); err != nil {
			t.Fatal(err)
		}
	}
	psql("create table items (id serial primary key); insert into items select from generate_series(1, 20)")
	driver, err := driverspec.ParseFile(filepath.Join(filepath.Dir(os.Getenv("SANDBOX_DIR")), "examples", "sample-app", "driver.styrmin.yml"))
	if err != nil {
		t.Fatal(err)
	}
	components := []driverspec.Component{driver.Components["postgres"]}
	runner := Runner{Kube: stack.Kube, Velero: stack.Velero, Locations: velero.Locations{Kube: stack.Kube, Velero: stack.Velero}}
	backup := func(name string) error {
		t.Helper()
		request := BackupRequest{Name: name, Namespace: ns, Location: os.Getenv("SANDBOX_DEFAULT_BSL"), Components: components, TTL: time.Hour}
		plans, podList, err := runner.PlanBackup(ctx, request)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = runner.DeleteBackup(context.Background(), name) })
		// What could change between the preflight and Velero's hook: a hook annotation on the pod.
		if name == ns+"-second" {
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
				"pre.hook.backup.velero.io/container": "postgres",
				"pre.hook.backup.velero.io/command":   `["/bin/sh", "-c", "true"]`,
			}}})
			if _, err := stack.Kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := runner.StartBackup(ctx, request, plans, podList); err != nil {
			t.Fatal(err)
		}
		b, err := runner.WaitBackup(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		verifyPlans, err := PlansFromBackup(b, components)
		if err != nil {
			t.Fatal(err)
		}
		_, err = runner.VerifyBackup(ctx, b, verifyPlans)
		return err
	}

	if err := backup(ns + "-first"); err != nil {
		t.Fatalf("the first backup is not proven: %v", err)
	}
	psql("insert into items select from generate_series(1, 777)")
	err = backup(ns + "-second")
	kubetest.ErrorContains(t, err, "component postgres: pod "+pod+" reported no complete dump for this backup in its log")

	_, err = runner.PlanRestore(ctx, RestoreRequest{Name: ns + "-restore", Backup: ns + "-second", TargetNamespace: ns + "-clone", Components: components})
	kubetest.ErrorContains(t, err, `backup "`+ns+`-second" recorded no complete dump of component "postgres" in pod `+pod)
}
