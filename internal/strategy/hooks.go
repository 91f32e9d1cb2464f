package strategy

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// restoreContainerWait is how long a restore hook may wait for its container
// to start (pulling the image, Velero's restore-wait init container bringing
// the volumes back) before its command runs.
const restoreContainerWait = 5 * time.Minute

// maxReadyWait caps how long a restore script waits for the database to
// accept connections.
const maxReadyWait = 5 * time.Minute

// HookName is the name of the component's hook specs in a Backup or Restore.
func (p *Plan) HookName() string {
	return "styrmin-" + p.Component
}

// HasBackupHook reports whether the plan runs a hook in each pod before its
// volumes are backed up: database kinds dump, action runs backup_command.
func (p *Plan) HasBackupHook() bool { return p != nil && p.Kind.RunsCommands() }

// HasRestoreHook reports whether the plan runs a hook in each restored pod:
// database kinds replay the dump, action runs restore_command if it has one.
func (p *Plan) HasRestoreHook() bool {
	return p != nil && (p.Kind.IsDatabase() || (p.Kind == driverspec.KindAction && len(p.backup.RestoreCommand) > 0))
}

// BackupHooks returns the hook spec for the Backup named backup, of namespace:
// a pre exec hook that dumps the database (database kinds: the dump names
// backup and reports itself on stdout) or runs backup_command (action). It is
// nil for disk, which runs nothing.
func (p *Plan) BackupHooks(namespace, backup string) *velerov1.BackupResourceHookSpec {
	return p.backupHooks(namespace, backup, "")
}

// ScheduleHooks returns the hook spec of the backup template of the Velero
// Schedule named schedule: BackupHooks, but the dump names a run of the
// schedule (ScheduleRunPrefix, then when it ran and a random part), since
// a Schedule names its Backups only when it makes them. The backup's log
// records that run identity as BackupHooks' dumps record the backup's name.
func (p *Plan) ScheduleHooks(namespace, schedule string) *velerov1.BackupResourceHookSpec {
	return p.backupHooks(namespace, "", schedule)
}

// ScheduleRunPrefix starts the identity of every dump made by a backup of the
// Velero Schedule named schedule.
func ScheduleRunPrefix(schedule string) string { return "schedule/" + schedule + "@" }

func (p *Plan) backupHooks(namespace, backup, schedule string) *velerov1.BackupResourceHookSpec {
	command := p.backupCommand(backup, schedule)
	if command == nil {
		return nil
	}
	return &velerov1.BackupResourceHookSpec{
		Name:               p.HookName(),
		IncludedNamespaces: []string{namespace},
		LabelSelector:      p.labelSelector(),
		PreHooks: []velerov1.BackupResourceHook{{
			Exec: &velerov1.ExecHook{
				Container: p.Container,
				Command:   command,
				// Fail skips the pod's volumes, which the check of ExpectedVolumes
				// then reports, rather than capturing a volume without a fresh dump.
				OnError: velerov1.HookErrorModeFail,
				Timeout: metav1.Duration{Duration: p.Timeout},
			},
		}},
	}
}

// RestoreHooks returns the hook spec for a Restore of backup into
// targetNamespace. The dump must be the one backup made, and its marker the
// one backup's log recorded for the pod (recorded, by pod name; see
// RecordedMarker). It is nil for disk and for action without
// restore_command. Velero runs restore hooks only in pods the restore
// creates; its restore-wait init container has brought the volumes back
// before any of them runs.
//
// postgres, mariadb, mongodb: a post-restore exec hook that verifies and
// replays the dump once the container is running. action: a post-restore
// exec hook that runs restore_command.
//
// neo4j (see HasInitRestoreHook): neo4j-admin loads only into a database
// that is not running, so the dumps are loaded by an init container that
// Velero adds to the restored pod (RestoreInitContainer), which runs after
// Velero's restore-wait and before the server's containers start. Velero
// does not wait for init containers nor report their failure, so a
// post-restore exec hook in the server's container follows: it fails,
// and with it the Restore, unless the init container loaded backup's dumps.
// A pod whose init container keeps failing never starts its containers, so
// that hook then fails when its wait times out.
func (p *Plan) RestoreHooks(targetNamespace, backup string, recorded map[string]string) *velerov1.RestoreResourceHookSpec {
	if !p.HasRestoreHook() {
		return nil
	}
	spec := &velerov1.RestoreResourceHookSpec{
		Name:               p.HookName(),
		IncludedNamespaces: []string{targetNamespace},
		LabelSelector:      p.labelSelector(),
	}
	if p.HasInitRestoreHook() {
		spec.PostHooks = []velerov1.RestoreResourceHook{
			{Init: p.restoreInitHook(backup, recorded)},
			{Exec: p.execRestoreHook(shellCommand(p.restoreCheckScript(backup)))},
		}
		return spec
	}
	spec.PostHooks = []velerov1.RestoreResourceHook{{Exec: p.execRestoreHook(p.restoreCommand(backup, recorded))}}
	return spec
}

// execRestoreHook is a post-restore exec hook that runs command in Container.
func (p *Plan) execRestoreHook(command []string) *velerov1.ExecRestoreHook {
	waitForReady := false
	return &velerov1.ExecRestoreHook{
		Container:   p.Container,
		Command:     command,
		OnError:     velerov1.HookErrorModeFail,
		ExecTimeout: metav1.Duration{Duration: p.Timeout},
		// Velero's wait timeout also bounds the command once it has
		// started, so it covers both the container start and the run.
		WaitTimeout:  metav1.Duration{Duration: restoreContainerWait + p.Timeout},
		WaitForReady: &waitForReady,
	}
}

// HasInitRestoreHook reports whether the plan's restore runs in an init
// container that Velero adds to each restored pod (neo4j) rather than in an
// exec hook alone.
func (p *Plan) HasInitRestoreHook() bool { return p != nil && p.Kind == driverspec.KindNeo4j }

// neo4jInitContainerName is the name of the init container that loads
// neo4j's dumps into a restored pod.
const neo4jInitContainerName = "styrmin-neo4j-load"

// neo4jLoadedFile, in the dump directory, names the backup whose dumps the
// init container has loaded. Kubernetes runs a pod's init containers again
// whenever the pod's sandbox is recreated (a node reboot): the init container
// then finds its backup named there and loads nothing, rather than replace
// what the server has written since with the backup.
const neo4jLoadedFile = "neo4j.loaded"

// CheckRestore reports what keeps the plan's restore hooks from working:
// a neo4j plan that does not know the image of the server's container, which
// its init container runs (a plan rebuilt from a backup record that did not
// keep the image). Check it before creating the Restore.
func (p *Plan) CheckRestore() error {
	if p.HasInitRestoreHook() && p.server.Image == "" {
		return fmt.Errorf("component %q: the restore loads the neo4j dumps in an init container that runs the image of container %q, "+
			"and that image is not known (the pod it was planned from names none: the backup did not record it)", p.Component, p.Container)
	}
	return nil
}

// RestoreInitContainer is the init container that loads the neo4j dumps of
// backup (whose log recorded the markers recorded, by pod) into a restored
// pod before its server starts: the image, image pull policy, volume mounts,
// security context and resources of the server's container, running the
// load script. It thus runs as the same user as the server's container and
// its exec hooks: the user that wrote the dumps, and so can read them (the
// dumps are private to that user). In the official image, which starts as
// root and switches to the neo4j user (uid 7474) itself, that is root; the
// image's entrypoint then hands the loaded files to neo4j when the server
// starts, as it does with any file in /data that neo4j cannot write. The
// container has none of the server's environment: the load uses the image's
// default configuration (the official image keeps its data in /data) and
// reads the default database's name from the info file the dump wrote. It
// fails for a plan that is not neo4j, or whose image is unknown (CheckRestore).
func (p *Plan) RestoreInitContainer(backup string, recorded map[string]string) (corev1.Container, error) {
	if !p.HasInitRestoreHook() {
		return corev1.Container{}, fmt.Errorf("component %q: kind %s restores in an exec hook, not an init container", p.componentName(), p.kindName())
	}
	if err := p.CheckRestore(); err != nil {
		return corev1.Container{}, err
	}
	return p.initContainer(backup, recorded), nil
}

func (p *Plan) initContainer(backup string, recorded map[string]string) corev1.Container {
	server := p.server.DeepCopy()
	return corev1.Container{
		Name:            neo4jInitContainerName,
		Image:           server.Image,
		ImagePullPolicy: server.ImagePullPolicy,
		Command:         shellCommand(p.restoreScript(backup, recorded)),
		VolumeMounts:    server.VolumeMounts,
		SecurityContext: server.SecurityContext,
		Resources:       server.Resources,
	}
}

// restoreInitHook is the init hook that adds initContainer to each restored
// pod. Velero v1.18 does not enforce its timeout (it does not wait for init
// containers): the exec hook that checks the load bounds the wait.
func (p *Plan) restoreInitHook(backup string, recorded map[string]string) *velerov1.InitRestoreHook {
	return &velerov1.InitRestoreHook{
		InitContainers: []runtime.RawExtension{{Raw: canonicalJSON(p.initContainer(backup, recorded))}},
		Timeout:        metav1.Duration{Duration: p.Timeout},
	}
}

// canonicalJSON is v as JSON with every object's keys sorted: the form the
// API server gives back for a field it keeps as raw JSON, so that a Restore
// read back compares equal to the one made.
func canonicalJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err == nil {
		var generic any
		if err = json.Unmarshal(data, &generic); err == nil {
			data, err = json.Marshal(generic)
		}
	}
	if err != nil {
		// A corev1.Container always marshals: an error is a bug here.
		panic("strategy: marshalling an init container: " + err.Error())
	}
	return data
}

func (p *Plan) componentName() string {
	if p == nil {
		return ""
	}
	return p.Component
}

func (p *Plan) kindName() string {
	if p == nil {
		return "(none)"
	}
	return string(p.Kind)
}

func (p *Plan) backupCommand(backup, schedule string) []string {
	if p == nil {
		return nil
	}
	switch {
	case p.Kind.IsDatabase():
		return shellCommand(p.dumpScript(backup, schedule))
	case p.Kind == driverspec.KindAction:
		return append([]string(nil), p.backup.BackupCommand...)
	}
	return nil
}

func (p *Plan) restoreCommand(backup string, recorded map[string]string) []string {
	if p == nil {
		return nil
	}
	switch {
	case p.Kind.IsDatabase():
		return shellCommand(p.restoreScript(backup, recorded))
	case p.Kind == driverspec.KindAction && len(p.backup.RestoreCommand) > 0:
		return append([]string(nil), p.backup.RestoreCommand...)
	}
	return nil
}

func (p *Plan) labelSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: maps.Clone(p.Selector)}
}

// shellCommand runs script the way every exec hook must: Velero does not run
// command in a shell.
func shellCommand(script string) []string {
	return []string{"/bin/sh", "-c", script}
}

// readyWait is how long a restore script waits for the database: half the
// command's timeout, leaving the other half to the restore, at most
// maxReadyWait and at least a second.
func (p *Plan) readyWait() time.Duration {
	wait := min(p.Timeout/2, maxReadyWait)
	return max(wait.Round(time.Second), time.Second)
}
