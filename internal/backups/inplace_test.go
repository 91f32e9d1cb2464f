package backups

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// inPlaceNamespace is namespace app as a Helm chart leaves it: component files (app=web) runs
// as StatefulSet web with a claim template and as Deployment worker on claim uploads, plus a
// debug pod of its own; Deployment api and its claim cache, a ConfigMap and a Secret are not
// the component's.
func inPlaceNamespace() []runtime.Object {
	web := map[string]string{"app": "web"}
	template := func(labels map[string]string, claim string) corev1.PodTemplateSpec {
		t := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
		if claim != "" {
			t.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		}
		return t
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "app"} }
	claim := func(name string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: meta(name)}
	}
	owned := func(pod *corev1.Pod, kind, name string) *corev1.Pod {
		yes := true
		pod.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
		return pod
	}
	workerRS := &appsv1.ReplicaSet{ObjectMeta: meta("worker-5d8f")}
	yes := true
	workerRS.OwnerReferences = []metav1.OwnerReference{{Kind: "Deployment", Name: "worker", Controller: &yes}}
	apiPod := owned(otherPod("api-7c9-x2"), "ReplicaSet", "api-7c9")
	apiPod.Spec.Volumes = []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "cache"}}}}
	return []runtime.Object{
		&appsv1.StatefulSet{ObjectMeta: meta("web"), Spec: appsv1.StatefulSetSpec{Template: template(web, ""),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}},
		&appsv1.Deployment{ObjectMeta: meta("worker"), Spec: appsv1.DeploymentSpec{Template: template(web, "uploads")}},
		&appsv1.Deployment{ObjectMeta: meta("api"), Spec: appsv1.DeploymentSpec{Template: template(map[string]string{"app": "db"}, "cache")}},
		workerRS,
		owned(testPod("web-0"), "StatefulSet", "web"),
		owned(testPod("worker-5d8f-q1"), "ReplicaSet", "worker-5d8f"),
		testPod("web-debug"),
		apiPod,
		claim("data-web-0"), claim("data-web-1"), claim("data-web-old"), claim("uploads"), claim("cache"),
		&corev1.ConfigMap{ObjectMeta: meta("settings")},
		&corev1.Secret{ObjectMeta: meta("credentials")},
	}
}

func TestInPlaceRemovals(t *testing.T) {
	ctx := context.Background()
	components := []driverspec.Component{testDiskComponent(), {Name: "cache", Selector: map[string]string{"app": "db"}}} // cache: no backup

	t.Run("lists the components' workloads, their bare pods and the claims they use, nothing else", func(t *testing.T) {
		env := newTestEnv(t)
		for _, o := range inPlaceNamespace() {
			if err := env.kube.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		got, err := env.runner.InPlaceRemovals(ctx, "app", components)
		if err != nil {
			t.Fatal(err)
		}
		want := []Removal{{"StatefulSet", "web"}, {"Deployment", "worker"}, {"Pod", "web-debug"},
			{"PersistentVolumeClaim", "data-web-0"}, {"PersistentVolumeClaim", "data-web-1"}, {"PersistentVolumeClaim", "uploads"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("removals (-want +got):\n%s", diff)
		}
		for _, o := range got {
			if back, err := ParseRemoval(o.String()); err != nil || back != o {
				t.Errorf("ParseRemoval(%q) = %v, %v", o, back, err)
			}
		}
	})

	t.Run("refuses a component pod that something else owns", func(t *testing.T) {
		env := newTestEnv(t)
		yes := true
		pod := testPod("agent-x1")
		pod.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent", Controller: &yes}}
		if err := env.kube.Tracker().Add(pod); err != nil {
			t.Fatal(err)
		}
		_, err := env.runner.InPlaceRemovals(ctx, "app", components)
		kubetest.ErrorContains(t, err, `pod agent-x1 of component "files" in namespace "app" belongs to DaemonSet agent, which a restore in place does not remove`)
		assertArgument(t, err, ArgumentTargetNamespace)
	})

	t.Run("refuses a claim that a pod of no component uses too", func(t *testing.T) {
		env := newTestEnv(t)
		shared := otherPod("report")
		shared.Spec.Volumes = []corev1.Volume{{Name: "u", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "uploads"}}}}
		for _, o := range append(inPlaceNamespace(), shared) {
			if err := env.kube.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		_, err := env.runner.InPlaceRemovals(ctx, "app", components)
		kubetest.ErrorContains(t, err, `claim uploads of a component in namespace "app" is also used by pod report, which is not a component's`)
	})

	for _, bad := range []string{"web", "Secret/credentials", "StatefulSet/"} {
		if _, err := ParseRemoval(bad); err == nil {
			t.Errorf("ParseRemoval(%q) accepted", bad)
		}
	}
}

func TestRestoreInPlace(t *testing.T) {
	ctx := context.Background()
	request := func() RestoreRequest {
		return RestoreRequest{Name: "r1", Backup: "b1", TargetNamespace: "app", InPlace: true, BackupSyncWait: time.Second,
			Components: []driverspec.Component{testDiskComponent()}}
	}
	// The component scaled to 0 (no pod: the fake API server has no garbage collector to delete
	// them), its claims, and what is not the component's.
	scaledToZero := func(t *testing.T) *testEnv {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		for _, o := range inPlaceNamespace() {
			if pod, ok := o.(*corev1.Pod); ok && pod.Labels["app"] == "web" {
				continue
			}
			if err := env.kube.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		return env
	}
	want := []Removal{{"StatefulSet", "web"}, {"Deployment", "worker"},
		{"PersistentVolumeClaim", "data-web-0"}, {"PersistentVolumeClaim", "data-web-1"}, {"PersistentVolumeClaim", "uploads"}}

	t.Run("removes exactly what it planned, then restores without a namespace mapping", func(t *testing.T) {
		env := scaledToZero(t)
		plan, err := env.runner.PlanRestore(ctx, request())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, plan.Removals); diff != "" {
			t.Fatalf("removals (-want +got):\n%s", diff)
		}
		restore, err := env.runner.StartRestore(ctx, request(), plan)
		if err != nil {
			t.Fatal(err)
		}
		if restore.Spec.NamespaceMapping != nil {
			t.Errorf("namespace mapping %v for a restore in place", restore.Spec.NamespaceMapping)
		}
		for _, o := range want {
			var err error
			switch o.Kind {
			case "StatefulSet":
				_, err = env.kube.AppsV1().StatefulSets("app").Get(ctx, o.Name, metav1.GetOptions{})
			case "Deployment":
				_, err = env.kube.AppsV1().Deployments("app").Get(ctx, o.Name, metav1.GetOptions{})
			default:
				_, err = env.kube.CoreV1().PersistentVolumeClaims("app").Get(ctx, o.Name, metav1.GetOptions{})
			}
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s is still there (%v)", o, err)
			}
		}
		// Untouched: what is not the component's, and the component's claim no workload uses.
		if _, err := env.kube.AppsV1().Deployments("app").Get(ctx, "api", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		for _, name := range []string{"cache", "data-web-old"} {
			if _, err := env.kube.CoreV1().PersistentVolumeClaims("app").Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Error(err)
			}
		}
		if _, err := env.kube.CoreV1().ConfigMaps("app").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		if _, err := env.kube.CoreV1().Secrets("app").Get(ctx, "credentials", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
	})

	t.Run("refuses a namespace that holds more to remove than the plan listed, removing nothing", func(t *testing.T) {
		env := scaledToZero(t)
		req := request()
		req.PlannedRemovals = want[:2]
		_, err := env.runner.PlanRestore(ctx, req)
		kubetest.ErrorContains(t, err, `namespace "app" changed since the plan: the restore in place would now also remove `+
			`PersistentVolumeClaim/data-web-0, PersistentVolumeClaim/data-web-1, PersistentVolumeClaim/uploads, which the plan did not list`)
		if n := kubetest.CountActions(env.kube, "delete", "persistentvolumeclaims"); n != 0 {
			t.Errorf("%d claims deleted by a refused restore", n)
		}
	})

	t.Run("refuses a claim of a component's pod that no workload uses any more", func(t *testing.T) {
		env := scaledToZero(t)
		env.bucket.put(velero.BackupResourceListKey("b1"), `{"v1/Pod":["app/web-0","app/web-1"],"v1/PersistentVolumeClaim":["app/data-web-1","app/scratch-web-1","app/cache"]}`)
		if err := env.kube.Tracker().Add(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "scratch-web-1", Namespace: "app"}}); err != nil {
			t.Fatal(err)
		}
		_, err := env.runner.PlanRestore(ctx, request())
		kubetest.ErrorContains(t, err, `already has the PersistentVolumeClaim "scratch-web-1" that backup "b1" holds`)
	})

	t.Run("adopts an existing restore of the same request without removing anything", func(t *testing.T) {
		env := scaledToZero(t)
		plan, err := env.runner.PlanRestore(ctx, request())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.runner.StartRestore(ctx, request(), plan); err != nil {
			t.Fatal(err)
		}
		deletes := kubetest.CountActions(env.kube, "delete", "persistentvolumeclaims")
		if _, err := env.runner.StartRestore(ctx, request(), plan); err != nil {
			t.Fatal(err)
		}
		if n := kubetest.CountActions(env.kube, "delete", "persistentvolumeclaims"); n != deletes {
			t.Errorf("adopting the restore deleted %d claims", n-deletes)
		}
		if _, err := velero.Get[velerov1.Restore](ctx, env.runner.Velero, "r1"); err != nil {
			t.Error(err)
		}
	})
}
