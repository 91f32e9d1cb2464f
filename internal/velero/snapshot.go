package velero

import (
	"context"
	"sync"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Snapshot serves the reads of one refresh from one list per kind instead of one request per
// resource: the locations, the provider's credential Secrets and the provider's Backups. A
// refresh of N resources then costs a constant number of requests. It is short-lived by design:
// Terraform starts a provider process per command. An object missing from a list (made since,
// or without the provider's label) is read directly and, for Secrets, kept for the next read
// (a location `velero install` made uses the server's key, which every such read needs).
// A nil *Snapshot reads everything directly.
type Snapshot struct {
	mu        sync.Mutex
	locations listing[velerov1.BackupStorageLocation]
	secrets   listing[corev1.Secret]
	backups   listing[velerov1.Backup]
}

// snapshotMaxAge bounds how stale a snapshot read may be within one long command.
const snapshotMaxAge = 30 * time.Second

// listing is one list of a kind by name, and when it was taken.
type listing[T any] struct {
	taken  time.Time
	byName map[string]*T
}

// lookup returns the named object, listing first when the listing is empty or older than
// snapshotMaxAge; found reports whether the listing holds it.
func (l *listing[T]) lookup(name string, list func() ([]T, error), nameOf func(*T) string) (obj *T, found bool, err error) {
	if l.byName == nil || time.Since(l.taken) > snapshotMaxAge {
		taken := time.Now()
		items, err := list()
		if err != nil {
			return nil, false, err
		}
		l.byName = make(map[string]*T, len(items))
		for i := range items {
			l.byName[nameOf(&items[i])] = &items[i]
		}
		l.taken = taken
	}
	obj, found = l.byName[name]
	return obj, found, nil
}

// Invalidate drops the snapshot; the next read lists again.
func (s *Snapshot) Invalidate() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.locations, s.secrets, s.backups = listing[velerov1.BackupStorageLocation]{}, listing[corev1.Secret]{}, listing[velerov1.Backup]{}
	s.mu.Unlock()
}

// location returns the BSL named from the snapshot; found false means the caller reads it directly.
func (s *Snapshot) location(ctx context.Context, l Locations, name string) (*velerov1.BackupStorageLocation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locations.lookup(name, func() ([]velerov1.BackupStorageLocation, error) {
		return List[velerov1.BackupStorageLocation](ctx, l.Velero, "")
	}, func(b *velerov1.BackupStorageLocation) string { return b.Name })
}

// secret returns the Secret named in Velero's namespace, from the snapshot or read directly.
func (s *Snapshot) secret(ctx context.Context, l Locations, name string) (*corev1.Secret, error) {
	secrets := l.Kube.CoreV1().Secrets(l.Velero.Namespace)
	if s == nil {
		return secrets.Get(ctx, name, metav1.GetOptions{})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, found, err := s.secrets.lookup(name, func() ([]corev1.Secret, error) {
		list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}, func(s *corev1.Secret) string { return s.Name })
	if err != nil || found {
		return secret, err
	}
	secret, err = secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		s.secrets.byName[name] = secret
	}
	return secret, err
}

// Backup reads the Backup named, from the snapshot of the provider's Backups when it holds it.
func (s *Snapshot) Backup(ctx context.Context, c *Client, name string) (*velerov1.Backup, error) {
	if s != nil {
		s.mu.Lock()
		backup, found, err := s.backups.lookup(name, func() ([]velerov1.Backup, error) {
			return List[velerov1.Backup](ctx, c, ManagedByLabel+"="+ManagedBy)
		}, func(b *velerov1.Backup) string { return b.Name })
		s.mu.Unlock()
		if err != nil || found {
			return backup, err
		}
	}
	return Get[velerov1.Backup](ctx, c, name)
}
