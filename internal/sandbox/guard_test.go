package sandbox

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
)

const inNetnsEnv = "STYRMIN_TEST_IN_NETNS"

// TestGuardRoutesKeepTheStackAddressesOnTheMachine runs the stack's real network setup in a
// network namespace of its own, whose only way out is an "uplink" holding the default route (a veth
// pair inside the namespace: whatever takes it is counted and goes nowhere). With the bridge
// address removed, and with the bridge deleted, every stack address must be unreachable at once
// and the uplink must send nothing; without the guard, the same dial does reach the uplink, which
// shows the count would see a leak.
func TestGuardRoutesKeepTheStackAddressesOnTheMachine(t *testing.T) {
	acctest.Gate(t)
	acctest.RequireRoot(t)
	if os.Getenv(inNetnsEnv) == "" {
		cmd := exec.Command("unshare", "--net", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a new network namespace:\n%s", out)
		if err != nil {
			t.Fatalf("unshare --net %s: %v", os.Args[0], err)
		}
		return
	}
	ctx := t.Context()
	mustRun := func(args ...string) {
		t.Helper()
		if _, err := run(ctx, args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	mustRun("ip", "link", "set", "lo", "up")
	mustRun("ip", "link", "add", "uplink", "type", "veth", "peer", "name", "uplink-peer")
	mustRun("ip", "addr", "add", "169.254.200.1/24", "dev", "uplink")
	mustRun("ip", "link", "set", "uplink", "up")
	mustRun("ip", "link", "set", "uplink-peer", "up")
	mustRun("ip", "route", "add", "default", "via", "169.254.200.2")

	if err := networkUp(ctx); err != nil {
		t.Fatal(err)
	}
	apiServer := net.JoinHostPort(BridgeAddress, strconv.Itoa(APIServerPort))
	addrs := map[string]string{"API server": BridgeAddress, "pod": "169.254.123.20", "service": KubernetesSvcIP}
	if r := RouteTo(ctx, BridgeAddress); !strings.HasPrefix(r, "local ") {
		t.Errorf("with the bridge up, route to the API server = %q, want local", r)
	}
	if r := RouteTo(ctx, "169.254.123.20"); !strings.Contains(r, "dev "+BridgeName) {
		t.Errorf("with the bridge up, route to a pod = %q, want the bridge", r)
	}

	check := func(state string) {
		t.Helper()
		for what, ip := range addrs {
			if r := RouteTo(ctx, ip); r != "unreachable" {
				t.Errorf("%s: route to the %s (%s) = %q, want only the guard (unreachable)", state, what, ip, r)
			}
		}
		sent := uplinkPackets(t)
		if err := dial(apiServer); !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Errorf("%s: dial %s = %v, want no route to host at once", state, apiServer, err)
		}
		if n := uplinkPackets(t) - sent; n != 0 {
			t.Errorf("%s: %d packets left through the default route", state, n)
		}
	}
	mustRun("ip", "addr", "del", BridgeAddress+"/24", "dev", BridgeName)
	check("bridge address removed")
	mustRun("ip", "link", "del", BridgeName)
	check("bridge deleted")

	// The control: without the pod range's guard the same dial takes the default route.
	mustRun(append([]string{"ip"}, guardRoute("del", PodSubnet)...)...)
	sent := uplinkPackets(t)
	_ = dial(apiServer)
	if uplinkPackets(t) == sent {
		t.Error("without the guard no packet took the default route: the count cannot see a leak")
	}
	if err := guardUp(ctx); err != nil {
		t.Fatal(err)
	}

	// down removes the bridge and the rule, keeps the guards; unguard removes those.
	if err := networkUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := networkDown(ctx); err != nil {
		t.Fatal(err)
	}
	if left := NetworkLeftovers(ctx); len(left) > 0 {
		t.Errorf("after networkDown: %v", left)
	}
	if missing := MissingGuards(ctx); len(missing) > 0 {
		t.Errorf("networkDown removed the guards of %v", missing)
	}
	check("stack down")
	if err := GuardDown(ctx); err != nil {
		t.Fatal(err)
	}
	if missing := MissingGuards(ctx); len(missing) != len(guardRanges) {
		t.Errorf("after GuardDown, missing guards = %v, want all", missing)
	}
}

func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		conn.Close()
	}
	return err
}

// uplinkPackets is what the uplink has sent, from this namespace's /proc/net/dev.
func uplinkPackets(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, counters, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || name != "uplink" {
			continue
		}
		f := strings.Fields(counters)
		n, err := strconv.Atoi(f[9]) // receive: 8 fields; then transmit bytes, packets
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Fatalf("no uplink in /proc/self/net/dev:\n%s", data)
	return 0
}
