package backups

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmware-tanzu/velero/pkg/apis/velero/shared"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

func TestPlanRestore(t *testing.T) {
	ctx := context.Background()
	fastSyncPolls(t)
	request := func() RestoreRequest {
		return RestoreRequest{Name: "r1", Backup: "b1", TargetNamespace: "app-clone", BackupSyncWait: time.Second,
			Components: []driverspec.Component{testDiskComponent()}}
	}

	t.Run("a Completed backup made by this provider plans a restore into a fresh namespace", func(t *testing.T) {
		env := newTestEnv(t, testPod("web-0"), testPod("web-1")) // the source keeps running
		env.create(t, recordedBackup())
		req := request()
		disabled := driverspec.Component{Name: "cache", Backup: driverspec.Backup{Enabled: false}}
		req.Components = append(req.Components, disabled)
		plan, err := env.runner.PlanRestore(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Backup.Name != "b1" || plan.SourceNamespace != "app" || len(plan.Plans) != 1 {
			t.Fatalf("plan = %+v", plan)
		}
		if p := plan.Plans[0]; p.Component != "files" || strings.Join(p.Pods, ",") != "web-0,web-1" || strings.Join(p.Volumes, ",") != "data" {
			t.Errorf("component plan = %+v; want every recorded pod", p)
		}
	})

	// A Schedule's backups carry no record: they are planned from the pods they captured.
	t.Run("a backup without a record plans from the pods its contents hold", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, withoutRecord(recordedBackup()))
		env.bucket.put(velero.BackupContentsKey("b1"), podsArchive(t, "app", testPod("web-0"), testPod("web-1"), otherPod("db-0")))
		plan, err := env.runner.PlanRestore(ctx, request())
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Plans) != 1 || strings.Join(plan.Plans[0].Pods, ",") != "web-0,web-1" || strings.Join(plan.Plans[0].Volumes, ",") != "data" {
			t.Errorf("plans = %+v; want the component's captured pods", plan.Plans)
		}
	})

	t.Run("refuses a backup whose files are gone from the bucket, naming them", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		env.bucket.remove(velero.BackupContentsKey("b1"))
		_, err := env.runner.PlanRestore(ctx, request())
		kubetest.ErrorContains(t, err, `backup "b1" cannot be restored: s3://velero-backups/cluster-a/backups/b1/b1.tar.gz is gone from the bucket`)
		if n := kubetest.CountActions(env.dyn, "create", "restores"); n != 0 {
			t.Errorf("%d restores created", n)
		}
	})

	t.Run("refuses a target that has a workload scaled to 0 or a claim the backup holds", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		env.bucket.put(velero.BackupResourceListKey("b1"), `{"v1/Pod":["app/web-0"],"apps/v1/StatefulSet":["app/web"],`+
			`"v1/PersistentVolumeClaim":["app/data-web-0","app/data-web-1"],"apps/v1/Deployment":["shop/web"]}`)
		zero := int32(0)
		objects := []runtime.Object{
			&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app-clone"}, Spec: appsv1.StatefulSetSpec{Replicas: &zero}},
			&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-web-1", Namespace: "app-clone"}},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app-clone"}}, // the backup's is of another namespace
		}
		for _, o := range objects {
			if err := env.kube.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		_, err := env.runner.PlanRestore(ctx, request())
		var refusal *RefusalError
		if !errors.As(err, &refusal) || len(refusal.Problems) != 2 {
			t.Fatalf("PlanRestore = %v, want a refusal with 2 problems", err)
		}
		kubetest.ErrorContains(t, err, `namespace "app-clone" already has the StatefulSet "web" that backup "b1" holds (a workload scaled to 0`,
			`namespace "app-clone" already has the PersistentVolumeClaim "data-web-1"`, "Velero keeps what exists instead of restoring it")
		assertArgument(t, refusal.Problems[0], ArgumentTargetNamespace)
	})

	t.Run("waits for backup sync to bring the backup in", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		reads := 0
		env.dyn.PrependReactor("get", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			if reads++; reads < 3 {
				return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "velero.io", Resource: "backups"}, "b1")
			}
			return false, nil, nil
		})
		plan, err := env.runner.PlanRestore(ctx, request())
		if err != nil || plan.Backup.Name != "b1" || reads != 3 {
			t.Errorf("PlanRestore = %+v, %v after %d reads; want the backup on the third read", plan, err, reads)
		}
	})

	tests := []struct {
		name    string
		backup  *velerov1.Backup // nil: no backup
		pods    []*corev1.Pod
		request func(*RestoreRequest)
		setUp   func(*testEnv)
		want    []string
		// argument is the request argument the error points at, if it points at one.
		argument Argument
	}{
		{
			name:     "no backup after waiting for backup sync",
			request:  func(r *RestoreRequest) { r.BackupSyncWait = 20 * time.Millisecond },
			want:     []string{`no backup "b1" in namespace velero after waiting 20ms for Velero's backup sync: check the name, and that a location reading the bucket that holds it exists (its backup_sync_period bounds how soon it appears)`},
			argument: ArgumentBackup,
		},
		{
			name: "a backup that cannot be read",
			setUp: func(env *testEnv) {
				env.dyn.PrependReactor("get", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "velero.io", Resource: "backups"}, "b1", errors.New("RBAC says no"))
				})
			},
			want:     []string{`read backup "b1": `, "RBAC says no"},
			argument: ArgumentBackup,
		},
		{
			name:     "a backup that is not Completed",
			backup:   withPhase(recordedBackup(), velerov1.BackupPhasePartiallyFailed),
			want:     []string{`backup "b1" is PartiallyFailed, not Completed: restore from a complete backup`},
			argument: ArgumentBackup,
		},
		{
			name:     "a backup of several namespaces without a source namespace",
			backup:   withNamespaces(recordedBackup(), "app", "shop"),
			want:     []string{`backup "b1" covers namespaces [app shop]: name the one to restore`},
			argument: ArgumentSourceNamespace,
		},
		{
			name:     "a source namespace the backup does not hold",
			backup:   recordedBackup(),
			request:  func(r *RestoreRequest) { r.SourceNamespace = "shop" },
			want:     []string{`backup "b1" holds namespaces [app], not "shop"`},
			argument: ArgumentSourceNamespace,
		},
		{
			// Planned from the pods its contents hold, which here are none of the component's.
			name:   "a backup without a record that captured none of the component's pods",
			backup: withoutRecord(recordedBackup()),
			want:   []string{`as backup b1 captured the pods: component "files": identifier.label: selector app=web matches no pod`},
		},
		{
			name:   "a backup whose record is unreadable",
			backup: withRecord(recordedBackup(), "{"),
			want:   []string{"backup b1: annotation styrmin.io/components:"},
		},
		{
			name:   "a component that is not in the backup",
			backup: recordedBackup(),
			request: func(r *RestoreRequest) {
				db := driverspec.Component{Name: "db", Selector: map[string]string{"app": "db"},
					Backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"data"}}}
				r.Components = append(r.Components, db)
			},
			want: []string{`component "db": not in backup "b1" (it holds files): remove it from components or use a backup that has it`},
		},
		{
			name:   "a component that no longer matches what the backup captured",
			backup: recordedBackup(),
			request: func(r *RestoreRequest) {
				r.Components[0].Backup.Volumes = []string{"uploads"}
			},
			want: []string{`component "files" does not match what backup "b1" captured:`, `the pod has no volume "uploads"`},
		},
		{
			name:    "a target namespace that already runs the component's pods",
			backup:  recordedBackup(),
			pods:    []*corev1.Pod{testPod("web-0"), testPod("web-1")},
			request: func(r *RestoreRequest) { r.TargetNamespace = "app" },
			want: []string{`namespace "app" already runs 2 pod(s) of component "files" (web-0). Velero restores volume data and runs restore hooks only in pods it creates, ` +
				`so restoring over them would keep their current data: restore into a fresh namespace (the clone path), remove the component's workload from "app" first, or restore in place (in_place = true)`},
			argument: ArgumentTargetNamespace,
		},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.pods...)
			if tt.backup != nil {
				env.create(t, tt.backup)
			}
			if tt.setUp != nil {
				tt.setUp(env)
			}
			req := request()
			if tt.request != nil {
				tt.request(&req)
			}
			plan, err := env.runner.PlanRestore(ctx, req)
			kubetest.ErrorContains(t, err, tt.want...)
			if plan != nil {
				t.Errorf("plan = %+v on refusal", plan)
			}
			if tt.argument != "" {
				var argErr *ArgumentError
				if !errors.As(err, &argErr) || argErr.Argument != tt.argument {
					t.Errorf("error %v does not point at argument %q", err, tt.argument)
				}
			}
			if n := kubetest.CountActions(env.dyn, "create", "restores"); n != 0 {
				t.Errorf("%d restores created by a refused preflight", n)
			}
		})
	}
}

// A pod no component restores is held back, unless the backup captured its volumes: Velero
// restores those only into a pod that starts, so holding it would keep the restore waiting for
// them until it times out (the deadlock a chart that selects such a pod's volumes caused).
func TestHeldPodsLeaveOutPodsWhoseVolumesWereCaptured(t *testing.T) {
	plan := &RestorePlan{Backup: recordedBackup(), SourceNamespace: "app", Plans: []*strategy.Plan{testDiskPlan()},
		Resources: map[string][]string{"v1/Pod": {"app/api-0", "app/cache-0", "app/web-0", "app/web-1", "other/x-0"}},
		Captured:  map[string][]string{"cache-0": {"tmp", "warm"}, "web-0": {"data"}}}
	held, warnings := heldPods(plan)
	if strings.Join(held, ",") != "api-0" {
		t.Errorf("held %v, want api-0 only", held)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "pod cache-0 is not held back while the databases replay: backup b1 captured its volume(s) tmp, warm") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestStartRestore(t *testing.T) {
	ctx := context.Background()
	restorePVs := true
	request := RestoreRequest{Name: "r1", Backup: "b1", TargetNamespace: "app-clone", ExistingResourcePolicy: "update",
		RestorePVs: &restorePVs, Labels: map[string]string{"env": "test"}}
	plan := &RestorePlan{Backup: recordedBackup(), SourceNamespace: "app", Plans: []*strategy.Plan{testDiskPlan()},
		Resources: map[string][]string{"v1/Pod": {"app/api-0", "app/web-0", "app/web-1"}, "apps/v1/Deployment": {"app/api"}}}
	plan.Held, _ = heldPods(plan)

	t.Run("creates the Restore, mapping the source namespace to the target", func(t *testing.T) {
		env := newTestEnv(t)
		if _, err := env.runner.StartRestore(ctx, request, plan); err != nil {
			t.Fatal(err)
		}
		got, err := velero.Get[velerov1.Restore](ctx, env.runner.Velero, "r1")
		if err != nil {
			t.Fatal(err)
		}
		want := velerov1.RestoreSpec{BackupName: "b1", IncludedNamespaces: []string{"app"}, RestorePVs: &restorePVs,
			NamespaceMapping: map[string]string{"app": "app-clone"}, ExistingResourcePolicy: "update",
			ResourceModifier: &corev1.TypedLocalObjectReference{Kind: "ConfigMap", Name: "styrmin-hold-r1"}}
		if diff := cmp.Diff(want, got.Spec); diff != "" {
			t.Errorf("Restore spec (-want +got):\n%s", diff)
		}
		if got.Labels[velero.ManagedByLabel] != velero.ManagedBy || got.Labels["env"] != "test" {
			t.Errorf("labels = %v", got.Labels)
		}
	})

	t.Run("holds back every pod of the backup that no component restores", func(t *testing.T) {
		env := newTestEnv(t)
		if _, err := env.runner.StartRestore(ctx, request, plan); err != nil {
			t.Fatal(err)
		}
		cm, err := env.kube.CoreV1().ConfigMaps("velero").Get(ctx, "styrmin-hold-r1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := `resourceModifierRules:
- conditions:
    groupResource: pods
    resourceNameRegex: ^(api-0)$
  mergePatches:
  - patchData: '{"spec":{"schedulingGates":[{"name":"styrmin.io/restore"}]}}'
version: v1
`
		if diff := cmp.Diff(want, cm.Data["modifiers.yaml"]); diff != "" {
			t.Errorf("resource modifiers (-want +got):\n%s", diff)
		}
	})

	t.Run("a backup that holds only the components' pods holds nothing back", func(t *testing.T) {
		env := newTestEnv(t)
		componentsOnly := *plan
		componentsOnly.Resources = map[string][]string{"v1/Pod": {"app/web-0", "app/web-1"}}
		componentsOnly.Held, _ = heldPods(&componentsOnly)
		created, err := env.runner.StartRestore(ctx, request, &componentsOnly)
		if err != nil || created.Spec.ResourceModifier != nil {
			t.Errorf("StartRestore = %+v, %v; want no resource modifier", created, err)
		}
	})

	t.Run("a restore into the source namespace maps nothing", func(t *testing.T) {
		env := newTestEnv(t)
		req := request
		req.TargetNamespace = "app"
		created, err := env.runner.StartRestore(ctx, req, plan)
		if err != nil || created.Spec.NamespaceMapping != nil {
			t.Errorf("StartRestore = %+v, %v", created, err)
		}
	})

	// What an interrupted earlier apply of this request left: the same Restore, in progress.
	madeByThisRequest := func() *velerov1.Restore {
		return &velerov1.Restore{
			ObjectMeta: metav1.ObjectMeta{Name: "r1", Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}},
			Spec: velerov1.RestoreSpec{BackupName: "b1", IncludedNamespaces: []string{"app"},
				NamespaceMapping: map[string]string{"app": "app-clone"},
				ResourceModifier: &corev1.TypedLocalObjectReference{Kind: "ConfigMap", Name: "styrmin-hold-r1"}},
			Status: velerov1.RestoreStatus{Phase: velerov1.RestorePhaseInProgress},
		}
	}
	t.Run("adopts the Restore an interrupted apply of the same request made", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, madeByThisRequest())
		got, err := env.runner.StartRestore(ctx, request, plan)
		if err != nil || got.Status.Phase != velerov1.RestorePhaseInProgress {
			t.Errorf("StartRestore = %+v, %v; want the existing restore", got, err)
		}
	})

	for name, change := range map[string]func(*velerov1.Restore){
		"made by someone else":       func(r *velerov1.Restore) { r.Labels = nil },
		"from another backup":        func(r *velerov1.Restore) { r.Spec.BackupName = "b0" },
		"into another namespace":     func(r *velerov1.Restore) { r.Spec.NamespaceMapping = map[string]string{"app": "app-copy"} },
		"of another namespace":       func(r *velerov1.Restore) { r.Spec.IncludedNamespaces = []string{"shop"} },
		"with other hooks":           func(r *velerov1.Restore) { r.Spec.Hooks.Resources = []velerov1.RestoreResourceHookSpec{{Name: "x"}} },
		"in place, not into a clone": func(r *velerov1.Restore) { r.Spec.NamespaceMapping = nil },
		"holding nothing back":       func(r *velerov1.Restore) { r.Spec.ResourceModifier = nil },
	} {
		t.Run("refuses a Restore of the same name "+name, func(t *testing.T) {
			env := newTestEnv(t)
			existing := madeByThisRequest()
			change(existing)
			env.create(t, existing)
			_, err := env.runner.StartRestore(ctx, request, plan)
			kubetest.ErrorContains(t, err, `a Velero restore named "r1" already exists and is not the restore this resource makes`, "choose another name")
			assertArgument(t, err, ArgumentName)
		})
	}
}

func TestVerifyRestore(t *testing.T) {
	ctx := context.Background()
	completed := func() *velerov1.Restore { return testRestore(velerov1.RestorePhaseCompleted) }

	tests := []struct {
		name    string
		restore *velerov1.Restore
		pvbs    []*velerov1.PodVolumeBackup
		pvrs    []*velerov1.PodVolumeRestore
		bucket  map[string]string
		want    []string
		// wantReport is checked on success.
		wantReport RestoreReport
	}{
		{
			name:    "Completed with a Completed PodVolumeRestore for every captured volume is verified",
			restore: completed(),
			pvbs: append(allCaptured(),
				// Neither another namespace's nor another pod's capture is the component's.
				withPodNamespace(testPVB("b1-other-ns", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1, 1), "shop"),
				testPVB("b1-db-0", "b1", "db-0", velerov1.PodVolumeBackupPhaseCompleted, 1, 1)),
			pvrs: []*velerov1.PodVolumeRestore{
				testPVR("r1-web-0", "r1", "web-0", velerov1.PodVolumeRestorePhaseCompleted, 1000, 1000),
				testPVR("r1-web-1", "r1", "web-1", velerov1.PodVolumeRestorePhaseCompleted, 0, 500),
			},
			wantReport: RestoreReport{Component: "files", Kind: "disk", Pods: []string{"web-0", "web-1"}, Volumes: []string{"data"}, Bytes: 1500},
		},
		{
			name:    "a captured volume without PodVolumeRestore was not restored",
			restore: completed(),
			pvbs:    allCaptured(),
			pvrs:    []*velerov1.PodVolumeRestore{testPVR("r1-web-0", "r1", "web-0", velerov1.PodVolumeRestorePhaseCompleted, 1000, 1000)},
			want:    []string{"restore r1 failed:", "component files: volume data of pod web-1 was not restored (no PodVolumeRestore)"},
		},
		{
			name:    "a PodVolumeRestore that failed is quoted with its message",
			restore: completed(),
			pvbs:    allCaptured(),
			pvrs: []*velerov1.PodVolumeRestore{
				testPVR("r1-web-0", "r1", "web-0", velerov1.PodVolumeRestorePhaseCompleted, 1000, 1000),
				withPVRMessage(testPVR("r1-web-1", "r1", "web-1", velerov1.PodVolumeRestorePhaseFailed, 0, 0), "error restoring volume: snapshot not found"),
			},
			want: []string{"component files: PodVolumeRestore of volume data of pod web-1 is Failed: error restoring volume: snapshot not found"},
		},
		{
			name:    "a backup without volume data of the component has nothing to restore",
			restore: completed(),
			pvbs:    []*velerov1.PodVolumeBackup{testPVB("b1-db-0", "b1", "db-0", velerov1.PodVolumeBackupPhaseCompleted, 1, 1)},
			want:    []string{"component files: backup b1 holds no volume data of it to restore"},
		},
		{
			name:    "errors fail a restore Velero calls Completed",
			restore: withRestoreCounts(completed(), 1, 0),
			pvbs:    allCaptured(),
			pvrs:    allRestored("r1"),
			want:    []string{"Velero finished the restore as Completed (1 errors, 0 warnings)"},
		},
		{
			name:    "a failed restore hook",
			restore: withRestoreHooks(completed(), 1),
			pvbs:    allCaptured(),
			pvrs:    allRestored("r1"),
			want:    []string{"1 restore hooks failed"},
		},
		{
			name:    "PartiallyFailed quotes Velero's reasons from the restore's results in the backup's bucket",
			restore: withRestoreCounts(testRestore(velerov1.RestorePhasePartiallyFailed), 1, 2),
			pvbs:    allCaptured(),
			pvrs:    allRestored("r1"),
			bucket: map[string]string{
				"restores/r1/restore-r1-results.gz": `{"errors":{"namespaces":{"app-clone":["hook styrmin-files: command terminated with exit code 1"]}}}`,
			},
			want: []string{
				"Velero finished the restore as PartiallyFailed (1 errors, 2 warnings)",
				"Velero's reasons (from its results and log in the bucket):\n  - namespace app-clone: hook styrmin-files: command terminated with exit code 1",
			},
		},
		{
			name:    "FailedValidation quotes the validation errors",
			restore: withRestoreValidationErrors(testRestore(velerov1.RestorePhaseFailedValidation), "backup not found"),
			want:    []string{"Velero finished the restore as FailedValidation (0 errors, 0 warnings): backup not found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, restoredPod("web-0"), restoredPod("web-1"))
			for _, p := range tt.pvbs {
				env.create(t, p)
			}
			for _, p := range tt.pvrs {
				env.create(t, p)
			}
			for key, content := range tt.bucket {
				env.bucket.put(key, content)
			}
			plan := &RestorePlan{Backup: recordedBackup(), SourceNamespace: "app", Plans: []*strategy.Plan{testDiskPlan()}}
			reports, err := env.runner.VerifyRestore(ctx, tt.restore, plan)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("VerifyRestore = %v", err)
				}
				if diff := cmp.Diff([]RestoreReport{tt.wantReport}, reports); diff != "" {
					t.Errorf("reports (-want +got):\n%s", diff)
				}
				return
			}
			var failed *FailedError
			if !errors.As(err, &failed) {
				t.Fatalf("VerifyRestore = %v, want a *FailedError", err)
			}
			kubetest.ErrorContains(t, err, tt.want...)
		})
	}
}

// A verified restore releases the pods it held back and deletes its resource modifiers; a failed
// one keeps them held.
func TestVerifyRestoreReleasesTheApplication(t *testing.T) {
	ctx := context.Background()
	gated := func(name string) *corev1.Pod {
		p := restoredPod(name)
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "other.io/gate"}, {Name: HoldGate}}
		return p
	}
	plan := &RestorePlan{Backup: recordedBackup(), SourceNamespace: "app", Plans: []*strategy.Plan{testDiskPlan()}}
	restored := func(env *testEnv) {
		for _, pod := range []string{"web-0", "web-1"} {
			env.create(t, testPVB("b1-"+pod, "b1", pod, velerov1.PodVolumeBackupPhaseCompleted, 10, 10))
			env.create(t, testPVR("r1-"+pod, "r1", pod, velerov1.PodVolumeRestorePhaseCompleted, 10, 10))
		}
	}
	hold := func(env *testEnv) {
		if _, err := env.kube.CoreV1().ConfigMaps("velero").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "styrmin-hold-r1", Namespace: "velero"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("verified: the held pods are released, other gates kept, the modifiers deleted", func(t *testing.T) {
		env := newTestEnv(t, gated("api-0"))
		restored(env)
		hold(env)
		rs := testRestore(velerov1.RestorePhaseCompleted)
		rs.Spec.NamespaceMapping = map[string]string{"app": "app-clone"}
		if _, err := env.runner.VerifyRestore(ctx, rs, plan); err != nil {
			t.Fatal(err)
		}
		pod, err := env.kube.CoreV1().Pods("app-clone").Get(ctx, "api-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]corev1.PodSchedulingGate{{Name: "other.io/gate"}}, pod.Spec.SchedulingGates); diff != "" {
			t.Errorf("gates after release (-want +got):\n%s", diff)
		}
		if _, err := env.kube.CoreV1().ConfigMaps("velero").Get(ctx, "styrmin-hold-r1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the resource modifiers are still there (%v)", err)
		}
	})

	t.Run("failed: the held pods stay held", func(t *testing.T) {
		env := newTestEnv(t, gated("api-0"))
		hold(env)
		rs := testRestore(velerov1.RestorePhaseFailed)
		rs.Spec.NamespaceMapping = map[string]string{"app": "app-clone"}
		if _, err := env.runner.VerifyRestore(ctx, rs, plan); err == nil {
			t.Fatal("VerifyRestore of a failed restore succeeded")
		}
		pod, err := env.kube.CoreV1().Pods("app-clone").Get(ctx, "api-0", metav1.GetOptions{})
		if err != nil || len(pod.Spec.SchedulingGates) != 2 {
			t.Errorf("gates after a failed restore = %v (%v), want both kept", pod.Spec.SchedulingGates, err)
		}
	})
}

// Velero's marker is removed from every volume the restore filled, through the pod's container
// that mounts the volume's root; where that cannot be done, the report says so.
func TestVerifyRestoreRemovesVelerosMarkers(t *testing.T) {
	ctx := context.Background()
	plan := &RestorePlan{Backup: recordedBackup(), SourceNamespace: "app", Plans: []*strategy.Plan{testDiskPlan()}}
	restored := func(env *testEnv) *velerov1.Restore {
		for _, pod := range []string{"web-0", "web-1"} {
			env.create(t, testPVB("b1-"+pod, "b1", pod, velerov1.PodVolumeBackupPhaseCompleted, 10, 10))
			env.create(t, testPVR("r1-"+pod, "r1", pod, velerov1.PodVolumeRestorePhaseCompleted, 10, 10))
		}
		return testRestore(velerov1.RestorePhaseCompleted)
	}

	t.Run("removed through the container that mounts the volume", func(t *testing.T) {
		sidecar := restoredPod("web-1")
		sidecar.Spec.Containers = append([]corev1.Container{{Name: "log", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/logs", SubPath: "logs"}}}}, sidecar.Spec.Containers...)
		env := newTestEnv(t, restoredPod("web-0"), sidecar)
		reports, err := env.runner.VerifyRestore(ctx, restored(env), plan)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"app-clone/web-0/web: rm -rf -- /data/.velero", "app-clone/web-1/web: rm -rf -- /data/.velero"}
		if diff := cmp.Diff(want, env.exec.ran); diff != "" {
			t.Errorf("commands (-want +got):\n%s", diff)
		}
		if len(reports[0].MarkersLeft) != 0 {
			t.Errorf("markers left: %v", reports[0].MarkersLeft)
		}
	})

	t.Run("a volume mounted only by subPath, or a failing rm, is reported", func(t *testing.T) {
		subPathOnly := restoredPod("web-0")
		subPathOnly.Spec.Containers[0].VolumeMounts[0].SubPath = "www"
		env := newTestEnv(t, subPathOnly, restoredPod("web-1"))
		env.exec.fail = errors.New(`exec: "rm": executable file not found in $PATH`)
		reports, err := env.runner.VerifyRestore(ctx, restored(env), plan)
		if err != nil {
			t.Fatal(err)
		}
		kubetest.ErrorContains(t, errors.New(strings.Join(reports[0].MarkersLeft, "\n")),
			"volume data of pod web-0: no container mounts the volume's root writable",
			`volume data of pod web-1: exec: "rm": executable file not found`)
	})
}

// restoredPod is a test pod as a restore into app-clone made it.
func restoredPod(name string) *corev1.Pod {
	p := testPod(name)
	p.Namespace = "app-clone"
	return p
}

// --- helpers ---

// fastSyncPolls makes PlanRestore look for a backup every millisecond instead of every two
// seconds while it waits for backup sync.
func fastSyncPolls(t *testing.T) {
	saved := backupSyncPollInterval
	backupSyncPollInterval = time.Millisecond
	t.Cleanup(func() { backupSyncPollInterval = saved })
}

// recordedBackup is a Completed backup of namespace app that this provider made of
// testDiskComponent, with pods web-0 and web-1.
func recordedBackup() *velerov1.Backup {
	b := testBackup(velerov1.BackupPhaseCompleted)
	b.Labels = map[string]string{velero.ManagedByLabel: velero.ManagedBy}
	record, err := json.Marshal(map[string]ComponentRecord{
		"files": {Kind: "disk", Selector: map[string]string{"app": "web"}, Pod: *testPod("web-0"), Pods: []string{"web-0", "web-1"}},
	})
	if err != nil {
		panic(err)
	}
	return withRecord(b, string(record))
}

func withRecord(b *velerov1.Backup, record string) *velerov1.Backup {
	b.Annotations = map[string]string{RecordAnnotation: record}
	return b
}

func withoutRecord(b *velerov1.Backup) *velerov1.Backup {
	b.Annotations = nil
	return b
}

func withPhase(b *velerov1.Backup, phase velerov1.BackupPhase) *velerov1.Backup {
	b.Status.Phase = phase
	return b
}

func withNamespaces(b *velerov1.Backup, namespaces ...string) *velerov1.Backup {
	b.Spec.IncludedNamespaces = namespaces
	return b
}

func withPodNamespace(p *velerov1.PodVolumeBackup, namespace string) *velerov1.PodVolumeBackup {
	p.Spec.Pod.Namespace = namespace
	return p
}

// testRestore is the Restore "r1" of backup b1 into app-clone.
func testRestore(phase velerov1.RestorePhase) *velerov1.Restore {
	return &velerov1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "velero"},
		Spec:       velerov1.RestoreSpec{BackupName: "b1", IncludedNamespaces: []string{"app"}, NamespaceMapping: map[string]string{"app": "app-clone"}},
		Status:     velerov1.RestoreStatus{Phase: phase},
	}
}

func withRestoreCounts(r *velerov1.Restore, errs, warnings int) *velerov1.Restore {
	r.Status.Errors, r.Status.Warnings = errs, warnings
	return r
}

func withRestoreHooks(r *velerov1.Restore, failed int) *velerov1.Restore {
	r.Status.HookStatus = &velerov1.HookStatus{HooksFailed: failed}
	return r
}

func withRestoreValidationErrors(r *velerov1.Restore, errs ...string) *velerov1.Restore {
	r.Status.ValidationErrors = errs
	return r
}

// testPVR restores a volume of a pod that the restore created in the target namespace.
func testPVR(name, restore, pod string, phase velerov1.PodVolumeRestorePhase, done, total int64) *velerov1.PodVolumeRestore {
	return &velerov1.PodVolumeRestore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "velero", Labels: map[string]string{velerov1.RestoreNameLabel: restore}},
		Spec:       velerov1.PodVolumeRestoreSpec{Pod: corev1.ObjectReference{Kind: "Pod", Namespace: "app-clone", Name: pod}, Volume: "data"},
		Status: velerov1.PodVolumeRestoreStatus{Phase: phase,
			Progress: shared.DataMoveOperationProgress{BytesDone: done, TotalBytes: total}},
	}
}

func withPVRMessage(p *velerov1.PodVolumeRestore, message string) *velerov1.PodVolumeRestore {
	p.Status.Message = message
	return p
}

// allRestored is a complete restore of allCaptured.
func allRestored(restore string) []*velerov1.PodVolumeRestore {
	return []*velerov1.PodVolumeRestore{
		testPVR(restore+"-web-0", restore, "web-0", velerov1.PodVolumeRestorePhaseCompleted, 1000, 1000),
		testPVR(restore+"-web-1", restore, "web-1", velerov1.PodVolumeRestorePhaseCompleted, 500, 500),
	}
}

// A failed PodVolumeRestore ends the wait at once, with its message, although Velero keeps the
// restore Finalizing (its hooks wait for pods the volume never reached).
func TestWaitRestoreEndsAtAFailedVolume(t *testing.T) {
	saved := volumeRestorePoll
	volumeRestorePoll = time.Millisecond
	t.Cleanup(func() { volumeRestorePoll = saved })
	env := newTestEnv(t)
	env.create(t, testRestore(velerov1.RestorePhaseFinalizingPartiallyFailed))
	env.create(t, testPVR("r1-web-0", "r1", "web-0", velerov1.PodVolumeRestorePhaseCompleted, 10, 10))
	env.create(t, withPVRMessage(testPVR("r1-web-1", "r1", "web-1", velerov1.PodVolumeRestorePhaseFailed, 0, 0),
		"Failed to run kopia restore: invalid checksum at p31eb: cipher: message authentication failed"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := env.runner.WaitRestore(ctx, "r1", nil)
	var failed *FailedError
	if !errors.As(err, &failed) || errors.Is(err, context.Canceled) {
		t.Fatalf("WaitRestore = %v, want a *FailedError that is no interrupt", err)
	}
	kubetest.ErrorContains(t, err, "restore r1 failed:", "PodVolumeRestore of volume data of pod web-1 failed: Failed to run kopia restore: invalid checksum")
	if strings.Contains(err.Error(), "pod web-0") {
		t.Errorf("the restored volume is named: %v", err)
	}
	if rs == nil || rs.Name != "r1" {
		t.Errorf("restore = %+v, want the last one seen", rs)
	}
}
