package strategy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MismatchError is a component that cannot be backed up as its driver file
// says, found by checking it against the live pods before any backup starts.
type MismatchError struct {
	// Component is the component's name.
	Component string
	// Pod is the pod at fault; empty when no single pod is (no pod Running,
	// settings wrong whatever the pods).
	Pod string
	// Field is the driver field to fix, relative to the component, e.g.
	// "backup.container" or "identifier.label"; empty when the pod, not the
	// driver file, must change.
	Field string
	// Message says what is wrong and what exists instead.
	Message string
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "component %q", e.Component)
	if e.Pod != "" {
		fmt.Fprintf(&b, ", pod %q", e.Pod)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	return b.String()
}

// dumpTarget is where a database kind's dump runs in one pod.
type dumpTarget struct {
	pod       string
	container string
	mountPath string
	// spec is the container's spec in the pod.
	spec *corev1.Container
}

// resolveDumpTarget finds the container that runs the dump in pod and where
// it mounts the dump volume. Without backup.container it is the container
// that mounts the dump volume; if several do, the one named like the kind.
func resolveDumpTarget(c Component, pod corev1.Pod) (dumpTarget, error) {
	b := c.Backup
	volume := b.Volumes[0]
	fail := func(field, format string, args ...any) (dumpTarget, error) {
		return dumpTarget{}, &MismatchError{Component: c.Name, Pod: pod.Name, Field: field, Message: fmt.Sprintf(format, args...)}
	}

	container := b.Container
	if container == "" {
		var mounting []string
		for _, ctr := range pod.Spec.Containers {
			if _, ok := writableMount(ctr, volume); ok {
				mounting = append(mounting, ctr.Name)
			}
		}
		switch {
		case len(mounting) == 1:
			container = mounting[0]
		case len(mounting) == 0:
			return fail("backup.volume", "no container of the pod mounts the dump volume %q writable, so no container can write the dump; %s",
				volume, describeMounts(pod))
		default:
			for _, name := range mounting {
				if name == string(b.Kind) {
					container = name
				}
			}
			if container == "" {
				return fail("backup.container", "containers %s all mount the dump volume %q and none is named %q: set backup.container to the one that runs %s",
					strings.Join(mounting, ", "), volume, b.Kind, b.Kind)
			}
		}
	}

	ctr := findContainer(pod, container)
	mountPath, ok := writableMount(*ctr, volume)
	if !ok {
		if _, readOnly := readOnlyMount(*ctr, volume); readOnly {
			return fail("backup.volume", "container %q mounts the dump volume %q read-only: the dump cannot be written", container, volume)
		}
		return fail("backup.volume", "container %q does not mount the dump volume %q, so the dump cannot be written to it; %s",
			container, volume, describeMounts(pod))
	}
	return dumpTarget{pod: pod.Name, container: container, mountPath: mountPath, spec: ctr}, nil
}

// sameTarget checks that a pod runs the dump where the first pod does: one
// hook, with one container and one path, serves every pod of the component.
func sameTarget(c Component, first, next dumpTarget) error {
	if first.container != next.container {
		return &MismatchError{Component: c.Name, Pod: next.pod, Field: "backup.container", Message: fmt.Sprintf(
			"the component's pods disagree: the dump would run in container %q in pod %q but in %q here; one hook serves every pod the selector matches, so set backup.container or make the pods alike",
			first.container, first.pod, next.container)}
	}
	if first.mountPath != next.mountPath {
		return &MismatchError{Component: c.Name, Pod: next.pod, Field: "backup.volume", Message: fmt.Sprintf(
			"the component's pods disagree: container %q mounts the dump volume at %s in pod %q but at %s here; one hook serves every pod the selector matches",
			first.container, first.mountPath, first.pod, next.mountPath)}
	}
	return nil
}

// writableMount returns where ctr mounts volume writable.
func writableMount(ctr corev1.Container, volume string) (string, bool) {
	for _, m := range ctr.VolumeMounts {
		if m.Name == volume && !m.ReadOnly {
			return m.MountPath, true
		}
	}
	return "", false
}

func readOnlyMount(ctr corev1.Container, volume string) (string, bool) {
	for _, m := range ctr.VolumeMounts {
		if m.Name == volume && m.ReadOnly {
			return m.MountPath, true
		}
	}
	return "", false
}

// describeMounts lists, per container, the volumes it mounts and where.
func describeMounts(pod corev1.Pod) string {
	parts := make([]string, 0, len(pod.Spec.Containers))
	for _, ctr := range pod.Spec.Containers {
		if len(ctr.VolumeMounts) == 0 {
			parts = append(parts, fmt.Sprintf("container %q mounts nothing", ctr.Name))
			continue
		}
		mounts := make([]string, len(ctr.VolumeMounts))
		for i, m := range ctr.VolumeMounts {
			mounts[i] = m.Name + " at " + m.MountPath
			if m.ReadOnly {
				mounts[i] += " (read-only)"
			}
		}
		parts = append(parts, fmt.Sprintf("container %q mounts %s", ctr.Name, strings.Join(mounts, ", ")))
	}
	return strings.Join(parts, "; ")
}
