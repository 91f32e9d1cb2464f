package velero

import (
	"context"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
)

func TestSnapshotBackups(t *testing.T) {
	ctx := context.Background()
	managed := map[string]string{ManagedByLabel: ManagedBy}
	// setUp makes three of the provider's Backups and one without its label (imported).
	setUp := func(t *testing.T) (*Client, *Snapshot, func() (lists, gets int)) {
		c, dyn := newFakeClient(t)
		for _, name := range []string{"a", "b", "c"} {
			if _, err := Create(ctx, c, &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: managed}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := Create(ctx, c, &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "imported"}}); err != nil {
			t.Fatal(err)
		}
		dyn.ClearActions()
		return c, &Snapshot{}, func() (int, int) {
			return kubetest.CountActions(dyn, "list", "backups"), kubetest.CountActions(dyn, "get", "backups")
		}
	}
	read := func(t *testing.T, s *Snapshot, c *Client, name string) *velerov1.Backup {
		t.Helper()
		b, err := s.Backup(ctx, c, name)
		if err != nil || b.Name != name {
			t.Fatalf("Backup %s = %v, %v", name, b, err)
		}
		return b
	}

	t.Run("a refresh of many backups costs one list", func(t *testing.T) {
		c, s, count := setUp(t)
		for _, name := range []string{"a", "b", "c", "a"} {
			read(t, s, c, name)
		}
		if lists, gets := count(); lists != 1 || gets != 0 {
			t.Errorf("%d lists and %d gets, want 1 and 0", lists, gets)
		}
	})

	t.Run("a backup without the provider's label is read directly, a missing one is NotFound", func(t *testing.T) {
		c, s, count := setUp(t)
		read(t, s, c, "a")
		read(t, s, c, "imported")
		if _, err := s.Backup(ctx, c, "gone"); !apierrors.IsNotFound(err) {
			t.Errorf("Backup gone = %v, want NotFound", err)
		}
		if lists, gets := count(); lists != 1 || gets != 2 {
			t.Errorf("%d lists and %d gets, want 1 and 2", lists, gets)
		}
	})

	t.Run("a change is seen after the snapshot's maximum age or Invalidate", func(t *testing.T) {
		c, s, _ := setUp(t)
		read(t, s, c, "a")
		b, err := Get[velerov1.Backup](ctx, c, "a")
		if err != nil {
			t.Fatal(err)
		}
		b.Status.Phase = velerov1.BackupPhaseCompleted
		if _, err := Update(ctx, c, b); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, c, "a").Status.Phase; got != "" {
			t.Errorf("within the snapshot's age: phase %q, want the snapshot's (none)", got)
		}
		age(s, snapshotMaxAge+time.Second)
		if got := read(t, s, c, "a").Status.Phase; got != velerov1.BackupPhaseCompleted {
			t.Errorf("after the snapshot's age: phase %q, want Completed", got)
		}
		b.Status.Phase = velerov1.BackupPhaseDeleting
		if _, err := Update(ctx, c, b); err != nil {
			t.Fatal(err)
		}
		s.Invalidate()
		if got := read(t, s, c, "a").Status.Phase; got != velerov1.BackupPhaseDeleting {
			t.Errorf("after Invalidate: phase %q, want Deleting", got)
		}
	})

	t.Run("without a snapshot every read is a get", func(t *testing.T) {
		c, _, count := setUp(t)
		var none *Snapshot
		read(t, none, c, "a")
		read(t, none, c, "a")
		if lists, gets := count(); lists != 0 || gets != 2 {
			t.Errorf("%d lists and %d gets, want 0 and 2", lists, gets)
		}
	})
}

// A location `velero install` made has no Secret of its own: reading its bucket uses the server's
// key, which is not the provider's (no label, not in the list). A refresh that checks the files
// of many backups there reads that key once.
func TestSnapshotKeepsTheServersKey(t *testing.T) {
	ctx := context.Background()
	l, kube, _ := newFakeLocations(t)
	createInstallLocation(t, l)
	kube.ClearActions()
	for range 3 {
		settings, err := l.readerSettings(ctx, "default")
		if err != nil || settings.AccessKeyID != "SERVER" {
			t.Fatalf("readerSettings = %+v, %v", settings, err)
		}
	}
	if lists, gets := kubetest.CountActions(kube, "list", "secrets"), kubetest.CountActions(kube, "get", "secrets"); lists != 1 || gets != 1 {
		t.Errorf("%d lists and %d gets of Secrets, want 1 and 1", lists, gets)
	}
}

// age makes every list in s look older by d.
func age(s *Snapshot, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locations.taken = s.locations.taken.Add(-d)
	s.secrets.taken = s.secrets.taken.Add(-d)
	s.backups.taken = s.backups.taken.Add(-d)
}
