// Package velero reads and writes Velero's objects with Velero's own API types over a dynamic
// client, so the provider needs neither controller-runtime nor hand-copied structs.
package velero

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// Object is any Velero API type this package handles.
type Object interface {
	velerov1.Backup | velerov1.Restore | velerov1.BackupStorageLocation |
		velerov1.PodVolumeBackup | velerov1.PodVolumeRestore | velerov1.DeleteBackupRequest |
		velerov1.ServerStatusRequest | velerov1.BackupRepository | velerov1.Schedule
}

// kinds maps each type to its resource; the zero value of T selects the entry.
func kindOf[T Object]() (kind string, gvr schema.GroupVersionResource) {
	var zero T
	switch any(&zero).(type) {
	case *velerov1.Backup:
		kind = "Backup"
	case *velerov1.Restore:
		kind = "Restore"
	case *velerov1.BackupStorageLocation:
		kind = "BackupStorageLocation"
	case *velerov1.PodVolumeBackup:
		kind = "PodVolumeBackup"
	case *velerov1.PodVolumeRestore:
		kind = "PodVolumeRestore"
	case *velerov1.DeleteBackupRequest:
		kind = "DeleteBackupRequest"
	case *velerov1.ServerStatusRequest:
		kind = "ServerStatusRequest"
	case *velerov1.BackupRepository:
		kind = "BackupRepository"
	case *velerov1.Schedule:
		kind = "Schedule"
	}
	plural := map[string]string{
		"Backup": "backups", "Restore": "restores", "BackupStorageLocation": "backupstoragelocations",
		"PodVolumeBackup": "podvolumebackups", "PodVolumeRestore": "podvolumerestores",
		"DeleteBackupRequest": "deletebackuprequests", "ServerStatusRequest": "serverstatusrequests",
		"BackupRepository": "backuprepositories", "Schedule": "schedules",
	}[kind]
	return kind, velerov1.SchemeGroupVersion.WithResource(plural)
}

// Client handles Velero objects in one namespace (Velero's own).
type Client struct {
	dyn       dynamic.Interface
	Namespace string
}

func NewClient(dyn dynamic.Interface, namespace string) *Client {
	return &Client{dyn: dyn, Namespace: namespace}
}

func resource[T Object](c *Client) dynamic.ResourceInterface {
	_, gvr := kindOf[T]()
	return c.dyn.Resource(gvr).Namespace(c.Namespace)
}

// Get reads one object by name.
func Get[T Object](ctx context.Context, c *Client, name string) (*T, error) {
	u, err := resource[T](c).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

// List reads the objects matching a label selector ("" for all).
func List[T Object](ctx context.Context, c *Client, selector string) ([]T, error) {
	list, err := resource[T](c).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(list.Items))
	for i := range list.Items {
		obj, err := fromUnstructured[T](&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *obj)
	}
	return out, nil
}

// Create creates obj in the client's namespace and returns what the server stored.
func Create[T Object](ctx context.Context, c *Client, obj *T) (*T, error) {
	u, err := toUnstructured(c, obj)
	if err != nil {
		return nil, err
	}
	created, err := resource[T](c).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return fromUnstructured[T](created)
}

// Delete removes the object (for a Backup this is not a data delete: see DeleteBackupRequest).
func Delete[T Object](ctx context.Context, c *Client, name string) error {
	return resource[T](c).Delete(ctx, name, metav1.DeleteOptions{})
}

func fromUnstructured[T Object](u *unstructured.Unstructured) (*T, error) {
	var obj T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &obj); err != nil {
		kind, _ := kindOf[T]()
		return nil, fmt.Errorf("decode %s %s: %w", kind, u.GetName(), err)
	}
	return &obj, nil
}

// Update writes obj back (its resourceVersion guards against lost updates) and returns what the
// server stored.
func Update[T Object](ctx context.Context, c *Client, obj *T) (*T, error) {
	u, err := toUnstructured(c, obj)
	if err != nil {
		return nil, err
	}
	updated, err := resource[T](c).Update(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return fromUnstructured[T](updated)
}

// relistBaseDelay and relistMaxDelay pace WaitFor's re-lists, so a watch that closes at once or
// keeps failing does not make it list and watch in a tight loop against the API server: the
// delay doubles from the base to the cap and starts over once a watch delivers an event.
// Variables so tests need not wait.
var (
	relistBaseDelay = 100 * time.Millisecond
	relistMaxDelay  = 5 * time.Second
)

// denialGrace is how long WaitFor goes on through 401 and 403 answers once the same requests
// were answered earlier in the wait. An API server that has just restarted authenticates and
// authorizes from caches it is still filling, and denies meanwhile (kubernetes/kubernetes#121635);
// a permission really taken away mid-wait ends the wait after this long. A variable so tests
// need not wait.
var denialGrace = time.Minute

// WaitFor watches one object until done reports true or an error, or ctx ends. It reads the
// object first, so a condition that already holds returns at once, and re-establishes the
// watch when the server closes it. An API server that restarts or is overloaded meanwhile
// (connection refused or reset, 429, 5xx) is retried with the same backoff until ctx ends;
// one that denies requests it answered before in this wait is retried for denialGrace.
func WaitFor[T Object](ctx context.Context, c *Client, name string, done func(*T) (bool, error)) (*T, error) {
	kind, _ := kindOf[T]()
	deleted := fmt.Errorf("%s %s/%s was deleted while waiting for it", kind, c.Namespace, name)
	delay := relistBaseDelay
	var last *T
	var unanswered error // the API server's latest transient error, while it lasts
	var answered bool    // a list in this wait succeeded: the credentials were allowed
	var deniedSince time.Time
	retryable := func(err error) bool {
		if transient(err) {
			return true
		}
		if !answered || (!apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err)) {
			return false
		}
		if deniedSince.IsZero() {
			deniedSince = time.Now()
		}
		return time.Since(deniedSince) < denialGrace
	}
	pause := func() error {
		select {
		case <-ctx.Done():
			if unanswered != nil {
				return fmt.Errorf("waiting for %s %s/%s: the API server did not answer (%v): %w", kind, c.Namespace, name, unanswered, ctx.Err())
			}
			return fmt.Errorf("waiting for %s %s/%s: %w", kind, c.Namespace, name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, relistMaxDelay)
		return nil
	}
	for {
		list, err := resource[T](c).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		// A transient error at the deadline still ends in pause's deadline error, which says so.
		if err != nil && retryable(err) {
			unanswered = err
			if err := pause(); err != nil {
				return last, err
			}
			continue
		}
		if err != nil {
			return last, err
		}
		unanswered, answered, deniedSince = nil, true, time.Time{}
		if len(list.Items) == 0 {
			return nil, deleted
		}
		obj, err := fromUnstructured[T](&list.Items[0])
		if err != nil {
			return nil, err
		}
		if ok, err := done(obj); ok || err != nil {
			return obj, err
		}
		last = obj
		w, err := resource[T](c).Watch(ctx, metav1.ListOptions{
			FieldSelector:   "metadata.name=" + name,
			ResourceVersion: list.GetResourceVersion(),
		})
		switch {
		case err != nil && retryable(err):
			unanswered = err
		case err != nil:
			return last, err
		default:
			event, ok, err := drainWatch(ctx, w, done, deleted)
			w.Stop()
			if ok || err != nil {
				return event, err
			}
			if event != nil {
				last = event
				delay = relistBaseDelay // the watch worked until the server closed it
			}
		}
		if err := pause(); err != nil {
			return last, err
		}
	}
}

// transient reports an error an API server gives while it restarts or is overloaded: no
// connection, a connection cut, a timeout, 429 or a 5xx. A wait goes on through them.
func transient(err error) bool {
	var netErr net.Error
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsUnexpectedServerError(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}

// drainWatch applies done to every event until it holds, the object is deleted (the error
// deleted), or the watch closes or fails (ok=false, err=nil: the caller lists again). last is
// the object of the latest event, nil when none came.
func drainWatch[T Object](ctx context.Context, w watch.Interface, done func(*T) (bool, error), deleted error) (last *T, ok bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return last, false, nil
		case ev, open := <-w.ResultChan():
			if !open {
				return last, false, nil
			}
			switch ev.Type {
			case watch.Error:
				return last, false, nil // usually "resource version too old": list again
			case watch.Deleted:
				return last, false, deleted
			}
			u, isObj := ev.Object.(*unstructured.Unstructured)
			if !isObj {
				continue
			}
			obj, err := fromUnstructured[T](u)
			if err != nil {
				return last, false, err
			}
			last = obj
			if ok, err := done(obj); ok || err != nil {
				return obj, true, err
			}
		}
	}
}

func toUnstructured[T Object](c *Client, obj *T) (*unstructured.Unstructured, error) {
	kind, _ := kindOf[T]()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetAPIVersion(velerov1.SchemeGroupVersion.String())
	u.SetKind(kind)
	u.SetNamespace(c.Namespace)
	return u, nil
}
