package velero

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
)

const testNamespace = "velero"

func TestGenericCRUD(t *testing.T) {
	ctx := context.Background()

	t.Run("Create stores the object in the client's namespace and returns it", func(t *testing.T) {
		c, _ := newFakeClient(t)
		// No namespace on the object: the client's namespace is the one that counts.
		created, err := Create(ctx, c, &velerov1.Backup{
			ObjectMeta: metav1.ObjectMeta{Name: "b1", Labels: map[string]string{"team": "a"}},
			Spec:       velerov1.BackupSpec{StorageLocation: "primary"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if created.Namespace != testNamespace || created.Spec.StorageLocation != "primary" {
			t.Errorf("created = %s/%s location %q", created.Namespace, created.Name, created.Spec.StorageLocation)
		}
		got, err := Get[velerov1.Backup](ctx, c, "b1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Labels["team"] != "a" || got.Spec.StorageLocation != "primary" {
			t.Errorf("Get = %+v", got)
		}
	})

	t.Run("Create of an existing name names the kind and the object", func(t *testing.T) {
		c, _ := newFakeClient(t, backup(""))
		_, err := Create(ctx, c, backup(""))
		kubetest.ErrorContains(t, err, "create Backup b1:", "already exists")
		if !apierrors.IsAlreadyExists(err) {
			t.Errorf("the API error is not kept in the chain: %v", err)
		}
	})

	t.Run("Get of a missing object is a NotFound API error", func(t *testing.T) {
		c, _ := newFakeClient(t)
		_, err := Get[velerov1.Restore](ctx, c, "nope")
		if !apierrors.IsNotFound(err) {
			t.Errorf("Get = %v, want NotFound", err)
		}
	})

	t.Run("List applies the label selector and decodes every item", func(t *testing.T) {
		c, _ := newFakeClient(t,
			pvb("b1-a", "b1", "app", "db-0", "data", velerov1.PodVolumeBackupPhaseCompleted),
			pvb("b1-b", "b1", "app", "db-1", "data", velerov1.PodVolumeBackupPhaseFailed),
			pvb("b2-a", "b2", "app", "db-0", "data", velerov1.PodVolumeBackupPhaseCompleted),
		)
		got, err := List[velerov1.PodVolumeBackup](ctx, c, velerov1.BackupNameLabel+"=b1")
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(got))
		for i, p := range got {
			names[i] = p.Name + ":" + p.Spec.Pod.Name + ":" + string(p.Status.Phase)
		}
		if strings.Join(names, ",") != "b1-a:db-0:Completed,b1-b:db-1:Failed" {
			t.Errorf("List = %v", names)
		}
		all, err := List[velerov1.PodVolumeBackup](ctx, c, "")
		if err != nil || len(all) != 3 {
			t.Errorf("List(\"\") = %d items, %v; want 3", len(all), err)
		}
	})

	t.Run("Update writes the object back", func(t *testing.T) {
		c, _ := newFakeClient(t, &velerov1.BackupStorageLocation{
			ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: testNamespace},
			Spec:       velerov1.BackupStorageLocationSpec{StorageType: velerov1.StorageType{ObjectStorage: &velerov1.ObjectStorageLocation{Bucket: "one"}}},
		})
		bsl, err := Get[velerov1.BackupStorageLocation](ctx, c, "primary")
		if err != nil {
			t.Fatal(err)
		}
		bsl.Spec.ObjectStorage.Bucket = "two"
		if _, err := Update(ctx, c, bsl); err != nil {
			t.Fatal(err)
		}
		got, err := Get[velerov1.BackupStorageLocation](ctx, c, "primary")
		if err != nil || got.Spec.ObjectStorage.Bucket != "two" {
			t.Errorf("after Update: %+v, %v", got, err)
		}
	})

	t.Run("Update of a missing object names the kind and the object", func(t *testing.T) {
		c, _ := newFakeClient(t)
		_, err := Update(ctx, c, &velerov1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "r1"}})
		kubetest.ErrorContains(t, err, "update Restore r1:", "not found")
	})

	t.Run("Delete removes the object; a second Delete is NotFound", func(t *testing.T) {
		c, _ := newFakeClient(t, &velerov1.DeleteBackupRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "d1", Namespace: testNamespace},
			Spec:       velerov1.DeleteBackupRequestSpec{BackupName: "b1"},
		})
		if err := Delete[velerov1.DeleteBackupRequest](ctx, c, "d1"); err != nil {
			t.Fatal(err)
		}
		if _, err := Get[velerov1.DeleteBackupRequest](ctx, c, "d1"); !apierrors.IsNotFound(err) {
			t.Errorf("Get after Delete = %v, want NotFound", err)
		}
		if err := Delete[velerov1.DeleteBackupRequest](ctx, c, "d1"); !apierrors.IsNotFound(err) {
			t.Errorf("second Delete = %v, want NotFound", err)
		}
	})
}

func TestWaitFor(t *testing.T) {
	fastRelists(t, 10*time.Millisecond)
	completed := func(b *velerov1.Backup) (bool, error) { return b.Status.Phase == velerov1.BackupPhaseCompleted, nil }

	t.Run("a condition that already holds returns without watching", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseCompleted))
		watches := serveWatches(dyn, "backups")
		got, err := WaitFor(context.Background(), c, "b1", completed)
		if err != nil || got.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v", got, err)
		}
		if n := len(watches); n != 0 {
			t.Errorf("%d watches opened, want none", n)
		}
	})

	t.Run("an event that satisfies the condition ends the wait", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := serveWatches(dyn, "backups")
		result := waitInBackground(c, completed)
		w := nextWatch(t, watches)
		w.Modify(asUnstructured(t, backup(velerov1.BackupPhaseInProgress))) // not yet
		w.Modify(asUnstructured(t, backup(velerov1.BackupPhaseCompleted)))
		r := receive(t, result)
		if r.err != nil || r.obj.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v", r.obj, r.err)
		}
	})

	t.Run("a watch the server closes is re-established and a later event ends the wait", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := serveWatches(dyn, "backups")
		result := waitInBackground(c, completed)
		nextWatch(t, watches).Stop() // the API server ends a watch after a while
		nextWatch(t, watches).Modify(asUnstructured(t, backup(velerov1.BackupPhaseCompleted)))
		r := receive(t, result)
		if r.err != nil || r.obj.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v", r.obj, r.err)
		}
		// Listed again before the second watch, so a change made between the two is not missed.
		if n := kubetest.CountActions(dyn, "list", "backups"); n != 2 {
			t.Errorf("%d lists, want 2 (one per watch)", n)
		}
	})

	t.Run("a watch error event lists again and finds the change", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := serveWatches(dyn, "backups")
		result := waitInBackground(c, completed)
		w := nextWatch(t, watches)
		// The change happened while the watch was failing ("resource version too old"): only
		// the list can see it.
		if err := dyn.Tracker().Update(velerov1.SchemeGroupVersion.WithResource("backups"),
			asUnstructured(t, backup(velerov1.BackupPhaseCompleted)), testNamespace); err != nil {
			t.Fatal(err)
		}
		w.Error(&metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
		r := receive(t, result)
		if r.err != nil || r.obj.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v", r.obj, r.err)
		}
	})

	t.Run("a cancelled context ends the wait with context.Canceled", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := serveWatches(dyn, "backups")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		result := make(chan waitResult, 1)
		go func() {
			obj, err := WaitFor(ctx, c, "b1", completed)
			result <- waitResult{obj, err}
		}()
		w := nextWatch(t, watches)
		cancel()
		r := receive(t, result)
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("WaitFor = %v, want context.Canceled", r.err)
		}
		kubetest.ErrorContains(t, r.err, "waiting for Backup velero/b1: context canceled")
		if !w.IsStopped() {
			t.Error("the watch was not stopped")
		}
	})

	t.Run("the object deleted while watching ends the wait with an error", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := serveWatches(dyn, "backups")
		result := waitInBackground(c, completed)
		nextWatch(t, watches).Delete(asUnstructured(t, backup(velerov1.BackupPhaseInProgress)))
		r := receive(t, result)
		kubetest.ErrorContains(t, r.err, "Backup velero/b1 was deleted while waiting for it")
	})

	t.Run("an object that is already gone is reported as deleted", func(t *testing.T) {
		c, dyn := newFakeClient(t)
		watches := serveWatches(dyn, "backups")
		_, err := WaitFor(context.Background(), c, "b1", completed)
		kubetest.ErrorContains(t, err, "Backup velero/b1 was deleted while waiting for it")
		if n := len(watches); n != 0 {
			t.Errorf("%d watches opened, want none", n)
		}
	})

	for _, tt := range []struct {
		name  string
		watch func() watch.Interface
	}{
		{"closes at once", func() watch.Interface {
			w := watch.NewFake()
			w.Stop()
			return w
		}},
		{"fails at once", func() watch.Interface {
			w := watch.NewFakeWithChanSize(1, false)
			w.Error(&metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: "etcd is unhappy"})
			return w
		}},
	} {
		t.Run("a watch that "+tt.name+" is listed and watched again with a growing delay, not in a tight loop", func(t *testing.T) {
			fastRelists(t, 16*time.Millisecond)
			c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
			dyn.PrependWatchReactor("backups", func(k8stesting.Action) (bool, watch.Interface, error) {
				return true, tt.watch(), nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := WaitFor(ctx, c, "b1", completed)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WaitFor = %v, want context.DeadlineExceeded", err)
			}
			// 1+2+4+8 ms, then 16 ms apart: about 20 lists in 300 ms (thousands without a delay).
			if n := kubetest.CountActions(dyn, "list", "backups"); n < 3 || n > 40 {
				t.Errorf("%d lists in 300 ms, want between 3 and 40", n)
			}
		})
	}

	t.Run("an API server that restarts (connection refused, 503) is waited through", func(t *testing.T) {
		fastRelists(t, 4*time.Millisecond)
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseCompleted))
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		failures := []error{refused, refused, apierrors.NewServiceUnavailable("starting")}
		dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			if len(failures) == 0 {
				return false, nil, nil
			}
			err := failures[0]
			failures = failures[1:]
			return true, nil, err
		})
		got, err := WaitFor(context.Background(), c, "b1", completed)
		if err != nil || got.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v, want the Completed backup after the server came back", got, err)
		}
		if n := kubetest.CountActions(dyn, "list", "backups"); n != 4 {
			t.Errorf("%d lists, want 4 (three unanswered, then the answer)", n)
		}
	})

	t.Run("an API server that does not come back ends the wait at the deadline, saying so", func(t *testing.T) {
		fastRelists(t, 4*time.Millisecond)
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := WaitFor(ctx, c, "b1", completed)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitFor = %v, want context.DeadlineExceeded", err)
		}
		kubetest.ErrorContains(t, err, "the API server did not answer", "connection refused")
	})

	t.Run("a denial (403) before anything was answered ends the wait at once", func(t *testing.T) {
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, forbidden()
		})
		_, err := WaitFor(context.Background(), c, "b1", completed)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("WaitFor = %v, want the 403", err)
		}
	})

	// An API server that has just restarted denies while its authorizer's caches fill
	// (kubernetes/kubernetes#121635): seen in TestFault_apiServerRestartedDuringABackupAndARestore.
	t.Run("a denial after the wait was answered (a restarted API server's cold caches) is waited through", func(t *testing.T) {
		fastRelists(t, 4*time.Millisecond)
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		closeEveryWatch(dyn, "backups")
		lists := 0
		dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			switch lists++; lists {
			case 1:
				return false, nil, nil // answered: InProgress
			case 2:
				return true, nil, apierrors.NewUnauthorized("token not yet verifiable")
			case 3:
				return true, nil, forbidden()
			}
			if err := dyn.Tracker().Update(backupsResource, asUnstructured(t, backup(velerov1.BackupPhaseCompleted)), testNamespace); err != nil {
				t.Error(err)
			}
			return false, nil, nil
		})
		got, err := WaitFor(context.Background(), c, "b1", completed)
		if err != nil || got.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v after %d lists, want the Completed backup", got, err, lists)
		}
	})

	t.Run("a denial that lasts past the grace ends the wait with it", func(t *testing.T) {
		fastRelists(t, 4*time.Millisecond)
		saved := denialGrace
		denialGrace = 30 * time.Millisecond
		t.Cleanup(func() { denialGrace = saved })
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		closeEveryWatch(dyn, "backups")
		lists := 0
		dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			if lists++; lists == 1 {
				return false, nil, nil
			}
			return true, nil, forbidden()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := WaitFor(ctx, c, "b1", completed)
		if !apierrors.IsForbidden(err) || ctx.Err() != nil {
			t.Fatalf("WaitFor = %v (context: %v), want the 403 before the deadline", err, ctx.Err())
		}
		if lists < 3 {
			t.Errorf("%d lists, want the denial retried before it ended the wait", lists)
		}
	})

	t.Run("a watch that delivered an event starts the delay over", func(t *testing.T) {
		// Without the reset, the delays before the 14 re-lists below add up to over 8 s.
		fastRelists(t, time.Minute)
		c, dyn := newFakeClient(t, backup(velerov1.BackupPhaseInProgress))
		watches := 0
		dyn.PrependWatchReactor("backups", func(k8stesting.Action) (bool, watch.Interface, error) {
			w := watch.NewFakeWithChanSize(1, false)
			if watches++; watches <= 14 {
				w.Modify(asUnstructured(t, backup(velerov1.BackupPhaseInProgress)))
				w.Stop() // the server closes each watch after one event
			} else {
				w.Modify(asUnstructured(t, backup(velerov1.BackupPhaseCompleted)))
			}
			return true, w, nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, err := WaitFor(ctx, c, "b1", completed)
		if err != nil || got.Status.Phase != velerov1.BackupPhaseCompleted {
			t.Fatalf("WaitFor = %v, %v after %d watches", got, err, watches)
		}
	})

	t.Run("an error from the condition ends the wait with the object", func(t *testing.T) {
		c, _ := newFakeClient(t, backup(velerov1.BackupPhaseFailed))
		failed := errors.New("backup failed")
		got, err := WaitFor(context.Background(), c, "b1", func(b *velerov1.Backup) (bool, error) {
			if b.Status.Phase == velerov1.BackupPhaseFailed {
				return false, failed
			}
			return false, nil
		})
		if !errors.Is(err, failed) || got == nil || got.Name != "b1" {
			t.Errorf("WaitFor = %v, %v; want the object and the condition's error", got, err)
		}
	})
}

// --- helpers ---

// fastRelists sets the delays between WaitFor's re-lists for one test: from 1 ms up to ceiling.
func fastRelists(t *testing.T, ceiling time.Duration) {
	savedBase, savedCeiling := relistBaseDelay, relistMaxDelay
	relistBaseDelay, relistMaxDelay = time.Millisecond, ceiling
	t.Cleanup(func() { relistBaseDelay, relistMaxDelay = savedBase, savedCeiling })
}

// newFakeClient is a Client over a fake dynamic client that knows Velero's types.
func newFakeClient(t *testing.T, objects ...runtime.Object) (*Client, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := velerov1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dyn := dynamicfake.NewSimpleDynamicClient(scheme, objects...)
	return NewClient(dyn, testNamespace), dyn
}

// Velero's pkg/builder would do, but importing it pulls controller-runtime and more into
// go.mod: these few literals keep the module graph as it is.
// backup is the Backup "b1" that these tests create and wait for.
func backup(phase velerov1.BackupPhase) *velerov1.Backup {
	return &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: "b1", Namespace: testNamespace},
		Status:     velerov1.BackupStatus{Phase: phase},
	}
}

func pvb(name, backupName, podNamespace, pod, volume string, phase velerov1.PodVolumeBackupPhase) *velerov1.PodVolumeBackup {
	return &velerov1.PodVolumeBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, Labels: map[string]string{velerov1.BackupNameLabel: backupName}},
		Spec: velerov1.PodVolumeBackupSpec{
			Pod:    corev1.ObjectReference{Kind: "Pod", Namespace: podNamespace, Name: pod},
			Volume: volume,
		},
		Status: velerov1.PodVolumeBackupStatus{Phase: phase},
	}
}

var backupsResource = velerov1.SchemeGroupVersion.WithResource("backups")

func forbidden() error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "velero.io", Resource: "backups"}, "b1", errors.New("RBAC"))
}

// closeEveryWatch answers every watch of resource with one the server has already closed, so
// WaitFor lists again at once.
func closeEveryWatch(dyn *dynamicfake.FakeDynamicClient, resource string) {
	dyn.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		w.Stop()
		return true, w, nil
	})
}

// serveWatches answers every watch of resource with a new FakeWatcher, handed to the test in
// order through the returned channel, so the test plays the API server's side of each watch.
func serveWatches(dyn *dynamicfake.FakeDynamicClient, resource string) chan *watch.FakeWatcher {
	watches := make(chan *watch.FakeWatcher, 10)
	dyn.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		watches <- w
		return true, w, nil
	})
	return watches
}

func nextWatch(t *testing.T, watches chan *watch.FakeWatcher) *watch.FakeWatcher {
	t.Helper()
	select {
	case w := <-watches:
		return w
	case <-time.After(5 * time.Second):
		t.Fatal("no watch was opened")
		return nil
	}
}

type waitResult struct {
	obj *velerov1.Backup
	err error
}

// waitInBackground waits for the Backup "b1".
func waitInBackground(c *Client, done func(*velerov1.Backup) (bool, error)) chan waitResult {
	result := make(chan waitResult, 1)
	go func() {
		obj, err := WaitFor(context.Background(), c, "b1", done)
		result <- waitResult{obj, err}
	}()
	return result
}

func receive(t *testing.T, result chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-result:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("WaitFor did not return")
		return waitResult{}
	}
}

// asUnstructured is an object as a dynamic watch delivers it.
func asUnstructured[T Object](t *testing.T, obj *T) *unstructured.Unstructured {
	t.Helper()
	u, err := toUnstructured(&Client{Namespace: testNamespace}, obj)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
