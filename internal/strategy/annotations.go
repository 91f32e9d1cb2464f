package strategy

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Velero runs a pod's own hook annotations instead of the hooks of a Backup or Restore for that
// pod: it reads the annotations first and falls back to the spec's hooks only when there are none
// (internal/hook/item_hook_handler.go). On a component whose strategy runs a hook, such an
// annotation silently replaces the dump, and the backup captures whatever dump the volume already
// held. These are the annotations that do that, by the hook they replace.
var overridingAnnotations = map[string][]string{
	"backup": {
		"pre.hook.backup.velero.io/command",
		"hook.backup.velero.io/command", // the legacy spelling of the pre hook
	},
	"restore": {"post.hook.restore.velero.io/command"},
	// Velero adds the init container an annotation names instead of those of
	// the Restore's init hooks (it needs only the image to do so).
	"restore-init": {"init.hook.restore.velero.io/container-image"},
}

// checkHookAnnotations refuses a pod that carries an annotation replacing one of the plan's hooks.
func (p *Plan) checkHookAnnotations(pod corev1.Pod) error {
	var found []string
	if p.HasBackupHook() {
		found = append(found, annotated(pod, overridingAnnotations["backup"])...)
	}
	if p.HasRestoreHook() {
		// Restored pods carry the annotations of the pods backed up.
		found = append(found, annotated(pod, overridingAnnotations["restore"])...)
	}
	if p.HasInitRestoreHook() {
		found = append(found, annotated(pod, overridingAnnotations["restore-init"])...)
	}
	if len(found) == 0 {
		return nil
	}
	removal := make([]string, len(found))
	for i, key := range found {
		removal[i] = key + "-"
	}
	return &MismatchError{
		Component: p.Component, Pod: pod.Name,
		Message: fmt.Sprintf("the pod has the Velero hook annotation %s: Velero runs a pod's own hook annotations instead of "+
			"the hooks this backup gives it, so the %s strategy's hook would not run and the backup would hold a stale or no dump; "+
			"remove it from the pod template (or, for a test: kubectl annotate pod %s %s)",
			strings.Join(quoteAll(found), ", "), p.Kind, pod.Name, strings.Join(removal, " ")),
	}
}

func annotated(pod corev1.Pod, keys []string) []string {
	var found []string
	for _, key := range keys {
		if _, ok := pod.Annotations[key]; ok {
			found = append(found, key)
		}
	}
	slices.Sort(found)
	return found
}

func quoteAll(values []string) []string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return quoted
}
