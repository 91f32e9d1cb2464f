package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"
)

// The fault suite (internal/provider, STYRMIN_FAULT_TESTS) takes one component of the running
// stack away as a crash, a restart or a hung server would, and brings it back. Only the components
// whose outage the provider must survive are offered; each comes back exactly as Up started it.

// Component is a stack daemon the fault suite may take away.
type Component string

const (
	APIServer    Component = "kube-apiserver"
	VeleroServer Component = "velero"
	ObjectStore  Component = "minio"
)

// Kill ends c at once (SIGKILL, as a crash does) and returns when it no longer runs.
func (l Layout) Kill(ctx context.Context, c Component) error {
	rec, ok := l.running(string(c))
	if !ok {
		return fmt.Errorf("%s is not running", c)
	}
	_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
	_ = syscall.Kill(rec.PID, syscall.SIGKILL)
	for rec.Alive() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s (pid %d) still runs after SIGKILL: %w", c, rec.PID, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Restart starts c again as Up starts it and returns when it serves: the API server ready,
// MinIO live and Velero's default location Available again, the Velero server's metrics answering
// (its controllers start with them).
func (l Layout) Restart(ctx context.Context, c Component) error {
	bins, err := l.buildAll(ctx, io.Discard) // all cached: this only finds them
	if err != nil {
		return err
	}
	switch c {
	case APIServer:
		token, err := l.pki().AdminToken()
		if err != nil {
			return err
		}
		return l.startAndWait(ctx, l.apiServer(bins), l.apiServerURL()+"/readyz", 2*time.Minute, http.Header{"Authorization": {"Bearer " + token}})
	case ObjectStore:
		creds, err := l.s3Credentials()
		if err != nil {
			return err
		}
		if err := l.startObjectStore(ctx, bins, creds); err != nil {
			return err
		}
		// Velero may have marked its location Unavailable meanwhile; it validates it again within
		// a minute.
		cl, err := l.clients()
		if err != nil {
			return err
		}
		return l.waitBSLAvailable(ctx, cl, "default", 2*time.Minute)
	case VeleroServer:
		return l.startAndWait(ctx, l.veleroServer(bins), fmt.Sprintf("http://127.0.0.1:%d/metrics", VeleroMetrics), 2*time.Minute, nil)
	}
	return fmt.Errorf("no such component: %s", c)
}

// Freeze stops c (SIGSTOP): it keeps its sockets and answers nothing, as a hung server does. The
// returned thaw resumes it (SIGCONT); calling it more than once is harmless.
func (l Layout) Freeze(c Component) (thaw func(), err error) {
	rec, ok := l.running(string(c))
	if !ok {
		return nil, fmt.Errorf("%s is not running", c)
	}
	if err := syscall.Kill(-rec.PID, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("freeze %s: %w", c, err)
	}
	return func() { _ = syscall.Kill(-rec.PID, syscall.SIGCONT) }, nil
}
