// Package teardowntest proves that `styrmin-sandbox down` left nothing behind. `make test` runs it
// right after stopping the stack; it fails when no teardown was recorded.
package teardowntest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
)

func TestTeardownLeftNothingBehind(t *testing.T) {
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
	for _, p := range rec.Processes {
		if p.Alive() {
			t.Errorf("process %d (%s) still runs", p.PID, p.Command)
		}
	}
	for _, left := range sandbox.Leftovers(context.Background(), layout) {
		t.Errorf("left behind: %s", left)
	}
	// Nothing listens on the stack's loopback ports any more. (Addresses of the removed bridge are
	// not dialed: without the bridge the packet would be routed off the machine.)
	for _, port := range []int{sandbox.EtcdClientPort, sandbox.EtcdPeerPort, sandbox.KubeletPort, sandbox.KubeletHealthz,
		sandbox.ControllerPort, sandbox.SchedulerPort, sandbox.VeleroMetrics} {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			conn.Close()
			t.Errorf("127.0.0.1:%d still accepts connections", port)
		}
	}
}
