package backups

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// ScheduleRequest is a Velero Schedule of one deployment's backups, each made as BackupRequest
// makes one: the components' hooks, their named volumes, to one location.
type ScheduleRequest struct {
	Name       string
	Namespace  string
	Location   string
	Components []driverspec.Component
	// Cron is the Schedule's cron expression (five fields, or a descriptor like @every 6h).
	Cron               string
	TTL                time.Duration
	Paused             bool
	UseOwnerReferences bool
	Labels             map[string]string
}

func (req ScheduleRequest) backup() BackupRequest {
	return BackupRequest{Name: req.Name, Namespace: req.Namespace, Location: req.Location, Components: req.Components, TTL: req.TTL, Labels: req.Labels}
}

// ParseCron parses a cron expression as the Velero server does (the same parser), and returns
// the time between its runs after now: for "0 3 * * *" a day, for "@every 1m" a minute.
func ParseCron(expr string, now time.Time) (time.Duration, error) {
	// The parser panics on an empty expression.
	if strings.TrimSpace(expr) == "" {
		return 0, fmt.Errorf("empty cron expression")
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return 0, err
	}
	next := s.Next(now)
	if next.IsZero() {
		return 0, fmt.Errorf("%q never runs", expr)
	}
	return s.Next(next).Sub(next), nil
}

// PlanSchedule is the preflight of a schedule: PlanBackup's, since the schedule's first backup
// is made at once. Nothing is created.
func (r Runner) PlanSchedule(ctx context.Context, req ScheduleRequest) ([]*strategy.Plan, error) {
	plans, _, err := r.PlanBackup(ctx, req.backup())
	return plans, err
}

// ApplySchedule selects the plans' volumes on the pod templates of the workloads that own their
// pods, and on the pods, then creates the Schedule, or brings one this provider made to the
// request. It returns the Schedule and a warning per pod no workload owns.
func (r Runner) ApplySchedule(ctx context.Context, req ScheduleRequest, plans []*strategy.Plan) (*velerov1.Schedule, []string, error) {
	// The pods first: those a template change replaces are made again with the annotation.
	if err := r.annotatePods(ctx, req.Namespace, plans); err != nil {
		return nil, nil, err
	}
	warnings, changed, err := r.selectWorkloadVolumes(ctx, req.Namespace, plans)
	if err != nil {
		return nil, warnings, err
	}
	// A backup made now must find the pods the changed templates make, Running.
	if err := r.WaitRolledOut(ctx, req.Namespace, changed); err != nil {
		return nil, warnings, err
	}
	wanted := scheduleObject(req, plans)
	existing, err := velero.Get[velerov1.Schedule](ctx, r.Velero, req.Name)
	switch {
	case apierrors.IsNotFound(err):
		created, err := velero.Create(ctx, r.Velero, wanted)
		return created, warnings, err
	case err != nil:
		return nil, warnings, fmt.Errorf("read schedule %s: %w", req.Name, err)
	case existing.Labels[velero.ManagedByLabel] != velero.ManagedBy:
		return nil, warnings, argumentError(ArgumentName, "a Velero schedule named %q already exists and was not made by this provider "+
			"(velero schedule create, Helm, another tool): choose another name, or delete it", req.Name)
	}
	existing.Labels, existing.Spec = wanted.Labels, wanted.Spec
	updated, err := velero.Update(ctx, r.Velero, existing)
	return updated, warnings, err
}

func scheduleObject(req ScheduleRequest, plans []*strategy.Plan) *velerov1.Schedule {
	labels := map[string]string{velero.ManagedByLabel: velero.ManagedBy}
	maps.Copy(labels, req.Labels)
	s := &velerov1.Schedule{
		// No annotations: Velero copies a Schedule's annotations onto every backup it makes.
		ObjectMeta: metav1.ObjectMeta{Name: req.Name, Labels: labels},
		Spec: velerov1.ScheduleSpec{
			Schedule:                   req.Cron,
			Paused:                     req.Paused,
			UseOwnerReferencesInBackup: boolPtr(req.UseOwnerReferences),
			Template: velerov1.BackupSpec{
				// The backups' labels (Velero adds the schedule's name).
				Metadata:                 velerov1.Metadata{Labels: maps.Clone(labels)},
				IncludedNamespaces:       []string{req.Namespace},
				StorageLocation:          req.Location,
				TTL:                      metav1.Duration{Duration: req.TTL},
				DefaultVolumesToFsBackup: boolPtr(false),
				SnapshotVolumes:          boolPtr(false),
			},
		},
	}
	for _, p := range plans {
		if hooks := p.ScheduleHooks(req.Namespace, req.Name); hooks != nil {
			s.Spec.Template.Hooks.Resources = append(s.Spec.Template.Hooks.Resources, *hooks)
		}
	}
	return s
}

// TemplateDrift says how the Schedule's backup template differs from the one the request and
// plans make ("" when it does not): hooks or namespaces changed out of band.
func TemplateDrift(s *velerov1.Schedule, req ScheduleRequest, plans []*strategy.Plan) string {
	wanted := scheduleObject(req, plans).Spec.Template
	got := s.Spec.Template
	var drift []string
	if !equality.Semantic.DeepEqual(got.Hooks, wanted.Hooks) {
		drift = append(drift, "its hooks are not the components' (changed out of band, or the pods' containers changed)")
	}
	if !slices.Equal(got.IncludedNamespaces, wanted.IncludedNamespaces) || len(got.ExcludedNamespaces) > 0 {
		drift = append(drift, fmt.Sprintf("it backs up namespaces %v, not [%s]", got.IncludedNamespaces, req.Namespace))
	}
	if ptr.Deref(got.DefaultVolumesToFsBackup, false) || ptr.Deref(got.SnapshotVolumes, false) {
		drift = append(drift, "it backs up volumes the components do not name (defaultVolumesToFsBackup or snapshotVolumes set)")
	}
	if len(drift) == 0 {
		return ""
	}
	return fmt.Sprintf("the backup template of schedule %s changed: %s", s.Name, strings.Join(drift, "; "))
}

// RunSchedule makes a backup of the Schedule now, as `velero backup create --from-schedule`
// does (its template, its labels and the schedule's name), and returns it once created.
func (r Runner) RunSchedule(ctx context.Context, s *velerov1.Schedule, now func() time.Time) (*velerov1.Backup, error) {
	// One of the schedule's backups at a time, as Velero's schedule keeps them: two dumps into
	// one volume at once would fail one of them.
	if err := r.WaitScheduleIdle(ctx, s.Name); err != nil {
		return nil, err
	}
	labels := maps.Clone(s.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[velerov1.ScheduleNameLabel] = s.Name
	b := &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: s.TimestampedName(now()), Labels: labels},
		Spec:       s.Spec.Template,
	}
	created, err := velero.Create(ctx, r.Velero, b)
	if apierrors.IsAlreadyExists(err) {
		// The schedule's own run in the same second: a second later is another name.
		b.Name = s.TimestampedName(now().Add(time.Second))
		created, err = velero.Create(ctx, r.Velero, b)
	}
	if err != nil {
		return nil, fmt.Errorf("create a backup of schedule %s: %w", s.Name, err)
	}
	return created, nil
}

// WaitScheduleIdle waits until Velero has finished every backup of the schedule.
func (r Runner) WaitScheduleIdle(ctx context.Context, schedule string) error {
	running := ""
	err := wait.PollUntilContextCancel(ctx, rolloutPollInterval, true, func(ctx context.Context) (bool, error) {
		list, err := velero.List[velerov1.Backup](ctx, r.Velero, velerov1.ScheduleNameLabel+"="+schedule)
		if err != nil {
			return false, fmt.Errorf("list the backups of schedule %s: %w", schedule, err)
		}
		i := slices.IndexFunc(list, func(b velerov1.Backup) bool {
			return !BackupFinished(b.Status.Phase) && b.Status.Phase != velerov1.BackupPhaseDeleting
		})
		if i < 0 {
			return true, nil
		}
		running = list[i].Name
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("backup %s of schedule %s is still running: %w", running, schedule, ctx.Err())
	}
	return err
}

// ProveBackup proves a finished backup for components, from what it captured of its pods
// (BackupPlans): a Schedule's backups have no record. It returns what each component captured.
func (r Runner) ProveBackup(ctx context.Context, b *velerov1.Backup, components []driverspec.Component) ([]ComponentReport, error) {
	plans, err := r.BackupPlans(ctx, b, components)
	if err != nil {
		return nil, err
	}
	return r.VerifyBackup(ctx, b, plans)
}

// LastScheduledBackup is the newest backup of the Schedule named schedule that Velero has
// finished, in location and namespace, proven for components; nil when there is none.
func (r Runner) LastScheduledBackup(ctx context.Context, schedule, location, namespace string, components []driverspec.Component) (*FoundBackup, error) {
	found, err := r.FindBackups(ctx, BackupQuery{Location: location, Namespace: namespace, Schedule: schedule, Finished: true, Limit: 1}, components)
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return &found[0], nil
}

// Workload is a controller that makes pods again: a StatefulSet, Deployment or DaemonSet.
type Workload struct {
	Kind string
	Name string
}

func (w Workload) String() string { return w.Kind + " " + w.Name }

// templateGap is what a workload's pod template misses of the volumes its component pods must
// have selected: the volumes, and the annotation value that selects them too.
type templateGap struct {
	Missing []string
	Value   string
}

// templateGaps are, by the workload that owns each plan's pods, what its pod template misses.
// Pods no workload owns are returned by name.
func (r Runner) templateGaps(ctx context.Context, namespace string, plans []*strategy.Plan) (map[Workload]templateGap, []string, error) {
	wanted := map[Workload][]string{}
	var unowned []string
	for _, p := range plans {
		if len(p.Volumes) == 0 {
			continue
		}
		for _, name := range p.Pods {
			pod, err := r.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, nil, fmt.Errorf("read pod %s/%s: %w", namespace, name, err)
			}
			w, err := r.owningWorkload(ctx, pod)
			if err != nil {
				return nil, nil, err
			}
			if w == nil {
				unowned = append(unowned, name)
				continue
			}
			wanted[*w] = append(wanted[*w], p.Volumes...)
		}
	}
	gaps := map[Workload]templateGap{}
	for w, volumes := range wanted {
		current, err := r.templateAnnotation(ctx, namespace, w)
		if err != nil {
			return nil, nil, err
		}
		selected := strings.Split(current, ",")
		var missing []string
		for _, v := range volumes {
			if !slices.Contains(selected, v) && !slices.Contains(missing, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			gaps[w] = templateGap{Missing: missing, Value: mergeList(current, volumes)}
		}
	}
	return gaps, unowned, nil
}

// owningWorkload is the workload that makes pod again, or nil (a bare pod, a Job's).
func (r Runner) owningWorkload(ctx context.Context, pod *corev1.Pod) (*Workload, error) {
	owner := metav1.GetControllerOf(pod)
	if owner == nil {
		return nil, nil
	}
	switch owner.Kind {
	case "StatefulSet", "DaemonSet":
		return &Workload{Kind: owner.Kind, Name: owner.Name}, nil
	case "ReplicaSet":
		rs, err := r.Kube.AppsV1().ReplicaSets(pod.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read replica set %s/%s, which owns pod %s: %w", pod.Namespace, owner.Name, pod.Name, err)
		}
		if d := metav1.GetControllerOf(rs); d != nil && d.Kind == "Deployment" {
			return &Workload{Kind: "Deployment", Name: d.Name}, nil
		}
		return &Workload{Kind: "ReplicaSet", Name: rs.Name}, nil
	}
	return nil, nil
}

// selectWorkloadVolumes adds each plan's volumes to the backup-volumes annotation of the pod
// template of the workload that owns its pods, keeping volumes listed there already. Velero
// selects a pod's volumes by that annotation on the pod, and a pod made again (a rollout, a node
// drained) has only what its template gives it. A template that changes makes its workload roll
// its pods, once; those workloads are returned. The warnings name pods that no workload owns,
// annotated only as they are.
func (r Runner) selectWorkloadVolumes(ctx context.Context, namespace string, plans []*strategy.Plan) ([]string, []Workload, error) {
	gaps, unowned, err := r.templateGaps(ctx, namespace, plans)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, pod := range unowned {
		warnings = append(warnings, fmt.Sprintf("pod %s has no StatefulSet, Deployment or DaemonSet that makes it again: its volumes are selected on the pod only, "+
			"so a pod of that name made again by other means is backed up without them (the schedule's last backup then fails its proof)", pod))
	}
	var changed []Workload
	for w, gap := range gaps {
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{strategy.BackupVolumesAnnotation: gap.Value}}}}})
		if err := r.patchWorkload(ctx, namespace, w, patch); err != nil {
			return warnings, changed, fmt.Errorf("select the volumes to back up on the pod template of %s in %s: %w", w, namespace, err)
		}
		changed = append(changed, w)
	}
	return warnings, changed, nil
}

// livePlans are the components' plans against the namespace's pods now, without the preflight.
func (r Runner) livePlans(ctx context.Context, namespace string, components []driverspec.Component) ([]*strategy.Plan, error) {
	pods, err := r.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods in namespace %s: %w", namespace, err)
	}
	var plans []*strategy.Plan
	for _, c := range components {
		plan, err := strategy.Resolve(c, pods.Items)
		if err != nil {
			return nil, err
		}
		if plan != nil {
			plans = append(plans, plan)
		}
	}
	return plans, nil
}

// Rollouts lists, one line per workload, the pod templates that applying a schedule of the
// components would change, so the plan can say which workloads will make their pods again.
func (r Runner) Rollouts(ctx context.Context, namespace string, components []driverspec.Component) ([]string, error) {
	plans, err := r.livePlans(ctx, namespace, components)
	if err != nil {
		return nil, err
	}
	gaps, _, err := r.templateGaps(ctx, namespace, plans)
	if err != nil {
		return nil, err
	}
	var lines []string
	for w, gap := range gaps {
		lines = append(lines, fmt.Sprintf("%s (its pod template gains %s: %s)", w, strategy.BackupVolumesAnnotation, gap.Value))
	}
	slices.Sort(lines)
	return lines, nil
}

// rolloutPollInterval is how often WaitRolledOut and WaitScheduleIdle look; a variable for tests.
var rolloutPollInterval = 2 * time.Second

// WaitRolledOut waits until each workload runs only pods of its current template, all ready.
func (r Runner) WaitRolledOut(ctx context.Context, namespace string, workloads []Workload) error {
	for _, w := range workloads {
		err := wait.PollUntilContextCancel(ctx, rolloutPollInterval, true, func(ctx context.Context) (bool, error) {
			return r.rolledOut(ctx, namespace, w)
		})
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("%s in %s did not finish rolling out its pods after its pod template changed: %w", w, namespace, ctx.Err())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rolledOut reports whether the workload runs only pods of its current template, all ready.
func (r Runner) rolledOut(ctx context.Context, namespace string, w Workload) (bool, error) {
	_, done, err := r.readWorkload(ctx, namespace, w)
	if err != nil {
		return false, fmt.Errorf("read %s in %s while it rolls out: %w", w, namespace, err)
	}
	return done, nil
}

// readWorkload reads the workload's pod template, and whether it runs only pods of that
// template, all ready.
func (r Runner) readWorkload(ctx context.Context, namespace string, w Workload) (corev1.PodTemplateSpec, bool, error) {
	apps, get := r.Kube.AppsV1(), metav1.GetOptions{}
	switch w.Kind {
	case "StatefulSet":
		o, err := apps.StatefulSets(namespace).Get(ctx, w.Name, get)
		if err != nil {
			return corev1.PodTemplateSpec{}, false, err
		}
		want := ptr.Deref(o.Spec.Replicas, 1) // the API's default
		return o.Spec.Template, o.Status.ObservedGeneration >= o.Generation && o.Status.UpdateRevision == o.Status.CurrentRevision &&
			o.Status.UpdatedReplicas == want && o.Status.ReadyReplicas == want && o.Status.Replicas == want, nil
	case "Deployment":
		o, err := apps.Deployments(namespace).Get(ctx, w.Name, get)
		if err != nil {
			return corev1.PodTemplateSpec{}, false, err
		}
		want := ptr.Deref(o.Spec.Replicas, 1) // the API's default
		return o.Spec.Template, o.Status.ObservedGeneration >= o.Generation && o.Status.UpdatedReplicas == want &&
			o.Status.AvailableReplicas == want && o.Status.Replicas == want, nil
	case "DaemonSet":
		o, err := apps.DaemonSets(namespace).Get(ctx, w.Name, get)
		if err != nil {
			return corev1.PodTemplateSpec{}, false, err
		}
		return o.Spec.Template, o.Status.ObservedGeneration >= o.Generation && o.Status.UpdatedNumberScheduled == o.Status.DesiredNumberScheduled &&
			o.Status.NumberReady == o.Status.DesiredNumberScheduled, nil
	case "ReplicaSet":
		o, err := apps.ReplicaSets(namespace).Get(ctx, w.Name, get)
		if err != nil {
			return corev1.PodTemplateSpec{}, false, err
		}
		return o.Spec.Template, true, nil // a ReplicaSet does not replace its pods when its template changes
	}
	return corev1.PodTemplateSpec{}, false, fmt.Errorf("%s: not a kind of workload the provider selects volumes on", w)
}

// UnselectedVolumes lists, one line per workload, the plans' volumes that the pod templates of
// their workloads no longer select (their annotation was removed, by a Helm upgrade that sets
// it, or by hand): pods the workload makes again would be backed up without them.
func (r Runner) UnselectedVolumes(ctx context.Context, namespace string, plans []*strategy.Plan) ([]string, error) {
	gaps, _, err := r.templateGaps(ctx, namespace, plans)
	if err != nil {
		return nil, err
	}
	var lines []string
	for w, gap := range gaps {
		lines = append(lines, fmt.Sprintf("%s: its pod template does not select volume %s for backup (annotation %s)",
			w, strings.Join(gap.Missing, ", "), strategy.BackupVolumesAnnotation))
	}
	slices.Sort(lines)
	return lines, nil
}

func (r Runner) templateAnnotation(ctx context.Context, namespace string, w Workload) (string, error) {
	template, _, err := r.readWorkload(ctx, namespace, w)
	if err != nil {
		return "", fmt.Errorf("read %s in %s: %w", w, namespace, err)
	}
	return template.Annotations[strategy.BackupVolumesAnnotation], nil
}

func (r Runner) patchWorkload(ctx context.Context, namespace string, w Workload, patch []byte) error {
	apps := r.Kube.AppsV1()
	var err error
	switch w.Kind {
	case "StatefulSet":
		_, err = apps.StatefulSets(namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	case "Deployment":
		_, err = apps.Deployments(namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	case "DaemonSet":
		_, err = apps.DaemonSets(namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	case "ReplicaSet":
		_, err = apps.ReplicaSets(namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	}
	return err
}

// DeleteSchedule deletes the Schedule; its backups stay until their TTL expires them.
func (r Runner) DeleteSchedule(ctx context.Context, name string) error {
	err := velero.Delete[velerov1.Schedule](ctx, r.Velero, name)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

// ScheduleDrift lists what changed out of band in what the Schedule's backups rely on: pod
// templates that no longer select a component's volumes, and the Schedule's backup template (its
// hooks, namespaces, volume settings). The components are matched to the namespace's live pods;
// an error says they cannot be, and nothing was compared.
func (r Runner) ScheduleDrift(ctx context.Context, s *velerov1.Schedule, req ScheduleRequest) ([]string, error) {
	plans, err := r.livePlans(ctx, req.Namespace, req.Components)
	if err != nil {
		return nil, err
	}
	drift, err := r.UnselectedVolumes(ctx, req.Namespace, plans)
	if err != nil {
		return nil, err
	}
	if d := TemplateDrift(s, req, plans); d != "" {
		drift = append(drift, d)
	}
	return drift, nil
}
