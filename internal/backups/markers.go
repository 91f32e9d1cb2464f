package backups

import (
	"context"
	"fmt"
	"path"
	"slices"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Velero's file-system restore writes a marker, .velero/<restore UID>, at the root of every volume
// it fills; its restore-wait init container waits for it and then tries to remove it, which fails
// when that container does not run as the volume's owner (it does not, by default). A marker left
// there makes a restored volume differ from the backup (and a .velero directory in a MySQL data
// directory shows up as a database), so once the restore is verified the provider removes it
// through the pod's own container.

// Executor runs a command in a container, as kubectl exec does, and returns its stdout.
type Executor interface {
	Exec(ctx context.Context, namespace, pod, container string, command ...string) (string, error)
}

// removeRestoreMarkers removes Velero's marker from every volume the restore filled, and returns,
// by component, the volumes where it could not (the reason included).
func (r Runner) removeRestoreMarkers(ctx context.Context, pvrs []velerov1.PodVolumeRestore, plan *RestorePlan) map[string][]string {
	left := map[string][]string{}
	componentOf := func(pod, volume string) *string {
		for _, p := range plan.Plans {
			if slices.Contains(p.Pods, pod) && slices.Contains(p.Volumes, volume) {
				return &p.Component
			}
		}
		return nil
	}
	for _, pvr := range pvrs {
		if pvr.Status.Phase != velerov1.PodVolumeRestorePhaseCompleted {
			continue
		}
		// The restore keeps pod names; the backup's plans name them too.
		component := componentOf(pvr.Spec.Pod.Name, pvr.Spec.Volume)
		if component == nil {
			continue
		}
		if err := r.removeMarker(ctx, pvr.Spec.Pod.Namespace, pvr.Spec.Pod.Name, pvr.Spec.Volume); err != nil {
			left[*component] = append(left[*component], fmt.Sprintf("volume %s of pod %s: %v", pvr.Spec.Volume, pvr.Spec.Pod.Name, err))
		}
	}
	return left
}

func (r Runner) removeMarker(ctx context.Context, namespace, podName, volume string) error {
	if r.Exec == nil {
		return fmt.Errorf("no way to run a command in the pod")
	}
	pod, err := r.Kube.CoreV1().Pods(namespace).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	container, mount, ok := volumeRoot(pod, volume)
	if !ok {
		return fmt.Errorf("no container mounts the volume's root writable (subPath or readOnly mounts only): remove .velero from it by hand")
	}
	_, err = r.Exec.Exec(ctx, namespace, podName, container, "rm", "-rf", "--", path.Join(mount, ".velero"))
	return err
}

// volumeRoot finds a running container that mounts the volume's root writable.
func volumeRoot(pod *corev1.Pod, volume string) (container, mountPath string, ok bool) {
	for _, c := range pod.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == volume && m.SubPath == "" && m.SubPathExpr == "" && !m.ReadOnly {
				return c.Name, m.MountPath, true
			}
		}
	}
	return "", "", false
}
