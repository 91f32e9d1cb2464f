// Package backups runs strategy-driven Velero backups and restores of a deployment and proves
// what they captured: preflight against the live pods, the Velero objects with every hook, a
// wait by watching, and a verification that reads the reasons for any failure from the
// bucket. It knows nothing of Terraform.
package backups

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// Labels and annotations this package puts on Velero objects.
const (
	// ManagedByLabel marks the objects this provider made.
	ManagedByLabel = velero.ManagedByLabel
	managedBy      = "terraform-provider-styrmin"
	// RecordAnnotation holds, on a Backup, what each component's plan was at backup time, so a
	// restore (possibly in another cluster, after backup sync) knows the containers and dump
	// files without the source pods.
	RecordAnnotation = "styrmin.io/components"
	// backupVolumesAnnotation is Velero's opt-in list of pod volumes for file-system backup.
	backupVolumesAnnotation = "backup.velero.io/backup-volumes"
)

// Runner runs backups and restores in one cluster.
type Runner struct {
	Kube       kubernetes.Interface
	RESTConfig *rest.Config
	Velero     *velero.Client
	Locations  velero.Locations
}

// BackupRequest is one backup of a deployment (a namespace) to a location.
type BackupRequest struct {
	Name       string
	Namespace  string
	Location   string
	Components []strategy.Component
	TTL        time.Duration
	Labels     map[string]string
}

// ComponentRecord is what the backup of one component was, kept on the Backup object.
type ComponentRecord struct {
	Kind     string            `json:"kind"`
	Selector map[string]string `json:"selector"`
	// Pod is the first pod backed up, reduced to what a restore plan needs (names of
	// containers, mounts, volumes and environment variables; no values).
	Pod corev1.Pod `json:"pod"`
	// Pods are the names of all pods of the component that were backed up.
	Pods []string `json:"pods"`
}

// PreflightError lists every problem found before anything was created.
type PreflightError struct{ Problems []error }

func (e *PreflightError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (e *PreflightError) Unwrap() []error { return e.Problems }

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
		problems = append(problems, fmt.Errorf("no component has its backup enabled: a backup would capture nothing"))
	}
	if len(problems) > 0 {
		return nil, nil, &PreflightError{Problems: problems}
	}
	return plans, pods.Items, nil
}

func (r Runner) checkLocation(ctx context.Context, name string) error {
	bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, r.Velero, name)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("backup_location: backup storage location %q does not exist in namespace %s", name, r.Velero.Namespace)
	}
	if err != nil {
		return fmt.Errorf("backup_location: read %q: %w", name, err)
	}
	if bsl.Status.Phase != velerov1.BackupStorageLocationPhaseAvailable {
		return fmt.Errorf("backup_location: %q is %s, not Available: %s", name, PhaseOrNew(string(bsl.Status.Phase)), bsl.Status.Message)
	}
	if bsl.Spec.AccessMode == velerov1.BackupStorageLocationAccessModeReadOnly {
		return fmt.Errorf("backup_location: %q is ReadOnly: back up to a ReadWrite location", name)
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
		if existing.Labels[ManagedByLabel] == managedBy && len(existing.Spec.IncludedNamespaces) == 1 &&
			existing.Spec.IncludedNamespaces[0] == req.Namespace {
			return existing, nil
		}
		return nil, fmt.Errorf("name: a Velero backup named %q already exists and was not made by this provider for namespace %s: choose another name", req.Name, req.Namespace)
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
			Labels:      map[string]string{ManagedByLabel: managedBy},
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
		merged := mergeList(current.Annotations[backupVolumesAnnotation], volumes)
		if merged == current.Annotations[backupVolumesAnnotation] {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{backupVolumesAnnotation: merged}}})
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
	byPodVolume := map[string]velerov1.PodVolumeBackup{}
	for _, pvb := range pvbs {
		byPodVolume[pvb.Spec.Pod.Name+"/"+pvb.Spec.Volume] = pvb
	}
	var reports []ComponentReport
	for _, p := range plans {
		report := ComponentReport{Component: p.Component, Kind: string(p.Kind), Pods: p.Pods, Volumes: p.Volumes}
		for _, want := range expected(p) {
			pvb, ok := byPodVolume[want.Pod+"/"+want.Volume]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("component %s: no PodVolumeBackup for volume %s of pod %s: the volume was not captured", p.Component, want.Volume, want.Pod))
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

// expected lists every (pod, volume) of a plan: each must have been captured with data.
func expected(p *strategy.Plan) []strategy.ExpectedVolume {
	var out []strategy.ExpectedVolume
	for _, pod := range p.Pods {
		for _, volume := range p.Volumes {
			out = append(out, strategy.ExpectedVolume{Pod: pod, Volume: volume})
		}
	}
	return out
}

// PlansFromBackup rebuilds the plans of a backup's enabled components from what the Backup
// recorded, without the source pods (they may be gone, or in another cluster).
func PlansFromBackup(b *velerov1.Backup, components []strategy.Component) ([]*strategy.Plan, error) {
	records, err := Records(b)
	if err != nil {
		return nil, err
	}
	var problems []error
	var plans []*strategy.Plan
	for _, c := range components {
		if !c.Backup.Enabled {
			continue
		}
		record, ok := records[c.Name]
		if !ok {
			problems = append(problems, fmt.Errorf("component %q: not in backup %q (it holds %s): remove it from components or use a backup that has it", c.Name, b.Name, recordNames(records)))
			continue
		}
		plan, err := strategy.Resolve(c, []corev1.Pod{record.Pod})
		if err != nil {
			problems = append(problems, fmt.Errorf("component %q does not match what backup %q captured: %w", c.Name, b.Name, err))
			continue
		}
		plan.Pods = record.Pods // every backed-up pod, under its name
		plans = append(plans, plan)
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: problems}
	}
	return plans, nil
}

// FailedError is a backup or restore that did not do what it must, with Velero's reasons.
type FailedError struct {
	Object   string
	Problems []string
	Reasons  []string
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed:\n  - %s", e.Object, strings.Join(e.Problems, "\n  - "))
	if len(e.Reasons) > 0 {
		fmt.Fprintf(&b, "\nVelero's reasons (from its results and log in the bucket):\n  - %s", strings.Join(e.Reasons, "\n  - "))
	}
	return b.String()
}

// maxReasons bounds how many lines of Velero's results and log an error quotes; maxLogLines
// how many hook lines of a log are read to find them.
const (
	maxReasons  = 20
	maxLogLines = 2000
)

func (r Runner) backupReasons(ctx context.Context, b *velerov1.Backup) []string {
	return r.reasons(ctx, b.Spec.StorageLocation, velero.BackupResultsKey(b.Name), velero.BackupLogKey(b.Name))
}

// reasons quotes the errors of a results file and the lines of a log that explain a failed
// hook, reading both from the location's bucket with one client.
func (r Runner) reasons(ctx context.Context, location, resultsKey, logKey string) []string {
	store, err := r.Locations.OpenStore(ctx, location)
	if err != nil {
		return []string{"(results file not readable: " + err.Error() + ")"}
	}
	var reasons []string
	if res, err := store.Results(ctx, resultsKey); err == nil {
		reasons = append(reasons, res.Errors.Lines()...)
	} else {
		reasons = append(reasons, "(results file not readable: "+err.Error()+")")
	}
	if lines, err := store.LogLines(ctx, logKey, mentionsHook, maxLogLines); err == nil {
		reasons = append(reasons, hookReasons(lines)...)
	}
	if len(reasons) > maxReasons {
		reasons = append(reasons[:maxReasons], fmt.Sprintf("... and %d more", len(reasons)-maxReasons))
	}
	return reasons
}

// mentionsHook keeps the log lines about hooks, from which hookReasons picks.
func mentionsHook(line string) bool { return strings.Contains(line, "hook") }

// hookReasons picks the lines that explain a failed hook: hook errors, and the non-empty
// stderr of hooks in the pods where one failed (the dump scripts narrate on stderr when all is
// well too, so stderr alone proves nothing).
func hookReasons(lines []string) []string {
	failedPods := map[string]bool{}
	for _, line := range lines {
		if f := logfmt(line); f["level"] == "error" {
			failedPods[f["pod"]] = true
		}
	}
	var reasons []string
	for _, line := range lines {
		f := logfmt(line)
		stderr := strings.TrimSpace(strings.TrimPrefix(f["msg"], "stderr:"))
		switch {
		case f["level"] == "error":
			reasons = append(reasons, hookReason(line))
		case strings.HasPrefix(f["msg"], "stderr: ") && stderr != "" && failedPods[f["pod"]]:
			reasons = append(reasons, hookReason(line))
		}
	}
	return reasons
}

// hookReason shortens a kept log line to what a person needs: which hook, in which pod, and
// what it said (the hook's full command, which Velero logs on every line, is left out).
func hookReason(line string) string {
	f := logfmt(line)
	var b strings.Builder
	b.WriteString("hook")
	if f["hookName"] != "" {
		b.WriteString(" " + f["hookName"])
	}
	if f["pod"] != "" {
		b.WriteString(" in pod " + f["pod"])
	}
	if f["hookContainer"] != "" {
		b.WriteString(" (container " + f["hookContainer"] + ")")
	}
	b.WriteString(": " + strings.TrimSpace(f["msg"]))
	if f["error"] != "" {
		b.WriteString(": " + f["error"])
	}
	return b.String()
}

// logfmt splits a logrus text line (key=value, values quoted when needed) into its fields.
func logfmt(line string) map[string]string {
	fields := map[string]string{}
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		eq := strings.IndexByte(line[i:], '=')
		if eq < 0 {
			break
		}
		key := line[i : i+eq]
		i += eq + 1
		if i < len(line) && line[i] == '"' {
			end := i + 1
			for end < len(line) && line[end] != '"' {
				if line[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(line) {
				end = len(line) - 1
			}
			value, err := strconv.Unquote(line[i : end+1])
			if err != nil {
				value = line[i+1 : end]
			}
			fields[key] = value
			i = end + 1
			continue
		}
		end := strings.IndexByte(line[i:], ' ')
		if end < 0 {
			end = len(line) - i
		}
		fields[key] = line[i : i+end]
		i += end
	}
	return fields
}

func componentRecords(plans []*strategy.Plan, pods []corev1.Pod) (string, error) {
	records := map[string]ComponentRecord{}
	for _, p := range plans {
		for _, pod := range pods {
			if len(p.Pods) > 0 && pod.Name == p.Pods[0] {
				records[p.Component] = ComponentRecord{Kind: string(p.Kind), Selector: p.Selector, Pod: podSkeleton(pod), Pods: p.Pods}
			}
		}
	}
	data, err := json.Marshal(records)
	return string(data), err
}

// podSkeleton keeps what a restore plan needs and nothing that could be secret: names of
// containers, their mounts and environment variables, and of volumes. Environment values are
// dropped (a driver may set a password as a plain value).
func podSkeleton(pod corev1.Pod) corev1.Pod {
	out := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Labels: pod.Labels}}
	for _, c := range pod.Spec.Containers {
		sc := corev1.Container{Name: c.Name, VolumeMounts: c.VolumeMounts}
		for _, e := range c.Env {
			sc.Env = append(sc.Env, corev1.EnvVar{Name: e.Name})
		}
		out.Spec.Containers = append(out.Spec.Containers, sc)
	}
	for _, v := range pod.Spec.Volumes {
		out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	out.Status.Phase = corev1.PodRunning
	return out
}

// Records reads what a Backup recorded of its components.
func Records(b *velerov1.Backup) (map[string]ComponentRecord, error) {
	raw, ok := b.Annotations[RecordAnnotation]
	if !ok {
		return nil, fmt.Errorf("backup %s was not made by this provider (no %s annotation): its components' restore hooks are unknown", b.Name, RecordAnnotation)
	}
	records := map[string]ComponentRecord{}
	if err := json.Unmarshal([]byte(raw), &records); err != nil {
		return nil, fmt.Errorf("backup %s: annotation %s: %w", b.Name, RecordAnnotation, err)
	}
	return records, nil
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

func validationErrors(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return ": " + strings.Join(errs, "; ")
}

// PhaseOrNew names a phase Velero has not set yet "New", as Velero's own CLI does.
func PhaseOrNew(phase string) string {
	if phase == "" {
		return "New"
	}
	return phase
}

func boolPtr(b bool) *bool { return &b }

// DeleteBackup removes a backup's data through a DeleteBackupRequest (the only real delete:
// deleting the Backup object alone lets backup sync bring it back) and waits until the Backup
// is gone. Velero refuses it for a ReadOnly or Unavailable location; its reason is returned.
func (r Runner) DeleteBackup(ctx context.Context, name string) error {
	if _, err := velero.Get[velerov1.Backup](ctx, r.Velero, name); apierrors.IsNotFound(err) {
		return nil
	}
	request := &velerov1.DeleteBackupRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: map[string]string{ManagedByLabel: managedBy, velerov1.BackupNameLabel: name}},
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
			return fmt.Errorf("Velero could not delete backup %s: %s", name, strings.Join(dbr.Status.Errors, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backup %s is still there after the delete timeout: %w", name, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
