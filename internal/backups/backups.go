// Package backups runs strategy-driven Velero backups and restores of a deployment and proves
// what they captured: preflight against the live pods, the Velero objects with every hook, a
// wait by watching, and a verification that reads the reasons for any failure from the
// bucket. It knows nothing of Terraform.
package backups

import (
	"k8s.io/client-go/kubernetes"

	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// RecordAnnotation holds, on a Backup, what each component's plan was at backup time, so a
// restore (possibly in another cluster, after backup sync) knows the containers and dump files
// without the source pods.
const RecordAnnotation = "styrmin.io/components"

// Runner runs backups and restores in one cluster.
type Runner struct {
	Kube      kubernetes.Interface
	Velero    *velero.Client
	Locations velero.Locations
	// Exec runs commands in pods: the restore removes Velero's markers from the volumes it filled.
	Exec Executor
}

// PhaseOrNew names a phase Velero has not set yet "New", as Velero's own CLI does.
func PhaseOrNew(phase string) string {
	if phase == "" {
		return "New"
	}
	return phase
}

func boolPtr(b bool) *bool { return &b }
