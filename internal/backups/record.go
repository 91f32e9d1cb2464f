package backups

import (
	"context"
	"encoding/json"
	"fmt"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
)

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

// PlansFromBackup rebuilds the plans of a backup's enabled components from what the Backup
// recorded, without the source pods (they may be gone, or in another cluster).
func PlansFromBackup(b *velerov1.Backup, components []driverspec.Component) ([]*strategy.Plan, error) {
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
			problems = append(problems, &ArgumentError{Argument: ArgumentComponents, Component: c.Name,
				Err: fmt.Errorf("component %q: not in backup %q (it holds %s): remove it from components or use a backup that has it", c.Name, b.Name, recordNames(records))})
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
		return nil, &RefusalError{Problems: problems}
	}
	return plans, nil
}

// BackupPlans are the plans of backup b's enabled components: from its record when this provider
// made it; otherwise (a Velero Schedule's backup, one made by hand) from the pods as the backup
// captured them, in its contents in the bucket, resolved as PlanBackup resolves the live ones.
func (r Runner) BackupPlans(ctx context.Context, b *velerov1.Backup, components []driverspec.Component) ([]*strategy.Plan, error) {
	if _, recorded := b.Annotations[RecordAnnotation]; recorded {
		return PlansFromBackup(b, components)
	}
	if len(b.Spec.IncludedNamespaces) != 1 {
		return nil, fmt.Errorf("backup %s holds namespaces %v and no record of its components: which pods are the components' is unknown", b.Name, b.Spec.IncludedNamespaces)
	}
	store, err := r.Locations.OpenStore(ctx, b.Spec.StorageLocation)
	if err != nil {
		return nil, err
	}
	pods, err := store.BackupPods(ctx, b.Name, b.Spec.IncludedNamespaces[0])
	if err != nil {
		return nil, fmt.Errorf("backup %s has no record of its components, and the pods it captured cannot be read: %w", b.Name, err)
	}
	var problems []error
	var plans []*strategy.Plan
	for _, c := range components {
		plan, err := strategy.Resolve(c, pods)
		if err != nil {
			problems = append(problems, fmt.Errorf("as backup %s captured the pods: %w", b.Name, err))
			continue
		}
		if plan != nil {
			plans = append(plans, plan)
		}
	}
	if len(problems) > 0 {
		return nil, &RefusalError{Problems: problems}
	}
	return plans, nil
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
// containers, their images, pull policies, security contexts and resources (neo4j's restore runs
// an init container like its server), their mounts and environment variables, and of volumes.
// Environment values are dropped (a driver may set a password as a plain value).
func podSkeleton(pod corev1.Pod) corev1.Pod {
	out := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Labels: pod.Labels}}
	for _, c := range pod.Spec.Containers {
		sc := corev1.Container{Name: c.Name, Image: c.Image, ImagePullPolicy: c.ImagePullPolicy,
			SecurityContext: c.SecurityContext, Resources: c.Resources, VolumeMounts: c.VolumeMounts}
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
