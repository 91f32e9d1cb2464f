package backups

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// A restore holds back the application: every pod it brings that no component's strategy
// restores (the app servers, anything stateless) is created with a scheduling gate, so it stays
// Pending, unscheduled, while the databases replay their dumps; the provider removes the gate once
// the restore is verified. No client sees a half-restored or empty database. The gate is put on
// by a Velero resource modifier (a JSON merge patch on those pods, named one by one from the
// backup's resource list), because Velero's own hooks run only in pods that have something to
// run. After a failed restore the pods stay held: the application does not start on data that
// did not come back.

// HoldGate is the scheduling gate of held pods.
const HoldGate = "styrmin.io/restore"

// holdConfigMapName names the ConfigMap of a restore's resource modifiers.
func holdConfigMapName(restore string) string { return "styrmin-hold-" + restore }

// heldPods are the pods of the source namespace the backup holds that no planned component
// restores, from the backup's resource list in the bucket; but a pod whose volumes the backup
// captured is not held, with a warning: Velero restores volume data only into a pod that starts
// (its restore-wait init container), so holding it would keep the restore waiting for that data
// until it times out.
func heldPods(plan *RestorePlan) (held, warnings []string) {
	restored := map[string]bool{}
	for _, p := range plan.Plans {
		for _, pod := range p.Pods {
			restored[pod] = true
		}
	}
	for _, item := range plan.Resources["v1/Pod"] {
		ns, name, ok := strings.Cut(item, "/")
		if !ok || ns != plan.SourceNamespace || restored[name] {
			continue
		}
		if volumes := plan.Captured[name]; len(volumes) > 0 {
			warnings = append(warnings, fmt.Sprintf("pod %s is not held back while the databases replay: backup %s captured its volume(s) %s, "+
				"which Velero restores only into a pod that starts. To hold it, leave those volumes out of its %s annotation, or make it a component",
				name, plan.Backup.Name, strings.Join(volumes, ", "), "backup.velero.io/backup-volumes"))
			continue
		}
		held = append(held, name)
	}
	slices.Sort(held)
	return held, warnings
}

// capturedVolumes are the pods of namespace whose volumes backup captured, with those volumes.
func (r Runner) capturedVolumes(ctx context.Context, backup, namespace string) (map[string][]string, error) {
	pvbs, err := velero.List[velerov1.PodVolumeBackup](ctx, r.Velero, velerov1.BackupNameLabel+"="+backup)
	if err != nil {
		return nil, fmt.Errorf("list the PodVolumeBackups of backup %s: %w", backup, err)
	}
	captured := map[string][]string{}
	for _, pvb := range pvbs {
		if pvb.Spec.Pod.Namespace == namespace {
			captured[pvb.Spec.Pod.Name] = append(captured[pvb.Spec.Pod.Name], pvb.Spec.Volume)
		}
	}
	for pod := range captured {
		slices.Sort(captured[pod])
	}
	return captured, nil
}

// holdModifiers are Velero resource modifiers that gate the named pods.
func holdModifiers(pods []string) (string, error) {
	quoted := make([]string, len(pods))
	for i, p := range pods {
		quoted[i] = regexp.QuoteMeta(p)
	}
	gate, err := json.Marshal(map[string]any{"spec": map[string]any{"schedulingGates": []map[string]string{{"name": HoldGate}}}})
	if err != nil {
		return "", err
	}
	modifiers := map[string]any{
		"version": "v1",
		"resourceModifierRules": []any{map[string]any{
			"conditions":   map[string]any{"groupResource": "pods", "resourceNameRegex": "^(" + strings.Join(quoted, "|") + ")$"},
			"mergePatches": []any{map[string]any{"patchData": string(gate)}},
		}},
	}
	out, err := yaml.Marshal(modifiers)
	return string(out), err
}

// holdApplication writes the resource modifiers that gate the held pods, and returns the
// reference the Restore names them by (nil when no pod is held).
func (r Runner) holdApplication(ctx context.Context, restore string, plan *RestorePlan) (*corev1.TypedLocalObjectReference, error) {
	pods := plan.Held
	if len(pods) == 0 {
		return nil, nil
	}
	modifiers, err := holdModifiers(pods)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: holdConfigMapName(restore), Namespace: r.Velero.Namespace,
			Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}},
		Data: map[string]string{"modifiers.yaml": modifiers},
	}
	_, err = r.Kube.CoreV1().ConfigMaps(r.Velero.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) { // an interrupted earlier apply of this restore
		_, err = r.Kube.CoreV1().ConfigMaps(r.Velero.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("write the resource modifiers that hold the application back: %w", err)
	}
	return &corev1.TypedLocalObjectReference{Kind: "ConfigMap", Name: cm.Name}, nil
}

// dropHold deletes a restore's resource modifiers once Velero is done with them.
func (r Runner) dropHold(ctx context.Context, restore string) error {
	err := r.Kube.CoreV1().ConfigMaps(r.Velero.Namespace).Delete(ctx, holdConfigMapName(restore), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the resource modifiers of restore %s: %w", restore, err)
	}
	return nil
}

// ReleaseApplication removes the hold from every pod of namespace that has it, and returns their
// names: they are scheduled and start now.
func (r Runner) ReleaseApplication(ctx context.Context, namespace string) ([]string, error) {
	pods, err := r.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list the pods of %s to release: %w", namespace, err)
	}
	var released []string
	for _, pod := range pods.Items {
		i := slices.IndexFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == HoldGate })
		if i < 0 {
			continue
		}
		// The test guards against a concurrent change of the gates between the list and the patch.
		patch := fmt.Sprintf(`[{"op":"test","path":"/spec/schedulingGates/%d/name","value":%q},{"op":"remove","path":"/spec/schedulingGates/%d"}]`, i, HoldGate, i)
		if _, err := r.Kube.CoreV1().Pods(namespace).Patch(ctx, pod.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return released, fmt.Errorf("release pod %s/%s: %w", namespace, pod.Name, err)
		}
		released = append(released, pod.Name)
	}
	return released, nil
}

// restoreSpecHold is the part of a Restore's spec the hold sets, for adoption checks.
func restoreSpecHold(spec velerov1.RestoreSpec) string {
	if spec.ResourceModifier == nil {
		return ""
	}
	return spec.ResourceModifier.Kind + "/" + spec.ResourceModifier.Name
}
