package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// A schedule every minute of the sample app. The first apply selects the notes Deployment's volume
// on its pod template (which the chart left out here), waits for that rollout, and makes the first
// backup, verified.
// Then every component pod is deleted, its workload makes it again, and the next backup Velero's
// schedule makes still captures every named volume and dump (verified at refresh, empty plan).
// Negative control: the annotation removed from the files StatefulSet's pod template (as a Helm
// upgrade that sets its own would): its pods are made again without it, Velero's next backup
// misses their volumes, refresh says so (last_backup not verified, out_of_sync names the
// StatefulSet) and the plan updates the schedule; the apply puts the annotation back and makes a
// backup that is verified. Then the Schedule's cron is changed out of band and the configuration
// pauses it: one update restores the cron and pauses. A restore drill of the last scheduled
// backup passes (its dumps name the schedule's run). Import; destroy keeps the backups.
func TestAccBackupSchedule_podsMadeAgainKeepTheirVolumes(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-sched")
	// The sample chart selects every component's volume; the notes Deployment's template does not
	// here, so the first apply adds it (a rollout) before it makes the first backup.
	removeTemplateAnnotation(t, stack, app.namespace, backups.Workload{Kind: "Deployment", Name: "notes"})
	app.waitRunning(app.namespace)
	app.write("scheduled", 3)
	name := app.namespace
	t.Cleanup(func() { deleteScheduleAndBackups(t, stack, name) })

	address := "styrmin_backup_schedule.app"
	last := func(attr string) tfjsonpath.Path { return tfjsonpath.New("last_backup").AtMapKey(attr) }
	var first, afterDeletion, missed string
	var since time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := velero.Get[velerov1.Schedule](context.Background(), stack.Velero, name); !sandboxtest.IsNotFound(err) {
				return fmt.Errorf("schedule %s after destroy: %v, want it gone", name, err)
			}
			kept := scheduledBackups(t, stack, name)
			for _, b := range []string{first, afterDeletion, missed} {
				if !slices.Contains(kept, b) {
					return fmt.Errorf("backup %s is gone after destroy (kept %v): destroy must keep the schedule's backups", b, kept)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: scheduleConfig(t, app.namespace, name, false, false),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(address, last("verified"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(address, last("phase"), knownvalue.StringExact("Completed")),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("out_of_sync"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeTestCheckFunc(
				func(s *terraform.State) error {
					first = s.RootModule().Resources[address].Primary.Attributes["last_backup.name"]
					return nil
				},
				templatesSelect(stack, app.namespace, map[string]string{
					"StatefulSet/postgres": "postgres-dump", "StatefulSet/mariadb": "mariadb-dump",
					"StatefulSet/files": "files-data", "Deployment/notes": "notes-export",
				}),
			),
		}, {
			// Every component pod made again: the next scheduled backup still captures everything.
			PreConfig: func() {
				since = time.Now()
				deleteComponentPods(t, stack, app)
				app.waitRunning(app.namespace)
				afterDeletion = waitScheduledBackup(t, stack, name, time.Now())
			},
			RefreshState: true,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrPtr(address, "last_backup.name", &afterDeletion),
				resource.TestCheckResourceAttr(address, "last_backup.verified", "true"),
				resource.TestCheckResourceAttr(address, "out_of_sync.#", "0"),
				podsMadeAgainSince(stack, app, &since),
			),
		}, {
			// Negative control: a pod template without the annotation.
			PreConfig: func() {
				removeTemplateAnnotation(t, stack, app.namespace, backups.Workload{Kind: "StatefulSet", Name: "files"})
				app.waitRunning(app.namespace)
				missed = waitScheduledBackup(t, stack, name, time.Now())
			},
			RefreshState:       true,
			ExpectNonEmptyPlan: true,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrPtr(address, "last_backup.name", &missed),
				resource.TestCheckResourceAttr(address, "last_backup.verified", "false"),
				resource.TestMatchResourceAttr(address, "last_backup.problem", regexp.MustCompile(`no PodVolumeBackup for volume files-data of pod files-\d`)),
				resource.TestCheckResourceAttr(address, "out_of_sync.#", "1"),
				resource.TestMatchResourceAttr(address, "out_of_sync.0", regexp.MustCompile(`^StatefulSet files: its pod template does not select volume files-data`)),
			),
		}, {
			// The apply puts the annotation back and proves a new backup.
			Config: scheduleConfig(t, app.namespace, name, false, false),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				plancheck.ExpectUnknownValue(address, tfjsonpath.New("last_backup")),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(address, last("verified"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("out_of_sync"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeTestCheckFunc(
				func(s *terraform.State) error {
					if got := s.RootModule().Resources[address].Primary.Attributes["last_backup.name"]; got == missed {
						return fmt.Errorf("last_backup is still %s, the backup that missed the volumes", got)
					}
					return nil
				},
				templatesSelect(stack, app.namespace, map[string]string{"StatefulSet/files": "files-data"}),
			),
		}, {
			// The cron changed out of band, and the configuration pauses the schedule.
			PreConfig: func() {
				s, err := velero.Get[velerov1.Schedule](context.Background(), stack.Velero, name)
				if err != nil {
					t.Fatal(err)
				}
				s.Spec.Schedule = "0 4 * * *"
				if _, err := velero.Update(context.Background(), stack.Velero, s); err != nil {
					t.Fatal(err)
				}
			},
			Config: scheduleConfig(t, app.namespace, name, true, false),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
			}},
			Check: func(*terraform.State) error {
				s, err := velero.Get[velerov1.Schedule](context.Background(), stack.Velero, name)
				if err != nil {
					return err
				}
				if s.Spec.Schedule != "@every 1m" || !s.Spec.Paused {
					return fmt.Errorf("schedule %q, paused %v; want @every 1m, paused", s.Spec.Schedule, s.Spec.Paused)
				}
				return nil
			},
		}, {
			// A scheduled backup restores: its dumps, named by their runs, replay. (Paused, so that
			// no newer backup replaces the drilled one before the plan after the apply.)
			PreConfig: func() { waitScheduleIdle(t, stack, name) },
			Config:    scheduleConfig(t, app.namespace, name, true, true),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("styrmin_restore_drill.last", tfjsonpath.New("passed"), knownvalue.Bool(true)),
				statecheck.CompareValuePairs(address, last("name"), "styrmin_restore_drill.last", tfjsonpath.New("backup_name"), compare.ValuesSame()),
			},
		}, {
			ResourceName:                         address,
			ImportState:                          true,
			ImportStateId:                        name,
			ImportStateVerify:                    true,
			ImportStateVerifyIdentifierAttribute: "id",
			// ttl: Velero spells the configuration's "2h" "2h0m0s" (equal durations, different strings).
			ImportStateVerifyIgnore: []string{"components", "last_backup", "out_of_sync", "timeouts", "ttl"},
		}},
	})
}

// scheduleConfig is a schedule of namespace every minute; with drill, a restore drill of its last backup too.
func scheduleConfig(t *testing.T, namespace, name string, paused, drill bool) string {
	drillBlock := ""
	if drill {
		drillBlock = fmt.Sprintf(`
resource "styrmin_restore_drill" "last" {
  backup_name = styrmin_backup_schedule.app.last_backup.name
  components  = data.styrmin_driver_spec.app.components

  checks = {
    postgres = { command = ["sh", "-c", %[1]q], expected_output = "3" }
    mariadb  = { command = ["sh", "-c", %[2]q], expected_output = "3" }
    files    = { command = ["sh", "-c", "ls /data/uploads | grep -q scheduled-3"] }
  }
}
`, psql+` "select count(*) from items"`, mariadb+` "select count(*) from items"`)
	}
	return drillBlock + fmt.Sprintf(`
provider "styrmin" {
  config_path = %[1]q
}

data "styrmin_driver_spec" "app" {
  path = %[2]q
}

resource "styrmin_backup_schedule" "app" {
  name            = %[3]q
  namespace       = %[4]q
  backup_location = %[5]q
  components      = data.styrmin_driver_spec.app.components
  schedule        = "@every 1m"
  ttl             = "2h"
  paused          = %[6]t
}
`, sandboxtest.ProviderKubeconfig(), driverSpecPath(t), name, namespace, os.Getenv("SANDBOX_DEFAULT_BSL"), paused)
}

// scheduledBackups are the names of the schedule's backups.
func scheduledBackups(t *testing.T, stack *sandboxtest.Stack, schedule string) []string {
	t.Helper()
	list, err := velero.List[velerov1.Backup](context.Background(), stack.Velero, velerov1.ScheduleNameLabel+"="+schedule)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list {
		names = append(names, b.Name)
	}
	return names
}

// waitScheduledBackup waits for a backup that Velero's schedule (not the provider) created after
// since to finish, and returns its name.
func waitScheduledBackup(t *testing.T, stack *sandboxtest.Stack, schedule string, since time.Time) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	for {
		list, err := velero.List[velerov1.Backup](ctx, stack.Velero, velerov1.ScheduleNameLabel+"="+schedule)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range list {
			// The schedule's own runs are created at whole seconds after since.
			if b.CreationTimestamp.After(since.Truncate(time.Second)) && backups.BackupFinished(b.Status.Phase) {
				return b.Name
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no backup of schedule %s created after %s finished within 6 minutes", schedule, since.Format(time.RFC3339))
		case <-time.After(3 * time.Second):
		}
	}
}

// waitScheduleIdle waits until no backup of the schedule is running.
func waitScheduleIdle(t *testing.T, stack *sandboxtest.Stack, schedule string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := (backups.Runner{Kube: stack.Kube, Velero: stack.Velero}).WaitScheduleIdle(ctx, schedule); err != nil {
		t.Fatal(err)
	}
}

// deleteComponentPods deletes every component pod, as a node drain would.
func deleteComponentPods(t *testing.T, stack *sandboxtest.Stack, app *sampleApp) {
	t.Helper()
	for _, c := range sampleComponents {
		if err := stack.Kube.CoreV1().Pods(app.namespace).DeleteCollection(context.Background(), metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + c}); err != nil {
			t.Fatal(err)
		}
	}
}

// podsMadeAgainSince checks that every component pod was created after since: the backups after
// it captured pods that no apply annotated.
func podsMadeAgainSince(stack *sandboxtest.Stack, app *sampleApp, since *time.Time) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, c := range sampleComponents {
			pods, err := stack.Kube.CoreV1().Pods(app.namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + c})
			if err != nil {
				return err
			}
			for _, p := range pods.Items {
				if p.CreationTimestamp.Time.Before(since.Truncate(time.Second)) {
					return fmt.Errorf("pod %s was created at %s, before the pods were deleted", p.Name, p.CreationTimestamp)
				}
			}
		}
		return nil
	}
}

// templatesSelect checks that each workload ("Kind/name") selects the volume on its pod template.
func templatesSelect(stack *sandboxtest.Stack, namespace string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for workload, volume := range want {
			var annotations map[string]string
			switch kind, name, _ := strings.Cut(workload, "/"); kind {
			case "StatefulSet":
				o, err := stack.Kube.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				annotations = o.Spec.Template.Annotations
			default:
				o, err := stack.Kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				annotations = o.Spec.Template.Annotations
			}
			if !slices.Contains(splitList(annotations[strategy.BackupVolumesAnnotation]), volume) {
				return fmt.Errorf("the pod template of %s has %s=%q, want it to list %s", workload, strategy.BackupVolumesAnnotation,
					annotations[strategy.BackupVolumesAnnotation], volume)
			}
		}
		return nil
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range regexp.MustCompile(`\s*,\s*`).Split(s, -1) {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// removeTemplateAnnotation removes the backup-volumes annotation from the pod template of a
// StatefulSet or Deployment, and waits until it has made its pods again without it.
func removeTemplateAnnotation(t *testing.T, stack *sandboxtest.Stack, namespace string, w backups.Workload) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	patch := []byte(`[{"op": "remove", "path": "/spec/template/metadata/annotations/backup.velero.io~1backup-volumes"}]`)
	var err error
	if w.Kind == "StatefulSet" {
		_, err = stack.Kube.AppsV1().StatefulSets(namespace).Patch(ctx, w.Name, k8stypes.JSONPatchType, patch, metav1.PatchOptions{})
	} else {
		_, err = stack.Kube.AppsV1().Deployments(namespace).Patch(ctx, w.Name, k8stypes.JSONPatchType, patch, metav1.PatchOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := (backups.Runner{Kube: stack.Kube, Velero: stack.Velero}).WaitRolledOut(ctx, namespace, []backups.Workload{w}); err != nil {
		t.Fatal(err)
	}
}

// deleteScheduleAndBackups deletes what a test's schedule left: the Schedule, if destroy did not,
// and its backups with their data.
func deleteScheduleAndBackups(t *testing.T, stack *sandboxtest.Stack, schedule string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runner := backups.Runner{Kube: stack.Kube, Velero: stack.Velero}
	_ = runner.DeleteSchedule(ctx, schedule)
	for _, b := range scheduledBackups(t, stack, schedule) {
		if err := runner.DeleteBackup(ctx, b); err != nil {
			t.Logf("delete backup %s: %v", b, err)
		}
	}
}

// The plan asks for a backup when the last one is not proven, is missing, or finished more than
// twice the interval ago; never for a paused schedule.
func TestLastBackupProblem(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	last := func(verified bool, completed time.Time) types.Object {
		return types.ObjectValueMust(lastBackupAttrTypes, map[string]attr.Value{
			"name": types.StringValue("nightly-1"), "phase": types.StringValue("Completed"), "started_at": types.StringValue(""),
			"completed_at": types.StringValue(completed.Format(time.RFC3339)), "expires_at": types.StringValue(""),
			"verified": types.BoolValue(verified), "problem": types.StringValue("no PodVolumeBackup for volume data"),
		})
	}
	model := func(paused bool, lastBackup types.Object) backupScheduleModel {
		return backupScheduleModel{Schedule: types.StringValue("0 3 * * *"), Paused: types.BoolValue(paused), LastBackup: lastBackup}
	}
	for _, tc := range []struct {
		name  string
		state backupScheduleModel
		want  string
	}{
		{"verified, a day old", model(false, last(true, now.Add(-25*time.Hour))), ""},
		{"verified, three days old", model(false, last(true, now.Add(-72*time.Hour))), "finished at 2026-11-28T12:00:00Z, more than twice its interval (24h0m0s) ago"},
		{"not verified", model(false, last(false, now.Add(-time.Hour))), "its last backup nightly-1 is not verified: no PodVolumeBackup for volume data"},
		{"none", model(false, types.ObjectNull(lastBackupAttrTypes)), "the schedule has no finished backup"},
		{"paused, not verified", model(true, last(false, now.Add(-72*time.Hour))), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lastBackupProblem(ctx, tc.state, tc.state, now)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("lastBackupProblem = %q, want %q", got, tc.want)
			}
		})
	}
}
