// Package safety proves the local stack's two machine-wide promises on the running stack: one
// stack per machine (a second checkout's up and down leave the first stack serving), and no
// packet for the stack's addresses ever leaves the machine (with the bridge address removed by
// hand, the API server's address fails at once, locally). It disturbs the running stack for a
// moment, so make test runs it alone, after the other suites (STYRMIN_SAFETY_TESTS=1).
package safety

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

const switchEnv = "STYRMIN_SAFETY_TESTS"

func requireStack(t *testing.T) *sandboxtest.Stack {
	t.Helper()
	acctest.Switch(t, switchEnv, "disturbs the running stack for a moment")
	acctest.RequireRoot(t)
	return sandboxtest.Require(t)
}

func TestSecondCheckoutLeavesTheStackServing(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	firstDir := os.Getenv("SANDBOX_DIR")
	firstRepo := filepath.Dir(firstDir)
	claim, err := sandbox.ReadClaim()
	if err != nil || claim == nil || claim.Dir != firstDir {
		t.Fatalf("the running stack's claim = %+v (%v), want one naming %s", claim, err, firstDir)
	}
	processes := recordedProcesses(t, firstDir)

	tool := filepath.Join(t.TempDir(), "styrmin-sandbox")
	build := exec.CommandContext(ctx, "go", "build", "-o", tool, "./cmd/styrmin-sandbox")
	build.Dir = firstRepo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	second := t.TempDir()
	if err := os.WriteFile(filepath.Join(second, "go.mod"), []byte("module second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sandboxCmd := func(args ...string) (string, int) {
		cmd := exec.CommandContext(ctx, tool, append([]string{"-repo", second}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
		return "", -1
	}

	out, code := sandboxCmd("up")
	t.Logf("second checkout, up (exit %d):\n%s", code, out)
	for _, want := range []string{"the local stack of the checkout " + firstRepo + " owns this machine", "nothing was touched", "make -C " + firstRepo + " sandbox-down"} {
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("up in a second checkout: exit %d, want a refusal containing %q", code, want)
		}
	}
	if _, err := os.Stat(filepath.Join(second, ".sandbox")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused up created %s/.sandbox (%v): it must touch nothing", second, err)
	}
	out, code = sandboxCmd("status")
	if code == 0 || !strings.Contains(out, "not this checkout's") {
		t.Errorf("status in a second checkout: exit %d:\n%s", code, out)
	}
	out, code = sandboxCmd("down")
	t.Logf("second checkout, down (exit %d):\n%s", code, out)
	if code != 0 || !strings.Contains(out, "was left alone") {
		t.Errorf("down in a second checkout: exit %d, want success that leaves the first stack alone", code)
	}
	out, code = sandboxCmd("down", "-orphaned")
	if code == 0 || !strings.Contains(out, "is not orphaned") {
		t.Errorf("down -orphaned in a second checkout: exit %d, want a refusal:\n%s", code, out)
	}

	if after, _ := sandbox.ReadClaim(); after == nil || *after != *claim {
		t.Errorf("the claim changed: %+v, was %+v", after, claim)
	}
	for _, p := range processes {
		if !p.Alive() {
			t.Errorf("the first stack's %s (pid %d) no longer runs", p.Command, p.PID)
		}
	}
	assertServing(ctx, t, s)
}

func TestStackAddressesFailLocallyWithTheBridgeAddressRemoved(t *testing.T) {
	s := requireStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	targets := []struct{ what, ip string }{
		{"API server", sandbox.BridgeAddress},
		{"pod", "169.254.123.20"},
		{"service", sandbox.KubernetesSvcIP},
	}
	for _, target := range targets {
		t.Logf("bridge up:   ip route get %-15s -> %s", target.ip, sandbox.RouteTo(ctx, target.ip))
	}
	counted := countLeaks(ctx, t)

	bridgeCIDR := sandbox.BridgeAddress + "/24"
	ip(ctx, t, "addr", "del", bridgeCIDR, "dev", sandbox.BridgeName)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			ip(ctx, t, "addr", "add", bridgeCIDR, "dev", sandbox.BridgeName)
		}
	}
	t.Cleanup(restore)

	for _, target := range targets {
		route := sandbox.RouteTo(ctx, target.ip)
		t.Logf("address gone: ip route get %-15s -> %s", target.ip, route)
		if route != "unreachable" {
			t.Errorf("route to the %s (%s) = %q, want only the guard (unreachable)", target.what, target.ip, route)
		}
	}
	apiServer := net.JoinHostPort(sandbox.BridgeAddress, strconv.Itoa(sandbox.APIServerPort))
	conn, err := net.DialTimeout("tcp", apiServer, 5*time.Second)
	if err == nil {
		conn.Close()
	}
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("dial %s = %v, want no route to host, at once and locally", apiServer, err)
	}
	_, err = s.Kube.Discovery().ServerVersion()
	if err == nil || !strings.Contains(err.Error(), "no route to host") {
		t.Errorf("a client of the kubeconfig got %v, want no route to host", err)
	}
	for rule, packets := range counted() {
		if packets != 0 {
			t.Errorf("%d packets left by the default route: %s", packets, rule)
		}
	}

	restore()
	assertServing(ctx, t, s)
}

// countLeaks puts rules in OUTPUT that count and drop whatever would leave by the default route
// for the stack's ranges, and returns a function that reads their counters. Drop, so that the test
// itself sends nothing off the machine when the guard fails.
func countLeaks(ctx context.Context, t *testing.T) func() map[string]int {
	t.Helper()
	route, err := exec.CommandContext(ctx, "ip", "-o", "route", "show", "default").Output()
	if err != nil {
		t.Fatal(err)
	}
	dev := regexp.MustCompile(`\bdev (\S+)`).FindStringSubmatch(string(route))
	if dev == nil {
		t.Log("no default route on this machine: nothing could leave by it")
		return func() map[string]int { return nil }
	}
	const comment = "styrmin-safety-test-leak-count"
	var rules [][]string
	for _, cidr := range []string{sandbox.PodSubnet, sandbox.ServiceSubnet} {
		rule := []string{"OUTPUT", "-d", cidr, "-o", dev[1], "-m", "comment", "--comment", comment, "-j", "DROP"}
		iptables(ctx, t, append([]string{"-I"}, rule...)...)
		rules = append(rules, rule)
	}
	t.Cleanup(func() {
		for _, rule := range rules {
			_ = exec.Command("iptables", append([]string{"-D"}, rule...)...).Run()
		}
	})
	return func() map[string]int {
		out := iptables(ctx, t, "-L", "OUTPUT", "-v", "-x", "-n")
		counts := map[string]int{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 2 && strings.Contains(line, comment) {
				n, _ := strconv.Atoi(f[0])
				counts[strings.TrimSpace(line)] = n
			}
		}
		if len(counts) != len(rules) {
			t.Fatalf("leak-count rules not found in:\n%s", out)
		}
		return counts
	}
}

// assertServing waits until the stack answers as the other suites need it: the API server, the
// node Ready, MinIO, and the default location Available.
func assertServing(ctx context.Context, t *testing.T, s *sandboxtest.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if missing := sandbox.MissingGuards(ctx); len(missing) > 0 {
		t.Errorf("guard routes missing for %v", missing)
	}
	err := poll(ctx, func() error {
		node, err := s.Kube.CoreV1().Nodes().Get(ctx, sandbox.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == "Ready" && c.Status != "True" {
				return fmt.Errorf("node not Ready: %s", c.Message)
			}
		}
		if _, err := s.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
			return fmt.Errorf("minio: %w", err)
		}
		bsl, err := velero.Get[velerov1.BackupStorageLocation](ctx, s.Velero, "default")
		if err != nil {
			return err
		}
		if bsl.Status.Phase != "Available" {
			return fmt.Errorf("default location %s: %s", bsl.Status.Phase, bsl.Status.Message)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the first stack is not serving: %v", err)
	}
}

func poll(ctx context.Context, check func() error) error {
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// recordedProcesses reads the pid records of the stack whose .sandbox is dir.
func recordedProcesses(t *testing.T, dir string) []sandbox.ProcessRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
	var recs []sandbox.ProcessRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec sandbox.ProcessRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if len(recs) < 8 {
		t.Fatalf("%d processes recorded in %s/run, want the 8 components of a running stack", len(recs), dir)
	}
	return recs
}

func ip(ctx context.Context, t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func iptables(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
