package sandbox

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// useMachineDir points the claim and the lock at a temporary directory for one test.
func useMachineDir(t *testing.T) {
	t.Helper()
	old := machineDir
	machineDir = t.TempDir()
	t.Cleanup(func() { machineDir = old })
}

func TestConflictDecidesWhoMayBringTheStackUp(t *testing.T) {
	live := t.TempDir() // a checkout that exists
	mine, other := filepath.Join(live, "mine", ".sandbox"), filepath.Join(live, ".sandbox")
	gone := "/nonexistent/checkout/.sandbox"
	since := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		m       machine
		refused []string // substrings of the refusal; nil: allowed
	}{
		{name: "empty machine", m: machine{}},
		{name: "own claim", m: machine{claim: &Claim{Dir: mine}, bridge: true}},
		{name: "own stack from before claims", m: machine{processes: []stackProcess{{PID: 7, Name: "etcd", Dir: mine}}}},
		{
			name:    "another checkout's running stack",
			m:       machine{claim: &Claim{Dir: other, Since: since}, bridge: true, processes: []stackProcess{{PID: 7, Name: "etcd", Dir: other}, {PID: 8, Name: "kube-apiserver-abc", Dir: other}}},
			refused: []string{"checkout " + live + " owns this machine", "2 of its processes run (etcd pid 7, kube-apiserver-abc pid 8)", "nothing was touched", "make -C " + live + " sandbox-down"},
		},
		{
			name:    "a crashed run of another checkout",
			m:       machine{claim: &Claim{Dir: other}, bridge: true},
			refused: []string{"none of its processes runs, but it left bridge styrmin0", "make -C " + live + " sandbox-down"},
		},
		{
			name:    "another checkout's claim with nothing left",
			m:       machine{claim: &Claim{Dir: other}},
			refused: []string{"a crashed or interrupted run", "make -C " + live + " sandbox-down"},
		},
		{
			name:    "another checkout's stack from before claims",
			m:       machine{processes: []stackProcess{{PID: 9, Name: "minio-1", Dir: other}}},
			refused: []string{"checkout " + live + " owns", "minio-1 pid 9"},
		},
		{
			name:    "gone checkout that left its bridge",
			m:       machine{claim: &Claim{Dir: gone}, bridge: true},
			refused: []string{"/nonexistent/checkout", "sandbox-down ORPHANED=1"},
		},
		{name: "gone checkout that left nothing: stale, not blocking", m: machine{claim: &Claim{Dir: gone}}},
		{
			name:    "unclaimed bridge and a foreign program on a port",
			m:       machine{bridge: true, ports: []portUser{{Addr: "127.0.0.1:22379", stackProcess: stackProcess{PID: 42, Name: "etcd"}}}},
			refused: []string{"no checkout claims", "bridge styrmin0", "port 127.0.0.1:22379 in use by pid 42 (etcd)", "sandbox-down ORPHANED=1"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.conflict(mine)
			if c.refused == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var owned *OwnedElsewhereError
			if !errors.As(err, &owned) {
				t.Fatalf("got %v, want an OwnedElsewhereError", err)
			}
			for _, want := range c.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal lacks %q:\n%s", want, err)
				}
			}
		})
	}
}

func TestClaimIsReleasedOnlyByItsOwner(t *testing.T) {
	useMachineDir(t)
	if c, err := ReadClaim(); c != nil || err != nil {
		t.Fatalf("no claim yet: got %+v, %v", c, err)
	}
	if err := writeClaim(Claim{Dir: "/a/.sandbox", PID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := releaseClaim("/b/.sandbox"); err != nil {
		t.Fatal(err)
	}
	if c, _ := ReadClaim(); c == nil || c.Dir != "/a/.sandbox" || c.Repo() != "/a" {
		t.Fatalf("another checkout released the claim: %+v", c)
	}
	if err := releaseClaim("/a/.sandbox"); err != nil {
		t.Fatal(err)
	}
	if c, _ := ReadClaim(); c != nil {
		t.Fatalf("claim still there: %+v", c)
	}
	if err := os.WriteFile(ClaimFile(), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadClaim(); err == nil || !strings.Contains(err.Error(), "is not a claim") {
		t.Errorf("a broken claim file: %v", err)
	}
}

func TestSecondUpOrDownFailsWhileTheMachineIsLocked(t *testing.T) {
	useMachineDir(t)
	release, err := lockMachine("/first/.sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockMachine("/second/.sandbox"); err == nil || !strings.Contains(err.Error(), "checkout /first") {
		t.Errorf("second lock: %v, want a refusal naming the first checkout", err)
	}
	release()
	again, err := lockMachine("/second/.sandbox")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}

func TestStackProcessesAreFoundByTheirMark(t *testing.T) {
	dir := "/some/checkout/.sandbox"
	cmd := exec.Command("sleep", "30")
	cmd.Env = []string{stackDirEnv + "=" + dir}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var found bool
	for _, p := range stackProcesses() {
		if p.PID == cmd.Process.Pid {
			found = p.Dir == dir && p.Name == "sleep"
		}
	}
	if !found {
		t.Errorf("a process carrying %s=%s is not seen as that stack's", stackDirEnv, dir)
	}
}

func TestStackProcessesFromBeforeTheMarkAreFoundByTheirCommandLine(t *testing.T) {
	// A shell copied to the name of a component, with etcd's --data-dir on its command line.
	etcd := filepath.Join(t.TempDir(), "etcd")
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(etcd, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(args ...string) int {
		cmd := exec.Command(etcd, append([]string{"-c", "sleep 30; :"}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	withPath := start("--data-dir=/work/main/.sandbox/state/etcd")
	without := start("--data-dir=/var/lib/etcd")
	time.Sleep(50 * time.Millisecond) // let both exec
	if p, ok := stackProcessOf(withPath); !ok || p.Dir != "/work/main/.sandbox" || p.Name != "etcd" {
		t.Errorf("etcd with a .sandbox data dir: %+v, %v; want the stack of /work/main/.sandbox", p, ok)
	}
	if p, ok := stackProcessOf(without); ok {
		t.Errorf("an etcd without a .sandbox path is taken for a stack process: %+v", p)
	}
	for arg, want := range map[string]string{
		"--data-dir=/work/main/.sandbox/state/etcd": "/work/main/.sandbox",
		"/x/y/.sandbox/state/minio":                 "/x/y/.sandbox",
		"pods":                                      "",
	} {
		if got := sandboxDirIn([]string{"etcd", "--name", "sandbox", arg}); got != want {
			t.Errorf("sandboxDirIn(%q) = %q, want %q", arg, got, want)
		}
	}
}

func TestListenersOnTheStackPortsAreFound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	users := portsInUse([]string{addr, "127.0.0.1:1"}, nil)
	if len(users) != 1 || users[0].Addr != addr || users[0].PID != os.Getpid() {
		t.Fatalf("portsInUse = %+v, want this test process on %s", users, addr)
	}
}

func TestProcNetAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"017BFEA9:192B":                         "169.254.123.1:6443",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000000000000:0016": "[::]:22",
		"0000000000000000FFFF00000100007F:0016": "127.0.0.1:22",
	} {
		if got, ok := parseProcNetAddr(in); !ok || got != want {
			t.Errorf("parseProcNetAddr(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
