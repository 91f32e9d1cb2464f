package backups

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// BackupQuery selects the backups of one namespace in one location. The zero value of every
// optional field selects everything.
type BackupQuery struct {
	Location  string
	Namespace string
	Phase     string            // only backups in this phase
	Schedule  string            // only backups a Velero Schedule of this name made
	Labels    map[string]string // only backups with every one of these labels
	Since     time.Time         // only backups started (or, not started yet, created) at or after this
	Finished  bool              // only backups Velero has finished
	Limit     int               // only the newest Limit backups (0: all)
}

// FoundBackup is one backup a query found and what its proof says.
type FoundBackup struct {
	Backup *velerov1.Backup
	// Verified is the proof of styrmin_backup, made again from the Velero objects and the bucket:
	// Completed, every hook and volume captured, every dump reported in the log, every file there.
	Verified bool
	// Problem says why it is not verified ("" when it is).
	Problem string
}

// Started is when Velero started the backup, or when it was created if it has not started.
func (f FoundBackup) Started() time.Time {
	if t := f.Backup.Status.StartTimestamp; t != nil {
		return t.Time
	}
	return f.Backup.CreationTimestamp.Time
}

// FindBackups lists the backups a query selects, newest first, each proven for components as
// styrmin_backup proves a backup it made: the plans come from what the backup recorded, or
// captured, of its pods (BackupPlans), so a backup synced from another cluster, or made by a Velero
// Schedule or by hand, is proven as well as one made here. A backup is
// found in every phase but Deleting (Velero is removing it: it can no longer be restored).
func (r Runner) FindBackups(ctx context.Context, q BackupQuery, components []driverspec.Component) ([]FoundBackup, error) {
	selector := maps.Clone(q.Labels)
	if q.Schedule != "" {
		if selector == nil {
			selector = map[string]string{}
		}
		selector[velerov1.ScheduleNameLabel] = q.Schedule
	}
	all, err := velero.List[velerov1.Backup](ctx, r.Velero, labels.SelectorFromSet(selector).String())
	if err != nil {
		return nil, fmt.Errorf("list the Velero backups: %w", err)
	}
	var found []FoundBackup
	for i := range all {
		f := FoundBackup{Backup: &all[i]}
		b := f.Backup
		switch {
		case b.Spec.StorageLocation != q.Location,
			!slices.Equal(b.Spec.IncludedNamespaces, []string{q.Namespace}),
			b.Status.Phase == velerov1.BackupPhaseDeleting,
			q.Phase != "" && PhaseOrNew(string(b.Status.Phase)) != q.Phase,
			q.Finished && !BackupFinished(b.Status.Phase),
			f.Started().Before(q.Since):
			continue
		}
		found = append(found, f)
	}
	slices.SortFunc(found, func(a, b FoundBackup) int {
		return cmp.Or(b.Started().Compare(a.Started()), strings.Compare(a.Backup.Name, b.Backup.Name))
	})
	if q.Limit > 0 && len(found) > q.Limit {
		found = found[:q.Limit]
	}
	for i := range found {
		found[i].Problem = r.proveFound(ctx, found[i].Backup, components)
		found[i].Verified = found[i].Problem == ""
	}
	return found, nil
}

// proveFound returns why backup b is not proven for components, or "".
func (r Runner) proveFound(ctx context.Context, b *velerov1.Backup, components []driverspec.Component) string {
	if !BackupFinished(b.Status.Phase) {
		return fmt.Sprintf("Velero has not finished it (%s)", PhaseOrNew(string(b.Status.Phase)))
	}
	if b.Status.Phase != velerov1.BackupPhaseCompleted {
		return fmt.Sprintf("Velero finished it as %s (%d errors)%s%s", b.Status.Phase, b.Status.Errors,
			validationErrors(b.Status.ValidationErrors), failureReason(b.Status.FailureReason))
	}
	missing, err := r.MissingFiles(ctx, b)
	switch {
	case err != nil:
		return fmt.Sprintf("its files in the bucket cannot be checked: %v", err)
	case len(missing) > 0:
		return errors.Join(missing...).Error()
	}
	plans, err := r.BackupPlans(ctx, b, components)
	if err != nil {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	if _, err := r.verifyBackup(ctx, b, plans, false); err != nil {
		if failed := (*FailedError)(nil); errors.As(err, &failed) {
			return strings.Join(failed.Problems, "; ")
		}
		return err.Error()
	}
	return ""
}

// findPollInterval is how often FindUntilVerified looks again; a variable for tests.
var findPollInterval = 5 * time.Second

// FindUntilVerified is FindBackups, repeated while none of the backups found is verified, for up
// to wait: a location created in the same apply brings its backups in through Velero's backup
// sync only after Velero has validated it. It returns the last search's backups.
func (r Runner) FindUntilVerified(ctx context.Context, q BackupQuery, components []driverspec.Component, wait time.Duration) ([]FoundBackup, error) {
	deadline := time.Now().Add(wait)
	for {
		found, err := r.FindBackups(ctx, q, components)
		if err != nil || slices.ContainsFunc(found, func(f FoundBackup) bool { return f.Verified }) || time.Now().Add(findPollInterval).After(deadline) {
			return found, err
		}
		select {
		case <-ctx.Done():
			return found, ctx.Err()
		case <-time.After(findPollInterval):
		}
	}
}
