package backups

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// RestoreRequest is one restore of a backup into a namespace.
type RestoreRequest struct {
	Name   string
	Backup string
	// SourceNamespace is the backed-up namespace; empty means the backup's only namespace.
	SourceNamespace string
	// TargetNamespace receives the restore; it may equal the source.
	TargetNamespace        string
	Components             []driverspec.Component
	ExistingResourcePolicy string
	RestorePVs             *bool
	Labels                 map[string]string
	// BackupSyncWait bounds the wait for a backup that Velero has not synced from the bucket yet
	// (a ReadOnly location of another environment).
	BackupSyncWait time.Duration
	// InPlace replaces the components of a target namespace that runs them (inplace.go).
	InPlace bool
	// PlannedRemovals, when not nil, are what the plan said an in-place restore removes: the
	// restore removes exactly these, and refuses a namespace that now holds more to remove.
	PlannedRemovals []Removal
}

// RestorePlan is a checked restore: the backup, its source namespace and the per-component
// plans whose restore hooks run in the target namespace.
type RestorePlan struct {
	Backup          *velerov1.Backup
	SourceNamespace string
	Plans           []*strategy.Plan
	// Recorded are, per database component, the markers of the dumps the backup's log recorded,
	// by pod: a restore hook replays a dump only if it is exactly that one.
	Recorded map[string]map[string]string
	// Resources is what the backup holds, by API version and kind ("namespace/name" items).
	Resources map[string][]string
	// InPlace: Removals are what the restore deletes from the target namespace before it restores.
	InPlace  bool
	Removals []Removal
	// Captured are the source pods whose volumes the backup captured, with those volumes (from its
	// PodVolumeBackups): Velero restores them only into pods that start, so none is held back.
	Captured map[string][]string
	// Held are the pods held back until the restore is verified (heldPods).
	Held []string
	// Warnings are what the caller should tell the user: pods not held back, and why.
	Warnings []string
}

// PlanRestore is the preflight of a restore: the backup exists (waiting, bounded, for backup
// sync) and Completed, it holds every enabled component, and the target namespace does not
// already run the components' pods. Velero restores volume data and runs restore hooks only
// in pods it creates itself, so a restore over running pods would leave their old data in
// place and still report success. A restore in place lists what it removes instead.
func (r Runner) PlanRestore(ctx context.Context, req RestoreRequest) (*RestorePlan, error) {
	if err := r.checkServer(ctx); err != nil {
		return nil, &RefusalError{Problems: []error{err}}
	}
	backup, err := r.waitForBackup(ctx, req.Backup, req.BackupSyncWait)
	if err != nil {
		return nil, err
	}
	if backup.Status.Phase != velerov1.BackupPhaseCompleted {
		return nil, argumentError(ArgumentBackup, "backup %q is %s, not Completed: restore from a complete backup", backup.Name, PhaseOrNew(string(backup.Status.Phase)))
	}
	if err := r.checkFiles(ctx, backup); err != nil {
		return nil, err
	}
	source := req.SourceNamespace
	if source == "" {
		if len(backup.Spec.IncludedNamespaces) != 1 {
			return nil, argumentError(ArgumentSourceNamespace, "backup %q covers namespaces %v: name the one to restore", backup.Name, backup.Spec.IncludedNamespaces)
		}
		source = backup.Spec.IncludedNamespaces[0]
	} else if !slices.Contains(backup.Spec.IncludedNamespaces, source) {
		return nil, argumentError(ArgumentSourceNamespace, "backup %q holds namespaces %v, not %q", backup.Name, backup.Spec.IncludedNamespaces, source)
	}
	plans, err := r.BackupPlans(ctx, backup, req.Components)
	if err != nil {
		return nil, err
	}
	var problems []error
	for _, p := range plans {
		if err := p.CheckRestore(); err != nil {
			problems = append(problems, &ArgumentError{Argument: ArgumentBackup, Err: err})
		}
	}
	plan := &RestorePlan{Backup: backup, SourceNamespace: source, Plans: plans, InPlace: req.InPlace}
	if plan.Resources, err = r.resourceList(ctx, backup); err != nil {
		return nil, argumentError(ArgumentBackup, "read what backup %q holds: %v", backup.Name, err)
	}
	if plan.Captured, err = r.capturedVolumes(ctx, backup.Name, source); err != nil {
		return nil, err
	}
	plan.Held, plan.Warnings = heldPods(plan)
	if req.InPlace {
		plan.Removals, err = r.checkInPlace(ctx, req)
		if err != nil {
			return nil, err
		}
	} else {
		problems = append(problems, r.runningInTarget(ctx, plans, req.TargetNamespace)...)
	}
	problems = append(problems, r.leftInTarget(ctx, plan, req.TargetNamespace)...)
	if plan.Recorded, err = r.recordedDumps(ctx, backup, plans); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, &RefusalError{Problems: problems}
	}
	return plan, nil
}

// runningInTarget refuses a target namespace that runs pods of the components.
func (r Runner) runningInTarget(ctx context.Context, plans []*strategy.Plan, target string) []error {
	var problems []error
	for _, p := range plans {
		running, err := r.Kube.CoreV1().Pods(target).List(ctx, metav1.ListOptions{LabelSelector: labels.Set(p.Selector).String()})
		if err != nil {
			return append(problems, fmt.Errorf("list pods in namespace %s: %w", target, err))
		}
		if n := len(running.Items); n > 0 {
			problems = append(problems, argumentError(ArgumentTargetNamespace, "namespace %q already runs %d pod(s) of component %q (%s). Velero restores volume data and runs "+
				"restore hooks only in pods it creates, so restoring over them would keep their current data: restore into a fresh namespace "+
				"(the clone path), remove the component's workload from %q first, or restore in place (in_place = true)", target, n, p.Component, running.Items[0].Name, target))
		}
	}
	return problems
}

// checkInPlace lists what the restore in place removes; when the plan listed it, exactly that,
// and only if the namespace holds nothing more to remove now.
func (r Runner) checkInPlace(ctx context.Context, req RestoreRequest) ([]Removal, error) {
	now, err := r.InPlaceRemovals(ctx, req.TargetNamespace, req.Components)
	if err != nil || req.PlannedRemovals == nil {
		return now, err
	}
	var added []string
	for _, o := range now {
		if !slices.Contains(req.PlannedRemovals, o) {
			added = append(added, o.String())
		}
	}
	if len(added) > 0 {
		return nil, argumentError(ArgumentTargetNamespace, "namespace %q changed since the plan: the restore in place would now also remove %s, which the plan did not list. "+
			"Nothing was removed: plan and apply again", req.TargetNamespace, strings.Join(added, ", "))
	}
	return req.PlannedRemovals, nil
}

// resourceList reads what the backup holds from the bucket.
func (r Runner) resourceList(ctx context.Context, backup *velerov1.Backup) (map[string][]string, error) {
	store, err := r.Locations.OpenStore(ctx, backup.Spec.StorageLocation)
	if err != nil {
		return nil, err
	}
	return store.ResourceList(ctx, backup.Name)
}

// restoreBlockers are the kinds of the backup's objects that must not already exist in the target
// namespace: Velero keeps an object that exists instead of restoring it, so a workload there (even
// scaled to 0) would run as it is now, and a claim left there would keep its current data.
var restoreBlockers = []struct{ kind, noun string }{
	{"apps/v1/StatefulSet", "StatefulSet"},
	{"apps/v1/Deployment", "Deployment"},
	{"v1/PersistentVolumeClaim", "PersistentVolumeClaim"},
}

// leftInTarget refuses a target namespace that already holds a workload or a claim of the same
// name as one the backup holds of the source namespace. A restore in place removes the
// components' workloads and claims and leaves the rest as it is on purpose; it refuses only a
// claim of a component's pod that no workload uses any more (named <template>-<pod> by its
// StatefulSet), which the restored pod would bind with its current data.
func (r Runner) leftInTarget(ctx context.Context, plan *RestorePlan, target string) []error {
	componentClaim := func(name string) bool {
		for _, p := range plan.Plans {
			for _, pod := range p.Pods {
				if strings.HasSuffix(name, "-"+pod) {
					return true
				}
			}
		}
		return false
	}
	var problems []error
	for _, blocker := range restoreBlockers {
		for _, item := range plan.Resources[blocker.kind] {
			ns, name, ok := strings.Cut(item, "/")
			if !ok || ns != plan.SourceNamespace {
				continue
			}
			if plan.InPlace && (blocker.noun != "PersistentVolumeClaim" || !componentClaim(name) ||
				slices.Contains(plan.Removals, Removal{blocker.noun, name})) {
				continue
			}
			var err error
			switch blocker.kind {
			case "apps/v1/StatefulSet":
				_, err = r.Kube.AppsV1().StatefulSets(target).Get(ctx, name, metav1.GetOptions{})
			case "apps/v1/Deployment":
				_, err = r.Kube.AppsV1().Deployments(target).Get(ctx, name, metav1.GetOptions{})
			default:
				_, err = r.Kube.CoreV1().PersistentVolumeClaims(target).Get(ctx, name, metav1.GetOptions{})
			}
			switch {
			case err == nil:
				problems = append(problems, argumentError(ArgumentTargetNamespace, "namespace %q already has the %s %q that backup %q holds (a workload scaled to 0, "+
					"or a claim left behind): Velero keeps what exists instead of restoring it, so the old workload or the old volume's data would stay. "+
					"Restore into a fresh namespace, or delete it from %q first", target, blocker.noun, name, plan.Backup.Name, target))
			case !apierrors.IsNotFound(err):
				problems = append(problems, argumentError(ArgumentTargetNamespace, "look for %s %s/%s: %v", blocker.noun, target, name, err))
			}
		}
	}
	return problems
}

// recordedDumps reads, from the backup's log, the marker of the dump each pod of each database
// component made for this backup. A backup whose log does not hold them all was not proven (or was
// made by an older version of this provider): restoring it could replay a stale dump.
func (r Runner) recordedDumps(ctx context.Context, backup *velerov1.Backup, plans []*strategy.Plan) (map[string]map[string]string, error) {
	recorded := map[string]map[string]string{}
	var logged map[string]map[string][]strategy.DumpReport
	for _, p := range plans {
		if !p.Kind.IsDatabase() {
			continue
		}
		if logged == nil {
			var err error
			if logged, err = r.dumpReports(ctx, backup); err != nil {
				return nil, argumentError(ArgumentBackup, "the log of backup %q cannot be read, so the dumps it holds cannot be checked before they are replayed: %v", backup.Name, err)
			}
		}
		recorded[p.Component] = map[string]string{}
		for _, pod := range p.Pods {
			marker, err := p.RecordedMarker(logged[p.Component][pod])
			if err != nil {
				return nil, &ArgumentError{Argument: ArgumentBackup, Err: fmt.Errorf("backup %q recorded no complete dump of component %q in pod %s in its log (%v): "+
					"it was not verified, or was made by an older version of this provider; restore a backup that styrmin_backup verified", backup.Name, p.Component, pod, err)}
			}
			recorded[p.Component][pod] = marker
		}
	}
	return recorded, nil
}

// ResumeRestore is the plan of a restore made by an earlier apply, whose wait was interrupted:
// what verifying it needs, rebuilt from the backup's record or contents. Nothing is checked against the
// target namespace, which now holds what the restore brought.
func (r Runner) ResumeRestore(ctx context.Context, req RestoreRequest) (*RestorePlan, error) {
	backup, err := velero.Get[velerov1.Backup](ctx, r.Velero, req.Backup)
	if err != nil {
		return nil, fmt.Errorf("read the backup of the restore: %w", err)
	}
	plans, err := r.BackupPlans(ctx, backup, req.Components)
	if err != nil {
		return nil, err
	}
	source := req.SourceNamespace
	if source == "" && len(backup.Spec.IncludedNamespaces) == 1 {
		source = backup.Spec.IncludedNamespaces[0]
	}
	return &RestorePlan{Backup: backup, SourceNamespace: source, Plans: plans}, nil
}

// backupSyncPollInterval is how often waitForBackup looks for a backup that backup sync has not
// brought in yet; a variable so tests need not wait.
var backupSyncPollInterval = 2 * time.Second

// waitForBackup reads the Backup, waiting up to syncWait for backup sync to bring it in.
func (r Runner) waitForBackup(ctx context.Context, name string, syncWait time.Duration) (*velerov1.Backup, error) {
	var backup *velerov1.Backup
	var lastErr error
	look := func(ctx context.Context) (bool, error) {
		b, err := velero.Get[velerov1.Backup](ctx, r.Velero, name)
		if apierrors.IsNotFound(err) {
			lastErr = err
			return false, nil
		}
		if err != nil {
			return false, err
		}
		backup = b
		return true, nil
	}
	var err error
	if syncWait > 0 {
		err = wait.PollUntilContextTimeout(ctx, backupSyncPollInterval, syncWait, true, look)
	} else {
		// No wait: look once. A poll with timeout 0 would hand even its first read an expired context.
		_, err = look(ctx)
	}
	if backup != nil {
		return backup, nil
	}
	if apierrors.IsNotFound(lastErr) {
		return nil, argumentError(ArgumentBackup, "no backup %q in namespace %s after waiting %s for Velero's backup sync: check the name, and that a "+
			"location reading the bucket that holds it exists (its backup_sync_period bounds how soon it appears)", name, r.Velero.Namespace, syncWait)
	}
	return nil, argumentError(ArgumentBackup, "read backup %q: %w", name, err)
}

// StartRestore creates the Restore; an existing one of the same name that is exactly the one
// this request makes (made by this provider, same backup, namespaces and hooks: an interrupted
// earlier apply) is adopted, any other refused.
func (r Runner) StartRestore(ctx context.Context, req RestoreRequest, plan *RestorePlan) (*velerov1.Restore, error) {
	restore := &velerov1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}},
		Spec: velerov1.RestoreSpec{
			BackupName:         req.Backup,
			IncludedNamespaces: []string{plan.SourceNamespace},
			RestorePVs:         req.RestorePVs,
		},
	}
	for k, v := range req.Labels {
		restore.Labels[k] = v
	}
	if req.TargetNamespace != plan.SourceNamespace {
		restore.Spec.NamespaceMapping = map[string]string{plan.SourceNamespace: req.TargetNamespace}
	}
	if req.ExistingResourcePolicy != "" {
		restore.Spec.ExistingResourcePolicy = velerov1.PolicyType(req.ExistingResourcePolicy)
	}
	for _, p := range plan.Plans {
		if hooks := p.RestoreHooks(req.TargetNamespace, req.Backup, plan.Recorded[p.Component]); hooks != nil {
			restore.Spec.Hooks.Resources = append(restore.Spec.Hooks.Resources, *hooks)
		}
	}
	hold, err := r.holdApplication(ctx, req.Name, plan)
	if err != nil {
		return nil, err
	}
	restore.Spec.ResourceModifier = hold
	existing, err := existingObject(ctx, r.Velero, "restore", req.Name, "another backup, namespace or components",
		func(rs *velerov1.Restore) bool { return sameRestore(rs.Spec, restore.Spec) })
	if existing != nil || err != nil {
		return existing, err // an existing restore has removed what it replaces already
	}
	if plan.InPlace {
		if err := r.removeInPlace(ctx, req.TargetNamespace, plan.Removals, req.Components); err != nil {
			return nil, err
		}
	}
	return velero.Create(ctx, r.Velero, restore)
}

// sameRestore reports whether an existing Restore's spec is the one a request makes.
func sameRestore(existing, wanted velerov1.RestoreSpec) bool {
	return existing.BackupName == wanted.BackupName &&
		slices.Equal(existing.IncludedNamespaces, wanted.IncludedNamespaces) &&
		maps.Equal(existing.NamespaceMapping, wanted.NamespaceMapping) &&
		restoreSpecHold(existing) == restoreSpecHold(wanted) &&
		equality.Semantic.DeepEqual(existing.Hooks, wanted.Hooks)
}

// WaitRestore watches the Restore until it reaches a terminal phase; progress, when not nil,
// hears where it stands at every change Velero reports.
func (r Runner) WaitRestore(ctx context.Context, name string, progress func(Progress)) (*velerov1.Restore, error) {
	// A PodVolumeRestore that failed (a damaged repository, say) dooms the restore, but Velero
	// finishes it only once its restore hooks gave up waiting for the pods that volume never
	// reached: up to the hooks' wait timeout, minutes later. The wait ends at the first failure.
	waitCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.watchVolumeRestores(waitCtx, name, cancel)
	rs, err := r.waitRestore(waitCtx, name, progress)
	var failed *FailedError
	if cause := context.Cause(waitCtx); errors.As(cause, &failed) {
		return rs, failed
	}
	return rs, err
}

// volumeRestorePoll is how often WaitRestore looks for failed PodVolumeRestores; a variable for tests.
var volumeRestorePoll = 3 * time.Second

// watchVolumeRestores cancels the wait with a *FailedError once a PodVolumeRestore of restore name
// failed. Errors of its lists are ignored: the wait itself goes on and decides.
func (r Runner) watchVolumeRestores(ctx context.Context, name string, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(volumeRestorePoll):
		}
		pvrs, err := velero.List[velerov1.PodVolumeRestore](ctx, r.Velero, velerov1.RestoreNameLabel+"="+name)
		if err != nil {
			continue
		}
		var problems []string
		for _, pvr := range pvrs {
			if pvr.Status.Phase == velerov1.PodVolumeRestorePhaseFailed {
				problems = append(problems, fmt.Sprintf("PodVolumeRestore of volume %s of pod %s failed: %s", pvr.Spec.Volume, pvr.Spec.Pod.Name, pvr.Status.Message))
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			cancel(&FailedError{Kind: "restore", Name: name, Problems: append(problems,
				"the restore cannot succeed, so the wait ends here (Velero ends the restore itself only once its hooks stop waiting for the pods of these volumes)")})
			return
		}
	}
}

func (r Runner) waitRestore(ctx context.Context, name string, progress func(Progress)) (*velerov1.Restore, error) {
	return velero.WaitFor(ctx, r.Velero, name, func(rs *velerov1.Restore) (bool, error) {
		if progress != nil {
			p := Progress{Phase: PhaseOrNew(string(rs.Status.Phase))}
			if rs.Status.Progress != nil {
				p.Items, p.TotalItems = rs.Status.Progress.ItemsRestored, rs.Status.Progress.TotalItems
			}
			progress(p)
		}
		return RestoreFinished(rs.Status.Phase), nil
	})
}

// RestoreFinished reports a terminal phase.
func RestoreFinished(phase velerov1.RestorePhase) bool {
	switch phase {
	case velerov1.RestorePhaseCompleted, velerov1.RestorePhasePartiallyFailed, velerov1.RestorePhaseFailed,
		velerov1.RestorePhaseFailedValidation:
		return true
	}
	return false
}

// RestoreReport is what a restore brought back of one component.
type RestoreReport struct {
	Component string
	Kind      string
	Pods      []string
	Volumes   []string
	Bytes     int64
	// MarkersLeft are the volumes where Velero's restore marker (.velero) could not be removed,
	// with the reason.
	MarkersLeft []string
}

// VerifyRestore proves the restore: phase Completed without errors, no failed restore hook
// (a failed replay fails its hook), and one Completed PodVolumeRestore for every volume of the
// components that the backup captured. Otherwise the error carries Velero's reasons.
func (r Runner) VerifyRestore(ctx context.Context, rs *velerov1.Restore, plan *RestorePlan) ([]RestoreReport, error) {
	var problems []string
	if err := r.dropHold(ctx, rs.Name); err != nil { // Velero read it when the restore started
		problems = append(problems, err.Error())
	}
	if rs.Status.Phase != velerov1.RestorePhaseCompleted || rs.Status.Errors > 0 {
		problems = append(problems, fmt.Sprintf("Velero finished the restore as %s (%d errors, %d warnings)%s%s",
			PhaseOrNew(string(rs.Status.Phase)), rs.Status.Errors, rs.Status.Warnings, validationErrors(rs.Status.ValidationErrors), failureReason(rs.Status.FailureReason)))
	}
	// hooksAttempted is not reliable in Velero 1.18 (a second finalizer pass can reset it to 0);
	// a failed hook with onError Fail shows as an error of the restore, checked above.
	if hs := rs.Status.HookStatus; hs != nil && hs.HooksFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d restore hooks failed", hs.HooksFailed))
	}
	pvbs, err := velero.List[velerov1.PodVolumeBackup](ctx, r.Velero, velerov1.BackupNameLabel+"="+plan.Backup.Name)
	if err != nil {
		return nil, fmt.Errorf("list the backup's PodVolumeBackups: %w", err)
	}
	pvrs, err := velero.List[velerov1.PodVolumeRestore](ctx, r.Velero, velerov1.RestoreNameLabel+"="+rs.Name)
	if err != nil {
		return nil, fmt.Errorf("list the restore's PodVolumeRestores: %w", err)
	}
	restored := map[string]velerov1.PodVolumeRestore{}
	for _, pvr := range pvrs {
		restored[pvr.Spec.Pod.Name+"/"+pvr.Spec.Volume] = pvr
	}
	var reports []RestoreReport
	for _, p := range plan.Plans {
		report := RestoreReport{Component: p.Component, Kind: string(p.Kind), Volumes: p.Volumes}
		backedUp := 0
		for _, pvb := range pvbs {
			if pvb.Spec.Pod.Namespace != plan.SourceNamespace || !slices.Contains(p.Volumes, pvb.Spec.Volume) ||
				!slices.Contains(p.Pods, pvb.Spec.Pod.Name) {
				continue
			}
			backedUp++
			key := pvb.Spec.Pod.Name + "/" + pvb.Spec.Volume
			pvr, ok := restored[key]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("component %s: volume %s of pod %s was not restored (no PodVolumeRestore)", p.Component, pvb.Spec.Volume, pvb.Spec.Pod.Name))
			case pvr.Status.Phase != velerov1.PodVolumeRestorePhaseCompleted:
				problems = append(problems, fmt.Sprintf("component %s: PodVolumeRestore of volume %s of pod %s is %s: %s", p.Component, pvb.Spec.Volume, pvb.Spec.Pod.Name, PhaseOrNew(string(pvr.Status.Phase)), pvr.Status.Message))
			default:
				report.Bytes += max(pvr.Status.Progress.BytesDone, pvr.Status.Progress.TotalBytes)
				if !slices.Contains(report.Pods, pvb.Spec.Pod.Name) {
					report.Pods = append(report.Pods, pvb.Spec.Pod.Name)
				}
			}
		}
		if backedUp == 0 && len(p.Volumes) > 0 {
			problems = append(problems, fmt.Sprintf("component %s: backup %s holds no volume data of it to restore", p.Component, plan.Backup.Name))
		}
		reports = append(reports, report)
	}
	if len(problems) > 0 {
		return reports, &FailedError{Kind: "restore", Name: rs.Name, Problems: problems, Reasons: r.restoreReasons(ctx, rs, plan.Backup.Spec.StorageLocation)}
	}
	left := r.removeRestoreMarkers(ctx, pvrs, plan)
	for i := range reports {
		reports[i].MarkersLeft = left[reports[i].Component]
	}
	target := plan.SourceNamespace
	if mapped, ok := rs.Spec.NamespaceMapping[plan.SourceNamespace]; ok {
		target = mapped
	}
	if _, err := r.ReleaseApplication(ctx, target); err != nil {
		return reports, fmt.Errorf("the restore is verified, but its application cannot start: %w", err)
	}
	return reports, nil
}

// restoreReasons: post-restore hooks run after Velero uploaded the restore's log, so their
// output is in the Velero server's log only; the results file still names the failed hook.
func (r Runner) restoreReasons(ctx context.Context, rs *velerov1.Restore, location string) []string {
	return r.reasons(ctx, location, velero.RestoreResultsKey(rs.Name), velero.RestoreLogKey(rs.Name))
}

func recordNames(records map[string]ComponentRecord) string {
	names := make([]string, 0, len(records))
	for n := range records {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "no component"
	}
	return strings.Join(names, ", ")
}
