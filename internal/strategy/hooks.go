package strategy

import (
	"maps"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	command := p.backupCommand(backup)
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
// targetNamespace: a post-restore exec hook that verifies and replays the dump
// (database kinds) or runs restore_command (action). The dump must be the one
// backup made, and its marker the one backup's log recorded for the pod
// (recorded, by pod name; see RecordedMarker). It is nil for disk and for action
// without restore_command. Velero runs it only in pods the restore creates,
// once the container is running; Velero's restore-wait init container has
// brought the volumes back by then.
func (p *Plan) RestoreHooks(targetNamespace, backup string, recorded map[string]string) *velerov1.RestoreResourceHookSpec {
	command := p.restoreCommand(backup, recorded)
	if command == nil {
		return nil
	}
	waitForReady := false
	return &velerov1.RestoreResourceHookSpec{
		Name:               p.HookName(),
		IncludedNamespaces: []string{targetNamespace},
		LabelSelector:      p.labelSelector(),
		PostHooks: []velerov1.RestoreResourceHook{{
			Exec: &velerov1.ExecRestoreHook{
				Container:   p.Container,
				Command:     command,
				OnError:     velerov1.HookErrorModeFail,
				ExecTimeout: metav1.Duration{Duration: p.Timeout},
				// Velero's wait timeout also bounds the command once it has
				// started, so it covers both the container start and the run.
				WaitTimeout:  metav1.Duration{Duration: restoreContainerWait + p.Timeout},
				WaitForReady: &waitForReady,
			},
		}},
	}
}

func (p *Plan) backupCommand(backup string) []string {
	if p == nil {
		return nil
	}
	switch {
	case p.Kind.IsDatabase():
		return shellCommand(p.dumpScript(backup))
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
