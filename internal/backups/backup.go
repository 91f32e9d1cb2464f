package backups

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// BackupRequest is one backup of a deployment (a namespace) to a location.
type BackupRequest struct {
	Name       string
	Namespace  string
	Location   string
	Components []driverspec.Component
	TTL        time.Duration
	Labels     map[string]string
}

// PlanBackup is the preflight of a backup: the location is Available and every enabled
// component matches Running pods that have its volumes and containers. Nothing is created.
func (r Runner) PlanBackup(ctx context.Context, req BackupRequest) ([]*strategy.Plan, []corev1.Pod, error) {
	var problems []error
	if err := r.checkLocation(ctx, req.Location); err != nil {
		problems = append(problems, err)
	}
	pods, err := r.Kube.CoreV1().Pods(req.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods in namespace %s: %w", req.Namespace, err)
	}
	var plans []*strategy.Plan
	enabled := 0
	for _, c := range req.Components {
		if c.Backup.Enabled {
			enabled++
		}
		plan, err := strategy.Resolve(c, pods.Items)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if plan != nil {
			plans = append(plans, plan)
		}
	}
	if enabled == 0 && len(problems) == 0 {
		problems = append(problems, argumentError(ArgumentComponents, "no component has its backup enabled: a backup would capture nothing"))
	}
	if len(problems) > 0 {
		return nil, nil, &RefusalError{Problems: problems}
	}
	return plans, pods.Items, nil
}

func (r Runner) checkLocation(ctx context.Context, name string) error {
	bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, r.Velero, name)
	if apierrors.IsNotFound(err) {
		return argumentError(ArgumentLocation, "backup storage location %q does not exist in namespace %s", name, r.Velero.Namespace)
	}
	if err != nil {
		return argumentError(ArgumentLocation, "read backup storage location %q: %w", name, err)
	}
	if bsl.Status.Phase != velerov1.BackupStorageLocationPhaseAvailable {
		return argumentError(ArgumentLocation, "backup storage location %q is %s, not Available: %s", name, PhaseOrNew(string(bsl.Status.Phase)), bsl.Status.Message)
	}
	if bsl.Spec.AccessMode == velerov1.BackupStorageLocationAccessModeReadOnly {
		return argumentError(ArgumentLocation, "backup storage location %q is ReadOnly: back up to a ReadWrite location", name)
	}
	return nil
}

// StartBackup annotates the pods with the volumes to back up and creates the Backup. A Backup
// of the same name made by this provider for the same namespace (an earlier apply that was
// interrupted before it recorded its state) is adopted instead of duplicated.
func (r Runner) StartBackup(ctx context.Context, req BackupRequest, plans []*strategy.Plan, pods []corev1.Pod) (*velerov1.Backup, error) {
	existing, err := velero.Get[velerov1.Backup](ctx, r.Velero, req.Name)
	switch {
	case err == nil:
		if existing.Labels[velero.ManagedByLabel] == velero.ManagedBy && len(existing.Spec.IncludedNamespaces) == 1 &&
			existing.Spec.IncludedNamespaces[0] == req.Namespace {
			return existing, nil
		}
		return nil, argumentError(ArgumentName, "a Velero backup named %q already exists and was not made by this provider for namespace %s: choose another name", req.Name, req.Namespace)
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read backup %s: %w", req.Name, err)
	}
	if err := r.annotatePods(ctx, req.Namespace, plans); err != nil {
		return nil, err
	}
	record, err := componentRecords(plans, pods)
	if err != nil {
		return nil, err
	}
	backup := &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name:        req.Name,
			Labels:      map[string]string{velero.ManagedByLabel: velero.ManagedBy},
			Annotations: map[string]string{RecordAnnotation: record},
		},
		Spec: velerov1.BackupSpec{
			IncludedNamespaces:       []string{req.Namespace},
			StorageLocation:          req.Location,
			TTL:                      metav1.Duration{Duration: req.TTL},
			DefaultVolumesToFsBackup: boolPtr(false),
			SnapshotVolumes:          boolPtr(false),
		},
	}
	for k, v := range req.Labels {
		backup.Labels[k] = v
	}
	for _, p := range plans {
		if hooks := p.BackupHooks(req.Namespace); hooks != nil {
			backup.Spec.Hooks.Resources = append(backup.Spec.Hooks.Resources, *hooks)
		}
	}
	return velero.Create(ctx, r.Velero, backup)
}

// annotatePods adds each plan's volumes to its pods' backup-volumes annotation, keeping volumes
// someone else listed there.
func (r Runner) annotatePods(ctx context.Context, namespace string, plans []*strategy.Plan) error {
	wanted := map[string][]string{}
	for _, p := range plans {
		for _, pod := range p.Pods {
			wanted[pod] = append(wanted[pod], p.Volumes...)
		}
	}
	for pod, volumes := range wanted {
		current, err := r.Kube.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read pod %s/%s: %w", namespace, pod, err)
		}
		merged := mergeList(current.Annotations[strategy.BackupVolumesAnnotation], volumes)
		if merged == current.Annotations[strategy.BackupVolumesAnnotation] {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{strategy.BackupVolumesAnnotation: merged}}})
		if _, err := r.Kube.CoreV1().Pods(namespace).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("annotate pod %s/%s with the volumes to back up: %w", namespace, pod, err)
		}
	}
	return nil
}

// WaitBackup watches the Backup until it reaches a terminal phase.
func (r Runner) WaitBackup(ctx context.Context, name string) (*velerov1.Backup, error) {
	return velero.WaitFor(ctx, r.Velero, name, func(b *velerov1.Backup) (bool, error) {
		return BackupFinished(b.Status.Phase), nil
	})
}

// BackupFinished reports a terminal phase.
func BackupFinished(phase velerov1.BackupPhase) bool {
	switch phase {
	case velerov1.BackupPhaseCompleted, velerov1.BackupPhasePartiallyFailed, velerov1.BackupPhaseFailed,
		velerov1.BackupPhaseFailedValidation:
		return true
	}
	return false
}

// ComponentReport is what the backup captured of one component.
type ComponentReport struct {
	Component string
	Kind      string
	Pods      []string
	Volumes   []string
	Bytes     int64
	// DumpFiles and Checksums are the dump files and their sha256 (database kinds), read from
	// the dump's marker file after the backup.
	DumpFiles []string
	Checksums []string
}

// VerifyBackup proves the backup: phase Completed, no failed hook, and for every expected
// (pod, volume) one Completed PodVolumeBackup with data. Otherwise the error carries the
// reasons from the backup's results and log in the bucket.
func (r Runner) VerifyBackup(ctx context.Context, b *velerov1.Backup, plans []*strategy.Plan) ([]ComponentReport, error) {
	var problems []string
	if b.Status.Phase != velerov1.BackupPhaseCompleted {
		problems = append(problems, fmt.Sprintf("Velero finished the backup as %s (%d errors, %d warnings)%s",
			PhaseOrNew(string(b.Status.Phase)), b.Status.Errors, b.Status.Warnings, validationErrors(b.Status.ValidationErrors)))
	}
	if hs := b.Status.HookStatus; hs != nil && hs.HooksFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d hooks failed", hs.HooksFailed, hs.HooksAttempted))
	}
	pvbs, err := velero.List[velerov1.PodVolumeBackup](ctx, r.Velero, velerov1.BackupNameLabel+"="+b.Name)
	if err != nil {
		return nil, fmt.Errorf("list the backup's PodVolumeBackups: %w", err)
	}
	// A backup has exactly one PodVolumeBackup per pod volume; more than one cannot be told
	// apart, so it is reported rather than one of them kept at random.
	byPodVolume := map[string][]velerov1.PodVolumeBackup{}
	for _, pvb := range pvbs {
		key := pvb.Spec.Pod.Name + "/" + pvb.Spec.Volume
		byPodVolume[key] = append(byPodVolume[key], pvb)
	}
	var reports []ComponentReport
	for _, p := range plans {
		report := ComponentReport{Component: p.Component, Kind: string(p.Kind), Pods: p.Pods, Volumes: p.Volumes}
		for _, want := range p.ExpectedVolumes() {
			found := byPodVolume[want.Pod+"/"+want.Volume]
			var pvb velerov1.PodVolumeBackup
			if len(found) == 1 {
				pvb = found[0]
			}
			switch {
			case len(found) == 0:
				problems = append(problems, fmt.Sprintf("component %s: no PodVolumeBackup for volume %s of pod %s: the volume was not captured", p.Component, want.Volume, want.Pod))
			case len(found) > 1:
				names := make([]string, len(found))
				for i, f := range found {
					names[i] = f.Name
				}
				sort.Strings(names)
				problems = append(problems, fmt.Sprintf("component %s: %d PodVolumeBackups for volume %s of pod %s (%s): a backup has exactly one per pod volume", p.Component, len(found), want.Volume, want.Pod, strings.Join(names, ", ")))
			case pvb.Status.Phase != velerov1.PodVolumeBackupPhaseCompleted:
				problems = append(problems, fmt.Sprintf("component %s: PodVolumeBackup of volume %s of pod %s is %s: %s", p.Component, want.Volume, want.Pod, PhaseOrNew(string(pvb.Status.Phase)), pvb.Status.Message))
			case pvb.Status.Progress.BytesDone <= 0 && pvb.Status.Progress.TotalBytes <= 0:
				problems = append(problems, fmt.Sprintf("component %s: volume %s of pod %s was captured empty (0 bytes): a backup that captured nothing is a failure", p.Component, want.Volume, want.Pod))
			default:
				report.Bytes += max(pvb.Status.Progress.BytesDone, pvb.Status.Progress.TotalBytes)
			}
		}
		reports = append(reports, report)
	}
	if len(problems) > 0 {
		return reports, &FailedError{Object: "backup " + b.Name, Problems: problems, Reasons: r.backupReasons(ctx, b)}
	}
	for i, p := range plans {
		if cmd := p.ChecksumCommand(); cmd != nil && len(p.Pods) > 0 {
			out, err := r.exec(ctx, b.Spec.IncludedNamespaces[0], p.Pods[0], p.Container, cmd)
			if err != nil {
				return reports, fmt.Errorf("component %s: read the dump's checksum: %w", p.Component, err)
			}
			reports[i].DumpFiles, reports[i].Checksums = parseChecksums(out)
		}
	}
	return reports, nil
}

func parseChecksums(out string) (files, sums []string) {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		sum, file, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if ok {
			files, sums = append(files, strings.TrimPrefix(file, "*")), append(sums, sum)
		}
	}
	return files, sums
}

func mergeList(current string, add []string) string {
	seen := map[string]bool{}
	var out []string
	for _, v := range append(strings.Split(current, ","), add...) {
		v = strings.TrimSpace(v)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// deletePollInterval is how often DeleteBackup looks whether Velero has removed the Backup; a
// variable so tests need not wait.
var deletePollInterval = time.Second

// DeleteBackup removes a backup's data through a DeleteBackupRequest (the only real delete:
// deleting the Backup object alone lets backup sync bring it back) and waits until the Backup
// is gone. Velero refuses it for a ReadOnly or Unavailable location; its reason is returned.
func (r Runner) DeleteBackup(ctx context.Context, name string) error {
	if _, err := velero.Get[velerov1.Backup](ctx, r.Velero, name); apierrors.IsNotFound(err) {
		return nil
	}
	request := &velerov1.DeleteBackupRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy, velerov1.BackupNameLabel: name}},
		Spec:       velerov1.DeleteBackupRequestSpec{BackupName: name},
	}
	created, err := velero.Create(ctx, r.Velero, request)
	if err != nil {
		return err
	}
	for {
		_, err := velero.Get[velerov1.Backup](ctx, r.Velero, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		dbr, dbrErr := velero.Get[velerov1.DeleteBackupRequest](ctx, r.Velero, created.Name)
		if dbrErr == nil && dbr.Status.Phase == velerov1.DeleteBackupRequestPhaseProcessed && len(dbr.Status.Errors) > 0 {
			return fmt.Errorf("the Velero server could not delete backup %s: %s", name, strings.Join(dbr.Status.Errors, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backup %s is still there after the delete timeout: %w", name, ctx.Err())
		case <-time.After(deletePollInterval):
		}
	}
}
