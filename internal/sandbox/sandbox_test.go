package sandbox

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVersionAtLeast(t *testing.T) {
	cases := []struct {
		have, want string
		ok         bool
	}{
		{"1.11.4", "1.8.0", true},
		{"1.8.0", "1.8.0", true},
		{"1.8.5-dev", "1.8.0", true},
		{"v1.7.9", "1.8.0", false},
		{"0.15.5", "1.8.0", false},
		{"2.0.0", "1.8.0", true},
	}
	for _, c := range cases {
		if got := versionAtLeast(c.have, c.want); got != c.ok {
			t.Errorf("versionAtLeast(%q, %q) = %v, want %v", c.have, c.want, got, c.ok)
		}
	}
}

func TestProcessRecordTellsRecycledPidsApart(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rec := ProcessRecord{PID: cmd.Process.Pid, StartTime: processStartTime(cmd.Process.Pid)}
	if rec.StartTime == 0 || !rec.Alive() {
		t.Fatalf("a running sleep is not seen alive: %+v", rec)
	}
	if other := (ProcessRecord{PID: rec.PID, StartTime: rec.StartTime + 1}); other.Alive() {
		t.Error("a record with another start time must not match the live process (pid reuse)")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if rec.Alive() {
		t.Error("a killed process is still seen alive")
	}
}

func TestStartAndStopDaemonByPid(t *testing.T) {
	l := Layout{RepoDir: t.TempDir()}
	l.Dir = l.RepoDir + "/.sandbox"
	for _, d := range []string{l.LogsDir(), l.RunDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The child's command line is unique to this run: other programs on the machine may run a
	// plain `sleep 60` too.
	sleep := "sleep 60." + strconv.Itoa(os.Getpid())
	d := daemon{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo started; " + sleep + " & wait"}}
	started, err := l.start(d)
	if err != nil || !started {
		t.Fatalf("start: %v %v", started, err)
	}
	again, err := l.start(d)
	if err != nil || again {
		t.Fatalf("a second start of a running daemon must be a no-op: %v %v", again, err)
	}
	rec, ok := l.running("sleeper")
	if !ok {
		t.Fatal("daemon not recorded as running")
	}
	stopped, err := l.stop(t.Context(), "sleeper", 5*time.Second)
	if err != nil || stopped.PID != rec.PID {
		t.Fatalf("stop: %+v %v", stopped, err)
	}
	if rec.Alive() {
		t.Error("daemon still alive after stop")
	}
	// The child in the daemon's process group went too.
	time.Sleep(100 * time.Millisecond)
	if pids := processesMatching(sleep); len(pids) > 0 {
		t.Errorf("child of the daemon survived: %v", pids)
	}
	if log, _ := os.ReadFile(l.LogFile("sleeper")); !strings.Contains(string(log), "started") {
		t.Errorf("daemon output not in its log: %q", log)
	}
}

func TestCNIConfigKeepsPodsOnTheLinkLocalBridge(t *testing.T) {
	l := Layout{Dir: "/x/.sandbox"}
	raw, err := l.cniConfig()
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Plugins []struct {
			Type      string `json:"type"`
			IsGateway bool   `json:"isGateway"`
			IPMasq    bool   `json:"ipMasq"`
			IPAM      struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
				Routes []struct{ Dst, Gw string }  `json:"routes"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(raw, &conf); err != nil {
		t.Fatal(err)
	}
	bridge := conf.Plugins[0]
	if bridge.Type != "bridge" || bridge.IsGateway || bridge.IPMasq {
		t.Errorf("bridge plugin must not be a gateway nor masquerade: %+v", bridge)
	}
	_, linkLocal, _ := net.ParseCIDR("169.254.0.0/16")
	for _, r := range bridge.IPAM.Routes {
		if r.Dst == "0.0.0.0/0" {
			t.Error("pods must have no default route")
		}
		ip, _, _ := net.ParseCIDR(r.Dst)
		if !linkLocal.Contains(ip) || !linkLocal.Contains(net.ParseIP(r.Gw)) {
			t.Errorf("route %+v leaves the link-local range", r)
		}
	}
	if got := bridge.IPAM.Ranges[0][0].Subnet; got != PodSubnet {
		t.Errorf("pod subnet %s, want %s", got, PodSubnet)
	}
}

func TestServersBindOnlyLoopbackOrTheBridge(t *testing.T) {
	l := Layout{Dir: "/x/.sandbox"}
	bins := Binaries{}
	for _, r := range recipes {
		for _, b := range r.Binaries {
			bins[b] = "/bin/" + b
		}
	}
	bins["velero-plugin-for-aws"] = "/plugins/velero-plugin-for-aws"
	daemons := []daemon{l.etcd(), l.apiServer(bins), l.controllerManager(bins), l.scheduler(bins), l.veleroServer(bins), l.minio(bins, S3Credentials{})}
	for _, d := range daemons {
		args := strings.Join(d.Args, " ")
		for _, bad := range []string{"0.0.0.0", "[::]", "=:"} {
			if strings.Contains(args, bad) {
				t.Errorf("%s binds all interfaces: %s", d.Name, args)
			}
		}
	}
	kubelet := l.kubeletConfig()
	for _, want := range []string{"address: 127.0.0.1", "healthzBindAddress: 127.0.0.1", "readOnlyPort: 0", "makeIPTablesUtilChains: false"} {
		if !strings.Contains(kubelet, want) {
			t.Errorf("kubelet config lacks %q", want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote = %s", got)
	}
}
