package backups

import (
	"context"
	"strings"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

func TestParseCron(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for expr, want := range map[string]time.Duration{
		"0 3 * * *": 24 * time.Hour, "@every 1m": time.Minute, "@every 6h": 6 * time.Hour, "@hourly": time.Hour, "*/15 * * * *": 15 * time.Minute,
	} {
		if got, err := ParseCron(expr, now); err != nil || got != want {
			t.Errorf("ParseCron(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "0 3 * *", "61 * * * *", "@sometimes"} {
		if _, err := ParseCron(bad, now); err == nil {
			t.Errorf("ParseCron(%q) accepted it", bad)
		}
	}
}

// ownedPod is testPod made by StatefulSet web.
func ownedPod(name string) *corev1.Pod {
	p := testPod(name)
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "web-uid", Controller: &yes}}
	return p
}

// rolledOutStatefulSet is StatefulSet web with two replicas, all of its current template, whose
// pod template selects selected for backup.
func rolledOutStatefulSet(selected string) *appsv1.StatefulSet {
	two := int32(2)
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app"},
		Spec:       appsv1.StatefulSetSpec{Replicas: &two},
		Status: appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2,
			CurrentRevision: "web-1", UpdateRevision: "web-1"},
	}
	if selected != "" {
		s.Spec.Template.Annotations = map[string]string{strategy.BackupVolumesAnnotation: selected}
	}
	return s
}

// The volumes are selected on the pod template of the StatefulSet that owns the pods, keeping
// what it listed; the Schedule carries the components' hooks, a dump that names the schedule's
// run, and no annotation (Velero would copy it onto every backup).
func TestApplyScheduleSelectsVolumesOnTheOwningWorkload(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, ownedPod("web-0"), ownedPod("web-1"))
	if _, err := env.kube.AppsV1().StatefulSets("app").Create(ctx, rolledOutStatefulSet("cache"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	req := ScheduleRequest{Name: "nightly", Namespace: "app", Location: "primary", Cron: "0 3 * * *", TTL: time.Hour,
		Components: []driverspec.Component{testDiskComponent()}, Labels: map[string]string{"env": "prod"}}
	plans, err := env.runner.PlanSchedule(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	rollouts, err := env.runner.Rollouts(ctx, "app", req.Components)
	if err != nil || len(rollouts) != 1 || rollouts[0] != "StatefulSet web (its pod template gains backup.velero.io/backup-volumes: cache,data)" {
		t.Errorf("Rollouts before the apply = %q, %v", rollouts, err)
	}
	s, warnings, err := env.runner.ApplySchedule(ctx, req, plans)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("ApplySchedule = %v, warnings %v", err, warnings)
	}
	sts, err := env.kube.AppsV1().StatefulSets("app").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sts.Spec.Template.Annotations[strategy.BackupVolumesAnnotation]; got != "cache,data" {
		t.Errorf("the pod template selects %q, want cache,data", got)
	}
	if s.Spec.Schedule != "0 3 * * *" || s.Spec.Template.TTL.Duration != time.Hour || s.Spec.Template.IncludedNamespaces[0] != "app" ||
		s.Spec.Template.Labels["env"] != "prod" || len(s.Annotations) > 0 {
		t.Errorf("schedule %+v", s)
	}
	if rollouts, err := env.runner.Rollouts(ctx, "app", req.Components); err != nil || len(rollouts) > 0 {
		t.Errorf("Rollouts after the apply = %q, %v", rollouts, err)
	}
	if drift, err := env.runner.UnselectedVolumes(ctx, "app", plans); err != nil || len(drift) > 0 {
		t.Errorf("UnselectedVolumes right after the apply = %v, %v", drift, err)
	}
	if d := TemplateDrift(s, req, plans); d != "" {
		t.Errorf("TemplateDrift right after the apply = %q", d)
	}

	// A Helm upgrade that sets the annotation to its own value.
	sts.Spec.Template.Annotations[strategy.BackupVolumesAnnotation] = "cache"
	if _, err := env.kube.AppsV1().StatefulSets("app").Update(ctx, sts, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	drift, err := env.runner.UnselectedVolumes(ctx, "app", plans)
	if err != nil || len(drift) != 1 || !strings.HasPrefix(drift[0], "StatefulSet web: its pod template does not select volume data") {
		t.Errorf("UnselectedVolumes after the upgrade = %q, %v", drift, err)
	}

	// Another schedule's hooks, changed out of band.
	s.Spec.Template.Hooks.Resources = append(s.Spec.Template.Hooks.Resources, velerov1.BackupResourceHookSpec{Name: "extra"})
	if d := TemplateDrift(s, req, plans); !strings.Contains(d, "its hooks are not the components'") {
		t.Errorf("TemplateDrift after a hook was added = %q", d)
	}

	// A schedule of that name that this provider did not make is refused.
	other := req
	other.Name = "by-hand"
	if _, err := velero.Create(ctx, env.runner.Velero, &velerov1.Schedule{ObjectMeta: metav1.ObjectMeta{Name: "by-hand"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = env.runner.ApplySchedule(ctx, other, plans)
	kubetest.ErrorContains(t, err, `a Velero schedule named "by-hand" already exists and was not made by this provider`)
}

// A pod that no workload owns is annotated as it is, and the apply warns that a pod made again
// by other means would be backed up without its volumes.
func TestApplyScheduleWarnsOfPodsNoWorkloadOwns(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, testPod("web-0"), testPod("web-1"))
	req := ScheduleRequest{Name: "nightly", Namespace: "app", Location: "primary", Cron: "@daily", TTL: time.Hour,
		Components: []driverspec.Component{testDiskComponent()}}
	plans, err := env.runner.PlanSchedule(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	_, warnings, err := env.runner.ApplySchedule(ctx, req, plans)
	if err != nil || len(warnings) != 2 || !strings.Contains(warnings[0], "pod web-0 has no StatefulSet, Deployment or DaemonSet that makes it again") {
		t.Fatalf("ApplySchedule = %v, warnings %q", err, warnings)
	}
	pod, err := env.kube.CoreV1().Pods("app").Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil || pod.Annotations[strategy.BackupVolumesAnnotation] != "data" {
		t.Errorf("pod web-1 annotations %v, %v", pod.Annotations, err)
	}
}

// A backup made now waits for the schedule's running backup (two dumps into one volume would
// fail one), and carries the schedule's name and template.
func TestRunScheduleWaitsForTheRunningBackup(t *testing.T) {
	ctx := context.Background()
	saved := rolloutPollInterval
	rolloutPollInterval = time.Millisecond
	t.Cleanup(func() { rolloutPollInterval = saved })
	env := newTestEnv(t)
	s := &velerov1.Schedule{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: velerov1.ScheduleSpec{
		Template: velerov1.BackupSpec{IncludedNamespaces: []string{"app"}, Metadata: velerov1.Metadata{Labels: map[string]string{"env": "prod"}}}}}
	running := testBackup(velerov1.BackupPhaseInProgress)
	running.Name, running.Labels = "nightly-20261201030000", map[string]string{velerov1.ScheduleNameLabel: "nightly"}
	env.create(t, running)
	go func() {
		time.Sleep(50 * time.Millisecond)
		running.Status.Phase = velerov1.BackupPhaseCompleted
		if _, err := velero.Update(context.Background(), env.runner.Velero, running); err != nil {
			t.Error(err)
		}
	}()
	now := time.Date(2026, 12, 1, 3, 5, 0, 0, time.UTC)
	b, err := env.runner.RunSchedule(ctx, s, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	done, err := velero.Get[velerov1.Backup](ctx, env.runner.Velero, running.Name)
	if err != nil || done.Status.Phase != velerov1.BackupPhaseCompleted {
		t.Errorf("the backup was made while %s was %v (%v)", running.Name, done.Status.Phase, err)
	}
	if b.Name != "nightly-20261201030500" || b.Labels[velerov1.ScheduleNameLabel] != "nightly" || b.Labels["env"] != "prod" || b.Spec.IncludedNamespaces[0] != "app" {
		t.Errorf("backup %s labels %v spec %+v", b.Name, b.Labels, b.Spec)
	}
}
