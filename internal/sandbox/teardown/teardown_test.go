// Package teardown proves that `styrmin-sandbox down` left nothing behind (no process, the
// provisioner's included, no mount, no persistent volume's data) but the guard routes, which keep the stack's addresses on the machine after it. `make test` runs it right
// after stopping the stack (STYRMIN_TEARDOWN_PROOF=1); it fails when no teardown was recorded.
package teardown

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
)

func TestTeardownLeftNothingBehind(t *testing.T) {
	acctest.Switch(t, "STYRMIN_TEARDOWN_PROOF", "proves the teardown of a stack that was just stopped")
	layout, err := sandbox.NewLayout("../../..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(layout.TeardownRecord())
	if err != nil {
		t.Fatalf("no teardown record (%v): run `make sandbox-down` before this test", err)
	}
	var rec sandbox.TeardownRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(rec.Time); age > 15*time.Minute {
		t.Fatalf("teardown record is %s old: it is not from this run", age.Round(time.Second))
	}
	if len(rec.Processes) < 8 {
		t.Errorf("teardown stopped %d processes, want at least the 8 components of a running stack", len(rec.Processes))
	}
	provisioner := false
	for _, p := range rec.Processes {
		if p.Alive() {
			t.Errorf("process %d (%s) still runs", p.PID, p.Command)
		}
		provisioner = provisioner || filepath.Base(p.Command) == "local-path-provisioner"
	}
	// The provisioner, and the data of every persistent volume it made.
	if !provisioner {
		t.Error("the teardown did not stop the local-path-provisioner")
	}
	if _, err := os.Stat(layout.VolumesDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the persistent volumes' directory %s is still there (%v)", layout.VolumesDir(), err)
	}
	for _, left := range sandbox.Leftovers(context.Background(), layout) {
		t.Errorf("left behind: %s", left)
	}
	if claim, err := sandbox.ReadClaim(); err != nil || (claim != nil && claim.Dir == layout.Dir) {
		t.Errorf("the machine's claim is still this checkout's (%+v, %v)", claim, err)
	}
	// Nothing listens on the stack's loopback ports any more.
	for _, port := range []int{sandbox.EtcdClientPort, sandbox.EtcdPeerPort, sandbox.KubeletPort, sandbox.KubeletHealthz,
		sandbox.ControllerPort, sandbox.SchedulerPort, sandbox.VeleroMetrics} {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			conn.Close()
			t.Errorf("127.0.0.1:%d still accepts connections", port)
		}
	}
	// The guards stay: a stale kubeconfig's connection to the API server fails here, at once.
	if missing := sandbox.MissingGuards(t.Context()); len(missing) > 0 {
		t.Errorf("no guard route for %v after down", missing)
	}
	for _, ip := range []string{sandbox.BridgeAddress, "169.254.123.20", sandbox.KubernetesSvcIP} {
		if route := sandbox.RouteTo(t.Context(), ip); route != "unreachable" {
			t.Errorf("after down, route to %s = %q, want only the guard (unreachable)", ip, route)
		}
	}
	api := net.JoinHostPort(sandbox.BridgeAddress, fmt.Sprint(sandbox.APIServerPort))
	if conn, err := net.DialTimeout("tcp", api, 5*time.Second); !errors.Is(err, syscall.EHOSTUNREACH) {
		if conn != nil {
			conn.Close()
		}
		t.Errorf("after down, dial %s = %v, want no route to host", api, err)
	}
}
