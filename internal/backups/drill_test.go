package backups

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

func drillRequest() DrillRequest {
	return DrillRequest{Restore: RestoreRequest{Name: "d1", Backup: "b1", TargetNamespace: "app-drill", BackupSyncWait: time.Second,
		Components: []driverspec.Component{testDiskComponent()}},
		Checks: []Check{{Component: "files", Command: []string{"ls", "/data"}}}}
}

func TestPlanDrill(t *testing.T) {
	ctx := context.Background()
	fastSyncPolls(t)

	t.Run("plans the restore into a scratch namespace that does not exist", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		plan, err := env.runner.PlanDrill(ctx, drillRequest())
		if err != nil || len(plan.Plans) != 1 {
			t.Fatalf("PlanDrill = %+v, %v", plan, err)
		}
	})
	t.Run("refuses a scratch namespace that exists: the drill would delete it", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		if _, err := env.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app-drill"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := env.runner.PlanDrill(ctx, drillRequest())
		kubetest.ErrorContains(t, err, "scratch namespace app-drill exists: a drill restores into a namespace of its own")
		assertArgument(t, err, ArgumentScratchNamespace)
	})
	t.Run("refuses a check of a component that is not restored", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, recordedBackup())
		req := drillRequest()
		req.Checks = append(req.Checks, Check{Component: "db", Command: []string{"true"}})
		_, err := env.runner.PlanDrill(ctx, req)
		kubetest.ErrorContains(t, err, `check of component "db": no enabled component of that name is restored`)
		assertArgument(t, err, ArgumentComponents)
	})
}

func TestRunCheck(t *testing.T) {
	ctx := context.Background()
	plan := &RestorePlan{Plans: []*strategy.Plan{testDiskPlan()}}
	restored := testPod("web-0")
	restored.Namespace = "app-drill"
	expect := func(s string) *string { return &s }
	for _, tt := range []struct {
		name    string
		stdout  string
		fail    error
		check   Check
		problem string
	}{
		{name: "exit status 0 passes", stdout: "a\nb\n", check: Check{Component: "files", Command: []string{"ls"}}},
		{name: "the expected output passes, white space around it aside", stdout: "25\n", check: Check{Component: "files", Expect: expect(" 25 ")}},
		{name: "other output fails, quoting both", stdout: "24\n", check: Check{Component: "files", Expect: expect("25")},
			problem: `it printed "24", expected "25"`},
		{name: "a failed command fails with its error", fail: errors.New("exit code 1: no such table"), check: Check{Component: "files"},
			problem: "the command failed: exit code 1: no such table"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, restored)
			env.exec.stdout, env.exec.fail = tt.stdout, tt.fail
			res := env.runner.runCheck(ctx, "app-drill", plan, tt.check)
			if res.Pod != "web-0" || res.Container != "web" || res.Problem != tt.problem {
				t.Errorf("runCheck = %+v, want pod web-0, container web, problem %q", res, tt.problem)
			}
			if len(env.exec.ran) != 1 || !strings.HasPrefix(env.exec.ran[0], "app-drill/web-0/web: ") {
				t.Errorf("ran %v", env.exec.ran)
			}
		})
	}
}

func TestDeleteScratchDeletesOnlyTheDrillsNamespace(t *testing.T) {
	ctx := context.Background()
	saved := scratchPollInterval
	scratchPollInterval = time.Millisecond
	t.Cleanup(func() { scratchPollInterval = saved })
	env := newTestEnv(t)
	for name, drill := range map[string]string{"mine": "d1", "other-drill": "d2", "unmarked": ""} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}}}
		if drill != "" {
			ns.Labels[DrillLabel] = drill
		}
		if _, err := env.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.runner.DeleteScratch(ctx, "mine", "d1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"other-drill", "unmarked"} {
		kubetest.ErrorContains(t, env.runner.DeleteScratch(ctx, name, "d1"), "was not made by drill d1", "left alone")
	}
	if err := env.runner.DeleteScratch(ctx, "gone", "d1"); err != nil {
		t.Errorf("a namespace already gone: %v", err)
	}
	list, _ := env.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Errorf("%d namespaces left, want the two that are not the drill's", len(list.Items))
	}
}
