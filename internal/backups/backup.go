package backups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
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

// PlanBackup is the preflight of a backup: the Velero server answers, the location is Available,
// the namespace's file-system backup repository is not NotReady, every enabled component matches
// Running pods that have its volumes and containers, and a node-agent runs on their nodes. Nothing is created (but the status request the server answers).
func (r Runner) PlanBackup(ctx context.Context, req BackupRequest) ([]*strategy.Plan, []corev1.Pod, error) {
	if err := r.checkServer(ctx); err != nil {
		// Nothing else is worth checking with no server to run the backup.
		return nil, nil, &RefusalError{Problems: []error{err}}
	}
	var problems []error
	if err := r.checkLocation(ctx, req.Location); err != nil {
		problems = append(problems, err)
	}
	problems = append(problems, r.checkRepositories(ctx, req.Namespace, req.Location)...)
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
	problems = append(problems, r.checkNodeAgents(ctx, plans, pods.Items)...)
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
	// Velero's status can be a minute old; and the provider reads the backup's log from the
	// bucket to prove it.
	if err := r.Locations.CheckStore(ctx, name); err != nil {
		return argumentError(ArgumentLocation, "the bucket of backup storage location %q cannot be read from where Terraform runs "+
			"(the provider reads each backup's log there to prove it): %v", name, err)
	}
	return nil
}

// StartBackup annotates the pods with the volumes to back up and creates the Backup. A Backup
// of the same name that is exactly the one this request makes (made by this provider, same
// location, namespace, ttl and hooks: an earlier apply that was interrupted before it recorded
// its state) is adopted instead of duplicated; any other is refused.
func (r Runner) StartBackup(ctx context.Context, req BackupRequest, plans []*strategy.Plan, pods []corev1.Pod) (*velerov1.Backup, error) {
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
		if hooks := p.BackupHooks(req.Namespace, req.Name); hooks != nil {
			backup.Spec.Hooks.Resources = append(backup.Spec.Hooks.Resources, *hooks)
		}
	}
	existing, err := existingObject(ctx, r.Velero, "backup", req.Name, "another location, namespace, ttl or components",
		func(b *velerov1.Backup) bool { return sameBackup(b.Spec, backup.Spec) })
	if existing != nil || err != nil {
		return existing, err
	}
	if err := r.annotatePods(ctx, req.Namespace, plans); err != nil {
		return nil, err
	}
	return velero.Create(ctx, r.Velero, backup)
}

// existingObject reads the Velero object named name that a request is about to create: nil when
// there is none; the object itself when it is the one the request makes (made by this provider,
// and same says its spec is the request's: an earlier apply was interrupted before it recorded
// it); otherwise an error on the name, saying what may differ.
func existingObject[T velero.Object](ctx context.Context, c *velero.Client, noun, name, differs string, same func(*T) bool) (*T, error) {
	existing, err := velero.Get[T](ctx, c, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s %s: %w", noun, name, err)
	}
	object, err := meta.Accessor(existing)
	if err == nil && object.GetLabels()[velero.ManagedByLabel] == velero.ManagedBy && same(existing) {
		return existing, nil
	}
	return nil, argumentError(ArgumentName, "a Velero %s named %q already exists and is not the %s this resource makes "+
		"(another resource's, or %s): choose another name", noun, name, noun, differs)
}

// sameBackup reports whether an existing Backup's spec is the one a request makes: what it backs
// up, where, for how long, and with which hooks.
func sameBackup(existing, wanted velerov1.BackupSpec) bool {
	return slices.Equal(existing.IncludedNamespaces, wanted.IncludedNamespaces) &&
		existing.StorageLocation == wanted.StorageLocation &&
		existing.TTL.Duration == wanted.TTL.Duration &&
		equality.Semantic.DeepEqual(existing.Hooks, wanted.Hooks)
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

// Progress is where a backup or restore stands while the provider waits for it.
type Progress struct {
	Phase       string
	Items       int // backed up or restored so far
	TotalItems  int
	BytesDone   int64 // of the backup's pod volumes so far (backups only)
	BytesTotal  int64
	HooksRun    int // hooks Velero attempted so far (backups only)
	HooksFailed int
	// Stalled describes a volume whose PodVolumeBackup a node-agent accepted but has not started
	// for stallAfter ("" when none): Velero 1.18's node-agent can lose track of its data-path pods
	// after an API server restart, and the backup then waits until Velero's own timeout.
	Stalled string
}

// stallAfter is how long a PodVolumeBackup may stay Accepted before the wait calls it stalled.
var stallAfter = 2 * time.Minute

// WaitBackup watches the Backup until it reaches a terminal phase; progress, when not nil, hears
// where it stands at every change Velero reports.
// A wait that times out while a volume is stalled returns a *StalledError saying so.
func (r Runner) WaitBackup(ctx context.Context, name string, progress func(Progress)) (*velerov1.Backup, error) {
	var last Progress
	b, err := velero.WaitFor(ctx, r.Velero, name, func(b *velerov1.Backup) (bool, error) {
		last = r.backupProgress(ctx, b)
		if progress != nil {
			progress(last)
		}
		return BackupFinished(b.Status.Phase), nil
	})
	if err != nil && last.Stalled != "" {
		err = &StalledError{Volume: last.Stalled, Err: err}
	}
	return b, err
}

func (r Runner) backupProgress(ctx context.Context, b *velerov1.Backup) Progress {
	p := Progress{Phase: PhaseOrNew(string(b.Status.Phase))}
	if b.Status.Progress != nil {
		p.Items, p.TotalItems = b.Status.Progress.ItemsBackedUp, b.Status.Progress.TotalItems
	}
	if hs := b.Status.HookStatus; hs != nil {
		p.HooksRun, p.HooksFailed = hs.HooksAttempted, hs.HooksFailed
	}
	// Best effort: a progress line without bytes is still a progress line.
	if pvbs, err := velero.List[velerov1.PodVolumeBackup](ctx, r.Velero, velerov1.BackupNameLabel+"="+b.Name); err == nil {
		var oldest time.Time
		for _, pvb := range pvbs {
			p.BytesDone += pvb.Status.Progress.BytesDone
			p.BytesTotal += pvb.Status.Progress.TotalBytes
			accepted := pvb.CreationTimestamp.Time
			if t := pvb.Status.AcceptedTimestamp; t != nil {
				accepted = t.Time
			}
			if pvb.Status.Phase == velerov1.PodVolumeBackupPhaseAccepted && time.Since(accepted) > stallAfter && (oldest.IsZero() || accepted.Before(oldest)) {
				oldest = accepted
				p.Stalled = fmt.Sprintf("PodVolumeBackup %s (volume %s of pod %s) has been Accepted since %s on node %s without starting",
					pvb.Name, pvb.Spec.Volume, pvb.Spec.Pod.Name, accepted.UTC().Format(time.RFC3339), PhaseOrNew(pvb.Spec.Node))
			}
		}
	}
	return p
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
	// DumpFiles and Checksums are the dump files and their sha256 (database kinds), as the dump
	// of the component's first pod reported them in this backup's log.
	DumpFiles []string
	Checksums []string
}

// VerifyBackup proves the backup: phase Completed, every hook of the plans attempted and none
// failed, for every expected (pod, volume) one Completed PodVolumeBackup with data, and for every
// pod of a database component a complete dump made for this backup, as its log in the bucket
// records it. Otherwise the error carries the reasons from the backup's results and log.
func (r Runner) VerifyBackup(ctx context.Context, b *velerov1.Backup, plans []*strategy.Plan) ([]ComponentReport, error) {
	return r.verifyBackup(ctx, b, plans, true)
}

// verifyBackup is VerifyBackup; withReasons says whether a failure quotes Velero's reasons, read
// from the bucket: an apply's error does, a search that proves many backups needs only the problems.
func (r Runner) verifyBackup(ctx context.Context, b *velerov1.Backup, plans []*strategy.Plan, withReasons bool) ([]ComponentReport, error) {
	var problems []string
	if b.Status.Phase != velerov1.BackupPhaseCompleted {
		problems = append(problems, fmt.Sprintf("Velero finished the backup as %s (%d errors, %d warnings)%s%s",
			PhaseOrNew(string(b.Status.Phase)), b.Status.Errors, b.Status.Warnings, validationErrors(b.Status.ValidationErrors), failureReason(b.Status.FailureReason)))
	}
	problems = append(problems, hookProblems(b, plans)...)
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
	if len(problems) == 0 {
		problems = r.proveDumps(ctx, b, plans, reports)
	}
	if len(problems) > 0 {
		failed := &FailedError{Kind: "backup", Name: b.Name, Problems: problems}
		if withReasons {
			failed.Reasons = r.backupReasons(ctx, b)
		}
		return reports, failed
	}
	return reports, nil
}

// hookProblems compares Velero's count of the backup's hooks with the plans': one hook per pod
// of each component that runs one. Fewer means a pod's hook never ran (it was not Running, or
// it left the namespace); more means hooks this provider did not plan ran too.
func hookProblems(b *velerov1.Backup, plans []*strategy.Plan) []string {
	expected := 0
	for _, p := range plans {
		if p.HasBackupHook() {
			expected += len(p.Pods)
		}
	}
	var attempted, failed int
	if hs := b.Status.HookStatus; hs != nil {
		attempted, failed = hs.HooksAttempted, hs.HooksFailed
	}
	var problems []string
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d hooks failed", failed, attempted))
	}
	if attempted != expected {
		problems = append(problems, fmt.Sprintf("Velero attempted %d hooks, the plan has %d (one per pod of each component that runs a hook)", attempted, expected))
	}
	return problems
}

// proveDumps checks that every pod of every database component reported, in this backup's log,
// a complete dump made for this backup, and records what the first pod's dump holds.
func (r Runner) proveDumps(ctx context.Context, b *velerov1.Backup, plans []*strategy.Plan, reports []ComponentReport) []string {
	var problems []string
	var logged map[string]map[string][]strategy.DumpReport
	for i, p := range plans {
		if !p.Kind.IsDatabase() {
			continue
		}
		if logged == nil {
			var err error
			if logged, err = r.dumpReports(ctx, b); err != nil {
				return []string{fmt.Sprintf("the backup's log cannot be read, so its dumps cannot be proven: %v", err)}
			}
		}
		for j, pod := range p.Pods {
			dump := logged[p.Component][pod]
			if _, err := p.RecordedMarker(dump); err != nil {
				problems = append(problems, fmt.Sprintf("component %s: pod %s reported no complete dump for this backup in its log (%v): "+
					"the dump hook did not run or did not finish, so the volume holds no dump of this backup", p.Component, pod, err))
				continue
			}
			if j == 0 {
				sums := map[string]string{}
				for _, d := range dump {
					sums[d.File] = d.SHA256
				}
				for _, file := range p.DumpFileNames() {
					reports[i].DumpFiles = append(reports[i].DumpFiles, file)
					reports[i].Checksums = append(reports[i].Checksums, sums[file])
				}
			}
		}
	}
	return problems
}

// MissingFiles returns, as *velero.MissingError, those files of backup b that its location's
// bucket no longer holds: the ones Velero restores it from (its metadata and contents) and the
// one that proves its dumps (its log).
func (r Runner) MissingFiles(ctx context.Context, b *velerov1.Backup) ([]error, error) {
	return r.missingFiles(ctx, b, velero.BackupLogKey(b.Name))
}

func (r Runner) missingFiles(ctx context.Context, b *velerov1.Backup, more ...string) ([]error, error) {
	store, err := r.Locations.OpenStore(ctx, b.Spec.StorageLocation)
	if err != nil {
		return nil, err
	}
	return store.Missing(ctx, append([]string{velero.BackupMetadataKey(b.Name), velero.BackupContentsKey(b.Name)}, more...)...)
}

// checkFiles refuses a restore from a backup whose files are gone from the bucket, or whose
// bucket cannot be read from here. (The log, which only database components need, is read
// when their dumps are checked.)
func (r Runner) checkFiles(ctx context.Context, b *velerov1.Backup) error {
	missing, err := r.missingFiles(ctx, b)
	if err != nil {
		return argumentError(ArgumentBackup, "the files of backup %q cannot be checked before the restore: %v", b.Name, err)
	}
	if len(missing) > 0 {
		return argumentError(ArgumentBackup, "backup %q cannot be restored: %v; restore another backup", b.Name, errors.Join(missing...))
	}
	return nil
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
	_, err := velero.Get[velerov1.Backup](ctx, r.Velero, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read backup %s: %w", name, err)
	}
	request := &velerov1.DeleteBackupRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy, velerov1.BackupNameLabel: name}},
		Spec:       velerov1.DeleteBackupRequestSpec{BackupName: name},
	}
	created, err := velero.Create(ctx, r.Velero, request)
	if err != nil {
		return err
	}
	// Velero refuses a request while its backup tracker still holds the backup, which can outlast
	// the Completed phase by a moment: a destroy right after the apply meets it. Asked again.
	const stillInProgress = "backup is still in progress"
	// A failed read is tried again (the API server may be restarting); one that keeps failing
	// (Forbidden) ends the wait with its error, not with a timeout that blames Velero.
	const readAttempts = 3
	failedReads := 0
	for {
		_, err := velero.Get[velerov1.Backup](ctx, r.Velero, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			err = fmt.Errorf("read backup %s while Velero deletes it: %w", name, err)
		} else {
			dbr, dbrErr := velero.Get[velerov1.DeleteBackupRequest](ctx, r.Velero, created.Name)
			switch {
			case dbrErr == nil && dbr.Status.Phase == velerov1.DeleteBackupRequestPhaseProcessed && slices.Equal(dbr.Status.Errors, []string{stillInProgress}):
				if created, err = velero.Create(ctx, r.Velero, request); err != nil {
					return err
				}
			case dbrErr == nil && dbr.Status.Phase == velerov1.DeleteBackupRequestPhaseProcessed && len(dbr.Status.Errors) > 0:
				return fmt.Errorf("the Velero server could not delete backup %s: %s", name, strings.Join(dbr.Status.Errors, "; "))
			case dbrErr != nil && !apierrors.IsNotFound(dbrErr): // a request Velero removed leaves the Backup's read to decide
				err = fmt.Errorf("read DeleteBackupRequest %s: %w", created.Name, dbrErr)
			}
		}
		switch {
		case err == nil:
			failedReads = 0
		case ctx.Err() == nil: // a read cut short by the deadline is the timeout below
			if failedReads++; failedReads == readAttempts {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backup %s is still there after the delete timeout: %w", name, ctx.Err())
		case <-time.After(deletePollInterval):
		}
	}
}
