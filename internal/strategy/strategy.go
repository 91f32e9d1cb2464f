package strategy

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// BackupVolumesAnnotation is the pod annotation that opts pod volumes into
// Velero's file-system backup: a comma-separated list of volume names, which
// must include Plan.Volumes.
const BackupVolumesAnnotation = "backup.velero.io/backup-volumes"

// dumpSubdir is the directory inside the dump volume that the dumps go to, so
// that they never mix with whatever else the volume holds.
const dumpSubdir = "styrmin"

// Component is a driver file's component as driverspec parsed it: what Resolve checks against
// the live pods. (An alias, so that strategies and their callers share one type.)
type Component = driverspec.Component

// Plan is what backing up and restoring one component takes. Resolve builds
// it; its methods derive the Velero hook specs from it.
type Plan struct {
	// Component is the component's name.
	Component string
	// Kind is the backup strategy.
	Kind driverspec.Kind
	// Selector is the component's label selector.
	Selector map[string]string
	// Container runs the dump or the commands: resolved for database kinds,
	// as given for action, empty for disk.
	Container string
	// Pods are the names of the Running pods the selector matches, sorted.
	Pods []string
	// Volumes are the pod volumes to back up, in order: what the pods'
	// BackupVolumesAnnotation must list.
	Volumes []string
	// DumpDir is the dump volume's mount path in Container (database kinds).
	// The dumps go to its directory "styrmin".
	DumpDir string
	// DumpFiles are the full paths of the dump files a successful dump
	// leaves, in the order they are written (database kinds).
	DumpFiles []string
	// Marker is the full path of the "dump complete" marker: sha256sum's
	// output for every file in DumpFiles, written last (database kinds).
	Marker string
	// Timeout bounds each hook command.
	Timeout time.Duration
	// Warnings are things the caller should show but that do not stop the
	// backup: pods that are not Running, neo4j's downtime and editions,
	// mongodb's per-database dumps without the oplog.
	Warnings []string

	backup driverspec.Backup
	// server is Container's spec in the first pod (database kinds): its
	// image, mounts, security context and resources are those of neo4j's
	// restore init container.
	server corev1.Container
	// dumps are the database dumps, extraFiles the other files the marker
	// lists; names relative to the dump directory.
	dumps      []dumpFile
	extraFiles []string
}

// ExpectedVolume is one pod volume that a successful capture must include: a
// PodVolumeBackup for Pod and Volume, labelled with the backup's name, in
// phase Completed.
type ExpectedVolume struct {
	Pod    string
	Volume string
}

// ExpectedVolumes lists every volume of every pod, in the order of Pods and
// Volumes: each must have a Completed PodVolumeBackup. It is derived from Pods
// on every call, so it follows a caller that replaces Pods (a plan rebuilt
// from what a Backup recorded).
func (p *Plan) ExpectedVolumes() []ExpectedVolume {
	if p == nil {
		return nil
	}
	var out []ExpectedVolume
	for _, pod := range p.Pods {
		for _, volume := range p.Volumes {
			out = append(out, ExpectedVolume{Pod: pod, Volume: volume})
		}
	}
	return out
}

// Resolve is the preflight: it checks component c against pods, the live
// pods of its namespace (pods its selector does not match are ignored), and
// returns its plan. A component whose backup is disabled yields a nil Plan
// and a nil error. Any problem is returned as a *MismatchError; when several
// pods are wrong, the first in name order is reported.
func Resolve(c Component, pods []corev1.Pod) (*Plan, error) {
	b := c.Backup
	if !b.Enabled {
		return nil, nil
	}
	if err := checkComponent(c); err != nil {
		return nil, err
	}

	selector := labels.SelectorFromSet(c.Selector)
	var matched, running []corev1.Pod
	for _, pod := range pods {
		if !selector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		matched = append(matched, pod)
		if isRunning(pod) {
			running = append(running, pod)
		}
	}
	byName := func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(matched, byName)
	slices.SortFunc(running, byName)
	if len(running) == 0 {
		return nil, noRunningPod(c, selector, matched)
	}

	timeout := b.Timeout
	if timeout <= 0 && b.Kind.RunsCommands() {
		timeout = driverspec.DefaultTimeout
	}
	plan := &Plan{
		Component: c.Name,
		Kind:      b.Kind,
		Selector:  maps.Clone(c.Selector),
		Container: b.Container,
		Volumes:   slices.Clone(b.Volumes),
		Timeout:   timeout,
		backup:    b,
	}
	for _, pod := range matched {
		if !isRunning(pod) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf(
				"pod %q is %s: Velero skips the volumes of pods that are not Running", pod.Name, podState(pod)))
		}
	}

	var first *dumpTarget
	for _, pod := range running {
		for i, volume := range b.Volumes {
			if !hasVolume(pod, volume) {
				return nil, &MismatchError{
					Component: c.Name, Pod: pod.Name, Field: volumeField(b, i),
					Message: fmt.Sprintf("the pod has no volume %q; %s (name the entry under volumes: in the pod template, not the PVC)",
						volume, listVolumes(pod)),
				}
			}
		}
		if b.Container != "" && findContainer(pod, b.Container) == nil {
			return nil, &MismatchError{
				Component: c.Name, Pod: pod.Name, Field: "backup.container",
				Message: fmt.Sprintf("the pod has no container %q; %s", b.Container, listContainers(pod)),
			}
		}
		if err := plan.checkHookAnnotations(pod); err != nil {
			return nil, err
		}
		if b.Kind.IsDatabase() {
			target, err := resolveDumpTarget(c, pod)
			if err != nil {
				return nil, err
			}
			if first == nil {
				first = &target
			} else if err := sameTarget(c, *first, target); err != nil {
				return nil, err
			}
		}
		plan.Pods = append(plan.Pods, pod.Name)
	}

	if first != nil {
		plan.Container = first.container
		plan.DumpDir = first.mountPath
		plan.server = *first.spec.DeepCopy()
		plan.dumps, plan.extraFiles = dumpLayout(b)
		dir := plan.dumpDir()
		for _, name := range plan.fileNames() {
			plan.DumpFiles = append(plan.DumpFiles, path.Join(dir, name))
		}
		plan.Marker = path.Join(dir, markerName(b.Kind))
	}
	switch {
	case b.Kind == driverspec.KindNeo4j:
		plan.Warnings = append(plan.Warnings, neo4jDowntimeWarning)
		if image := plan.server.Image; image != "" && !strings.Contains(strings.ToLower(image), "enterprise") {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf(neo4jCommunityImageWarning, image))
		}
	case b.Kind == driverspec.KindMongoDB && len(b.Databases) > 0:
		plan.Warnings = append(plan.Warnings, mongoDatabasesWarning)
	}
	return plan, nil
}

// neo4jDowntimeWarning is in every neo4j plan: what the dump and the load
// do to the server.
const neo4jDowntimeWarning = "neo4j: the dump needs Enterprise edition and takes each database it dumps offline: " +
	"it stops the database (STOP DATABASE through cypher-shell, logging in with NEO4J_AUTH), dumps it and starts it again, " +
	"so the database is unavailable while it is dumped; the system database, which cannot be stopped, is backed up online " +
	"(neo4j-admin backup, Enterprise's backup server on localhost:6362). Community edition can dump only a stopped DBMS, " +
	"which a hook running in the server's own container cannot stop: there the dump fails. " +
	"A restore loads the dumps in an init container of the restored pod, before the server starts"

// neo4jCommunityImageWarning is in a neo4j plan whose image is not named
// like an Enterprise image; %s is the image.
const neo4jCommunityImageWarning = "neo4j: image %q is not named like an Enterprise image (the official ones have " +
	"\"enterprise\" in their tag): if it runs Community edition, every backup of this component fails, because " +
	"Community edition cannot dump a running database"

// mongoDatabasesWarning is in a mongodb plan that lists databases.
const mongoDatabasesWarning = "mongodb: backup.databases dumps each database on its own, which mongodump can do only " +
	"without --oplog: on a replica set the dumps are not a point-in-time snapshot (writes during the dump may be " +
	"half in it); leave databases unset for one dump of the whole server with the oplog"

// dumpDir is the directory the dump files go to.
func (p *Plan) dumpDir() string {
	return path.Join(p.DumpDir, dumpSubdir)
}

// checkComponent rejects settings that driverspec.Parse never produces, so a
// hand-built Component cannot yield a plan that silently does nothing.
func checkComponent(c Component) error {
	b := c.Backup
	bad := func(field, format string, args ...any) error {
		return &MismatchError{Component: c.Name, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case !b.Kind.Valid():
		return bad("backup.kind", "kind %q is not one of %v", b.Kind, driverspec.Kinds())
	case len(c.Selector) == 0:
		return bad("identifier.label", "the component has no label selector: it would match every pod of the namespace")
	case b.Kind == driverspec.KindDisk && len(b.Volumes) == 0:
		return bad("backup.volumes", "kind disk names no volume: Velero's opt-in file-system backup would capture nothing")
	case b.Kind.IsDatabase() && len(b.Volumes) != 1:
		return bad("backup.volume", "kind %s needs exactly one dump volume, not %d", b.Kind, len(b.Volumes))
	case b.Kind == driverspec.KindAction && b.Container == "":
		return bad("backup.container", "kind action needs the container its commands run in")
	case b.Kind == driverspec.KindAction && len(b.BackupCommand) == 0:
		return bad("backup.backup_command", "kind action needs a backup_command")
	}
	return nil
}

// isRunning reports whether Velero will back up the pod's volumes and run its
// hooks: it is Running and not on its way out.
func isRunning(pod corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil
}

func podState(pod corev1.Pod) string {
	phase := string(pod.Status.Phase)
	if phase == "" {
		phase = "without a phase"
	}
	if pod.DeletionTimestamp != nil {
		phase += ", terminating"
	}
	return phase
}

// noRunningPod explains why no pod can be backed up; matched is sorted.
func noRunningPod(c Component, selector labels.Selector, matched []corev1.Pod) error {
	err := &MismatchError{Component: c.Name, Field: "identifier.label"}
	if len(matched) == 0 {
		err.Message = fmt.Sprintf("selector %s matches no pod: is the application deployed in this namespace, and are the labels those of its pod template?", selector)
		return err
	}
	states := make([]string, len(matched))
	for i, pod := range matched {
		states[i] = fmt.Sprintf("%s (%s)", pod.Name, podState(pod))
	}
	err.Message = fmt.Sprintf("selector %s matches %d pod(s), none of them Running: %s; Velero backs up the volumes of Running pods only",
		selector, len(matched), strings.Join(states, ", "))
	return err
}

func volumeField(b driverspec.Backup, i int) string {
	if len(b.Volumes) == 1 {
		return "backup.volume"
	}
	return fmt.Sprintf("backup.volumes[%d]", i)
}

func hasVolume(pod corev1.Pod, name string) bool {
	return slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
}

func findContainer(pod corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func listVolumes(pod corev1.Pod) string {
	if len(pod.Spec.Volumes) == 0 {
		return "it has no volumes"
	}
	names := make([]string, len(pod.Spec.Volumes))
	for i, v := range pod.Spec.Volumes {
		names[i] = v.Name
	}
	return "its volumes are: " + strings.Join(names, ", ")
}

func listContainers(pod corev1.Pod) string {
	names := make([]string, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		names[i] = c.Name
	}
	return "its containers are: " + strings.Join(names, ", ")
}
