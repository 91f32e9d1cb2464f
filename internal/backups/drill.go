package backups

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// A drill proves a backup restorable: it restores the backup into a scratch namespace of its
// own, exactly as styrmin_restore restores a clone (every dump replayed and verified), runs the
// user's checks in the restored components, and deletes the namespace.

// Check is a command run in the first restored pod of a component.
type Check struct {
	Component string
	Command   []string
	// Container runs the command; "" is the component's container, or the pod's first.
	Container string
	// Expect, when not nil, is what the command must print (compared without surrounding
	// white space); otherwise exit status 0 is enough.
	Expect *string
}

// CheckResult is what one check found.
type CheckResult struct {
	Component, Pod, Container string
	// Output is the command's stdout without surrounding white space, at most maxCheckOutput bytes.
	Output string
	// Problem says why the check failed; "" when it passed.
	Problem string
}

// DrillRequest is a restore into a scratch namespace (Restore.TargetNamespace), then checks.
type DrillRequest struct {
	Restore RestoreRequest
	Checks  []Check
	// KeepFailed leaves the scratch namespace for inspection when the drill fails.
	KeepFailed bool
}

// DrillResult is what a drill did; it is returned with an error too, as far as the drill got.
type DrillResult struct {
	Restore *velerov1.Restore
	Reports []RestoreReport
	Checks  []CheckResult
	// Duration is from the start of the restore to the end of the checks (not the clean-up).
	Duration time.Duration
	// Kept is set when the failed drill's scratch namespace was left on purpose.
	Kept bool
}

// maxCheckOutput bounds what a check's output keeps: a check prints a figure, not a table.
const maxCheckOutput = 4096

// Variables so tests need not wait.
var (
	checkPodWait        = 2 * time.Minute
	scratchDeleteWait   = 5 * time.Minute
	scratchPollInterval = 2 * time.Second
)

// DrillError is a drill that ran and failed: the restore, or a check.
type DrillError struct {
	Err error
	// Kept is the scratch namespace left for inspection, or "".
	Kept string
}

func (e *DrillError) Error() string {
	if e.Kept == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v\nThe scratch namespace %s is kept for inspection (keep_failed): it goes with the next drill's apply or with destroy.", e.Err, e.Kept)
}

func (e *DrillError) Unwrap() error { return e.Err }

// PlanDrill checks a drill before anything is created: the scratch namespace must not exist (a
// drill deletes it afterwards, so it must be the drill's own), and the restore must be possible.
func (r Runner) PlanDrill(ctx context.Context, req DrillRequest) (*RestorePlan, error) {
	scratch := req.Restore.TargetNamespace
	_, err := r.Kube.CoreV1().Namespaces().Get(ctx, scratch, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil, &RefusalError{Problems: []error{argumentError(ArgumentScratchNamespace,
			"scratch namespace %s exists: a drill restores into a namespace of its own and deletes it afterwards; choose another name", scratch)}}
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read namespace %s: %w", scratch, err)
	}
	plan, err := r.PlanRestore(ctx, req.Restore)
	if err != nil {
		return nil, err
	}
	var problems []error
	for _, c := range req.Checks {
		if !planned(plan, c.Component) {
			problems = append(problems, &ArgumentError{Argument: ArgumentComponents, Component: c.Component,
				Err: fmt.Errorf("check of component %q: no enabled component of that name is restored: check a component of components", c.Component)})
		}
	}
	if len(problems) > 0 {
		return nil, &RefusalError{Problems: problems}
	}
	return plan, nil
}

func planned(plan *RestorePlan, component string) bool {
	for _, p := range plan.Plans {
		if p.Component == component {
			return true
		}
	}
	return false
}

// RunDrill restores plan into the scratch namespace, verifies it, runs the checks and deletes the
// namespace (kept when the drill failed and req.KeepFailed). An interrupted drill cleans up too.
func (r Runner) RunDrill(ctx context.Context, req DrillRequest, plan *RestorePlan, progress func(Progress)) (*DrillResult, error) {
	result := &DrillResult{}
	start := time.Now()
	err := r.drill(ctx, req, plan, progress, result)
	result.Duration = time.Since(start)
	scratch := req.Restore.TargetNamespace
	if err != nil && req.KeepFailed && ctx.Err() == nil {
		result.Kept = true
		return result, &DrillError{Err: err, Kept: scratch}
	}
	// The clean-up outlives an interrupt, bounded.
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), scratchDeleteWait)
	defer cancel()
	// A volume restore Velero has not run yet would wait for its deleted pod until Velero's pod
	// volume timeout (hours), holding the Restore InProgress: the namespace goes once they all ended.
	settle, cancelSettle := context.WithTimeout(cleanup, scratchDeleteWait/2)
	if settleErr := r.waitVolumeRestoresEnded(settle, req.Restore.Name); settleErr != nil {
		err = errors.Join(err, settleErr)
	}
	cancelSettle()
	if cleanupErr := r.DeleteScratch(cleanup, scratch, req.Restore.Name); cleanupErr != nil {
		err = errors.Join(err, cleanupErr)
	}
	if err != nil {
		return result, &DrillError{Err: err}
	}
	return result, nil
}

// DrillLabel marks a scratch namespace with the name of the drill's restore: the drill deletes
// only a namespace that carries it.
const DrillLabel = "styrmin.io/drill"

func (r Runner) drill(ctx context.Context, req DrillRequest, plan *RestorePlan, progress func(Progress), result *DrillResult) error {
	// Made here, not by Velero (which would copy the source's labels), so that it is marked.
	scratch := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: req.Restore.TargetNamespace,
		Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy, DrillLabel: req.Restore.Name}}}
	if _, err := r.Kube.CoreV1().Namespaces().Create(ctx, scratch, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create scratch namespace %s: %w", scratch.Name, err)
	}
	rs, err := r.StartRestore(ctx, req.Restore, plan)
	if err != nil {
		return err
	}
	result.Restore = rs
	if rs, err = r.WaitRestore(ctx, rs.Name, progress); err != nil {
		return err
	}
	result.Restore = rs
	if result.Reports, err = r.VerifyRestore(ctx, rs, plan); err != nil {
		return err
	}
	var failed []string
	for _, c := range req.Checks {
		res := r.runCheck(ctx, req.Restore.TargetNamespace, plan, c)
		result.Checks = append(result.Checks, res)
		if res.Problem != "" {
			failed = append(failed, fmt.Sprintf("check of component %s in pod %s: %s", res.Component, res.Pod, res.Problem))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the restore of backup %s is verified, but %d of %d checks failed:\n  - %s",
			plan.Backup.Name, len(failed), len(req.Checks), strings.Join(failed, "\n  - "))
	}
	return nil
}

// runCheck runs c in the first restored pod of its component, once the pod runs.
func (r Runner) runCheck(ctx context.Context, namespace string, plan *RestorePlan, c Check) CheckResult {
	res := CheckResult{Component: c.Component, Container: c.Container}
	for _, p := range plan.Plans {
		if p.Component == c.Component && len(p.Pods) > 0 {
			res.Pod = p.Pods[0] // Velero restores pods under their names
			if res.Container == "" {
				res.Container = p.Container
			}
		}
	}
	pod, err := r.waitPodRunning(ctx, namespace, res.Pod)
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	if res.Container == "" {
		res.Container = pod.Spec.Containers[0].Name
	}
	stdout, err := r.Exec.Exec(ctx, namespace, res.Pod, res.Container, c.Command...)
	res.Output = strings.TrimSpace(stdout)
	if len(res.Output) > maxCheckOutput {
		res.Output = res.Output[:maxCheckOutput] + "..."
	}
	switch {
	case err != nil:
		res.Problem = fmt.Sprintf("the command failed: %v", err)
	case c.Expect != nil && res.Output != strings.TrimSpace(*c.Expect):
		res.Problem = fmt.Sprintf("it printed %q, expected %q", res.Output, strings.TrimSpace(*c.Expect))
	}
	return res
}

func (r Runner) waitPodRunning(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	var pod *corev1.Pod
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, checkPodWait, true, func(ctx context.Context) (bool, error) {
		pod, last = r.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		return last == nil && pod.Status.Phase == corev1.PodRunning, nil
	})
	switch {
	case err == nil:
		return pod, nil
	case last != nil:
		return nil, fmt.Errorf("pod %s/%s cannot be read: %w", namespace, name, last)
	}
	return nil, fmt.Errorf("pod %s/%s is %s, not Running, after %s", namespace, name, pod.Status.Phase, checkPodWait)
}

// waitVolumeRestoresEnded waits until no PodVolumeRestore of restore is still to run or running.
func (r Runner) waitVolumeRestoresEnded(ctx context.Context, restore string) error {
	var running []string
	err := wait.PollUntilContextCancel(ctx, scratchPollInterval, true, func(ctx context.Context) (bool, error) {
		pvrs, err := velero.List[velerov1.PodVolumeRestore](ctx, r.Velero, velerov1.RestoreNameLabel+"="+restore)
		if err != nil { // tried again until the bound: the namespace still goes after it
			running = []string{err.Error()}
			return false, nil //nolint:nilerr // a failed list is tried again, not the end of the wait
		}
		running = running[:0]
		for _, pvr := range pvrs {
			if pvr.Status.Phase != velerov1.PodVolumeRestorePhaseCompleted && pvr.Status.Phase != velerov1.PodVolumeRestorePhaseFailed {
				running = append(running, pvr.Name)
			}
		}
		return len(running) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("the scratch namespace is deleted while Velero still has volume restores to run (%s): %w", strings.Join(running, ", "), err)
	}
	return nil
}

// DeleteScratch deletes a drill's scratch namespace and waits until it is gone. It deletes only
// the namespace that the drill made for this restore (DrillLabel).
func (r Runner) DeleteScratch(ctx context.Context, namespace, restore string) error {
	ns, err := r.Kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read scratch namespace %s: %w", namespace, err)
	case ns.Labels[DrillLabel] != restore:
		return fmt.Errorf("namespace %s was not made by drill %s (label %s is %q): left alone", namespace, restore,
			DrillLabel, ns.Labels[DrillLabel])
	}
	if ns.DeletionTimestamp == nil {
		err := r.Kube.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete scratch namespace %s: %w", namespace, err)
		}
	}
	err = wait.PollUntilContextCancel(ctx, scratchPollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := r.Kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("scratch namespace %s is still being deleted: %w", namespace, err)
	}
	return nil
}
