package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

// Up builds what is missing, then starts every component in dependency order and waits for each
// to be ready. Components already running from an earlier Up are kept, so Up is idempotent.
//
// One stack runs per machine: Up refuses, before it touches anything, when another checkout's
// stack (or what a crashed run of one left) holds the machine, and claims the machine otherwise.
func Up(ctx context.Context, l Layout, out io.Writer) error {
	start := time.Now()
	if os.Geteuid() != 0 {
		return fmt.Errorf("the local stack runs a kubelet, containerd and a bridge: run it as root")
	}
	m, release, err := lockAndProbe(ctx, l.Dir)
	if err != nil {
		return err
	}
	defer release()
	if err := l.claimMachine(m, out); err != nil {
		return err
	}
	if err := ensureHostPackages(ctx, out); err != nil {
		return err
	}
	if err := l.ensureDirs(); err != nil {
		return err
	}
	bins, tars, err := l.buildEverything(ctx, out)
	if err != nil {
		return err
	}
	terraform, err := l.terraformBinary(ctx, out)
	if err != nil {
		return err
	}
	step := func(what string) { fmt.Fprintf(out, "%-34s %5.1fs\n", what, time.Since(start).Seconds()) }
	step("builds ready")

	if err := networkUp(ctx); err != nil {
		return err
	}
	if err := l.pki().ensure(); err != nil {
		return err
	}
	if err := l.writeKubeconfig(); err != nil {
		return err
	}
	if err := l.startControlPlane(ctx, bins); err != nil {
		return err
	}
	step("control plane ready")

	if err := l.writeNodeConfig(); err != nil {
		return err
	}
	if _, err := l.start(l.containerd()); err != nil {
		return err
	}
	if err := l.waitContainerd(ctx); err != nil {
		return err
	}
	if err := l.importImages(ctx, tars); err != nil {
		return err
	}
	step("containerd ready, images loaded")
	c, err := l.clients()
	if err != nil {
		return err
	}
	if _, err := l.start(l.kubelet(bins)); err != nil {
		return err
	}
	if err := l.waitNodeReady(ctx, c, 2*time.Minute); err != nil {
		return err
	}
	step("node Ready")
	if err := l.startStorage(ctx, c, bins); err != nil {
		return err
	}
	step("provisioner up, default StorageClass")

	creds, err := l.s3Credentials()
	if err != nil {
		return err
	}
	if err := l.startObjectStore(ctx, bins, creds); err != nil {
		return err
	}
	step("minio live, bucket ready")
	if err := l.startVelero(ctx, c, bins, creds); err != nil {
		return err
	}
	step("velero BSL Available, node-agent up")
	if err := l.grantProvider(ctx, c); err != nil {
		return err
	}
	if err := l.writeEnv(bins, terraform, creds); err != nil {
		return err
	}
	fmt.Fprintf(out, "stack up in %s; use it with: . %s\n", time.Since(start).Round(time.Second), l.EnvFile())
	return nil
}

// claimMachine refuses when the machine's stack (m, as found) is another checkout's, and
// otherwise records that it is this one's.
func (l Layout) claimMachine(m machine, out io.Writer) error {
	if err := m.conflict(l.Dir); err != nil {
		return err
	}
	claim := Claim{Dir: l.Dir, PID: os.Getpid(), Since: time.Now().UTC()}
	switch {
	case m.claim != nil && m.claim.Dir == l.Dir:
		claim.Since = m.claim.Since
	case m.claim != nil:
		fmt.Fprintf(out, "taking over a stale claim of %s: its checkout is gone and nothing of its stack runs\n", m.claim.Repo())
	}
	return writeClaim(claim)
}

// buildEverything builds the Go binaries and the images; the Debian root filesystems download
// while the Go builds compile.
func (l Layout) buildEverything(ctx context.Context, out io.Writer) (Binaries, []string, error) {
	buildLog, err := os.OpenFile(l.LogFile("build"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	defer buildLog.Close()
	ib := &images.Builder{RepoDir: l.RepoDir, CacheDir: filepath.Join(l.CacheDir, "images"), Log: buildLog}
	var (
		wg      sync.WaitGroup
		tars    []string
		imgErr  error
		imgDone = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(imgDone)
		for _, build := range []func(context.Context) (string, error){ib.Pause, ib.Util, ib.Postgres, ib.MariaDB} {
			tar, err := build(ctx)
			if err != nil {
				imgErr = fmt.Errorf("image build: %w (log: %s)", err, l.LogFile("build"))
				return
			}
			tars = append(tars, tar)
		}
	}()
	bins, err := l.buildAll(ctx, out)
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	if imgErr != nil {
		return nil, nil, imgErr
	}
	velero, err := ib.Velero(ctx, bins.Path("velero"), bins.Path("velero-restore-helper"))
	if err != nil {
		return nil, nil, fmt.Errorf("velero image: %w", err)
	}
	return bins, append(tars, velero), nil
}

// writeEnv writes the contract other work relies on: .sandbox/env, a CLI config whose
// dev_overrides point at the provider built by `make build`, and .sandbox/bin with kubectl,
// velero and terraform.
func (l Layout) writeEnv(bins Binaries, terraform string, creds S3Credentials) error {
	for name, target := range map[string]string{"kubectl": bins.Path("kubectl"), "velero": bins.Path("velero"), "terraform": terraform} {
		link := filepath.Join(l.BinDir(), name)
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	tfrc := filepath.Join(l.Dir, "terraform.tfrc")
	cli := fmt.Sprintf(`# Written by the local stack: the provider resolves to the binary that "make build" produced.
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "styrmin/styrmin" = %q
  }
  direct {}
}
`, l.ProviderBinDir())
	if err := os.WriteFile(tfrc, []byte(cli), 0o644); err != nil {
		return err
	}
	vars := [][2]string{
		{"SANDBOX_DIR", l.Dir},
		{"KUBECONFIG", l.Kubeconfig()},
		{"KUBE_CONFIG_PATH", l.Kubeconfig()},
		// The provider's own identity, bound to exactly the rules of ProviderRBACFile.
		{"SANDBOX_PROVIDER_KUBECONFIG", l.ProviderKubeconfig()},
		{"SANDBOX_S3_ENDPOINT", S3Endpoint()},
		{"SANDBOX_S3_REGION", S3Region},
		{"SANDBOX_S3_BUCKET", S3Bucket},
		{"SANDBOX_S3_ACCESS_KEY_ID", creds.AccessKeyID},
		{"SANDBOX_S3_SECRET_ACCESS_KEY", creds.SecretAccessKey},
		{"SANDBOX_VELERO_NAMESPACE", VeleroNamespace},
		{"SANDBOX_DEFAULT_BSL", "default"},
		{"TF_CLI_CONFIG_FILE", tfrc},
		{"TF_ACC_TERRAFORM_PATH", terraform},
		// Terraform's version check would call a public address.
		{"CHECKPOINT_DISABLE", "1"},
	}
	var b strings.Builder
	b.WriteString("# Local stack environment. Use: . .sandbox/env\n")
	for _, kv := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	fmt.Fprintf(&b, "export PATH=%s:\"$PATH\"\n", shellQuote(l.BinDir()))
	return os.WriteFile(l.EnvFile(), []byte(b.String()), 0o600)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// stopOrder is the reverse of the start order: first what creates pods, then the node, then the
// stores.
var stopOrder = []string{"velero", "local-path-provisioner", "kube-controller-manager", "kube-scheduler", "kubelet", "containerd", "minio", "kube-apiserver", "etcd"}

// TeardownRecord is what Down stopped and removed; the teardown test checks it is all gone.
type TeardownRecord struct {
	Dir       string          `json:"dir"`
	Processes []ProcessRecord `json:"processes"`
	Time      time.Time       `json:"time"`
}

// DownOptions changes what Down may remove.
type DownOptions struct {
	// Orphaned also removes a stack whose checkout is gone, or parts of a stack that no checkout
	// claims (only processes that belong to a local stack are stopped).
	Orphaned bool
}

// Down stops the stack of this checkout: every process it started (by recorded pid), its pods,
// mounts, cgroups, bridge and iptables rule, and its runtime state; then it releases the machine's
// claim. Logs, credentials, the build cache and the guard routes stay. When the machine's stack
// belongs to another checkout, Down touches nothing of it. It is safe to run at any time.
func Down(ctx context.Context, l Layout, out io.Writer, opts DownOptions) error {
	m, release, err := lockAndProbe(ctx, l.Dir)
	if err != nil {
		return err
	}
	defer release()
	owner := m.owner()
	switch {
	case owner == l.Dir:
		return l.teardown(ctx, m, out)
	case owner == "" && len(m.leftovers()) == 0:
		// Nothing of any stack is here; clear this checkout's runtime state.
		return l.teardown(ctx, m, out)
	case !opts.Orphaned:
		if err := m.conflict(l.Dir); err != nil {
			fmt.Fprintf(out, "nothing of this checkout's stack runs; this was left alone:\n%v\n", err)
			return nil
		}
		// A stale claim of a gone checkout that left nothing: drop it.
		return l.teardown(ctx, m, out)
	case owner != "" && exists(filepath.Dir(owner)):
		return fmt.Errorf("the local stack of %s is not orphaned: stop it with  make -C %s sandbox-down", filepath.Dir(owner), filepath.Dir(owner))
	default:
		orphan := l
		if owner != "" {
			orphan = Layout{RepoDir: filepath.Dir(owner), Dir: owner, CacheDir: l.CacheDir}
		}
		fmt.Fprintf(out, "removing an orphaned stack (%s)\n", orDefault(owner, "no checkout claims it"))
		return orphan.teardown(ctx, m, out)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// teardown removes everything of the stack of l from the machine (m is what was found there).
func (l Layout) teardown(ctx context.Context, m machine, out io.Writer) error {
	rec := TeardownRecord{Dir: l.Dir, Time: time.Now()}
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, name := range stopOrder {
		if name == "containerd" {
			// The CRI removes pod sandboxes cleanly (network namespaces, CNI leases, mounts).
			note(l.removeAllPods(ctx))
		}
		stopped, err := l.stop(ctx, name, 15*time.Second)
		note(err)
		if stopped.PID != 0 {
			rec.Processes = append(rec.Processes, stopped)
			fmt.Fprintf(out, "stopped %-24s pid %d\n", name, stopped.PID)
		}
	}
	for _, p := range l.strayProcesses() {
		_ = syscall.Kill(p, syscall.SIGKILL)
		rec.Processes = append(rec.Processes, ProcessRecord{PID: p, StartTime: processStartTime(p)})
		fmt.Fprintf(out, "killed stray pid %d\n", p)
	}
	time.Sleep(200 * time.Millisecond)
	note(l.unmountAll())
	note(networkDown(ctx))
	note(removeCgroups())
	note(os.RemoveAll(l.StateDir()))
	note(os.RemoveAll(l.RunDir()))
	if exists(l.Dir) {
		if data, err := json.MarshalIndent(rec, "", "  "); err == nil {
			note(os.WriteFile(l.TeardownRecord(), data, 0o644))
		}
	}
	if left := Leftovers(ctx, l); len(left) > 0 {
		errs = append(errs, "left behind: "+strings.Join(left, "; "))
	} else if m.claim != nil {
		// Released only once nothing is left: until then other checkouts must keep off.
		note(releaseClaim(m.claim.Dir))
	}
	if len(errs) > 0 {
		return fmt.Errorf("sandbox down: %s", strings.Join(errs, "\n"))
	}
	fmt.Fprintln(out, "stack down: no process, mount, bridge, iptables rule or claim left (the guard routes stay)")
	return nil
}

// strayProcesses are processes of the stack that no pid file names: containerd shims (they detach
// on purpose), processes marked as this stack's whose pid file is lost, and whatever still runs in
// the kubelet's pod cgroups.
func (l Layout) strayProcesses() []int {
	pids := processesMatching("containerd-shim", l.ContainerdSocket())
	for _, p := range stackProcesses() {
		if p.Dir == l.Dir {
			pids = append(pids, p.PID)
		}
	}
	for _, dir := range kubepodsCgroups() {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "cgroup.procs" {
				data, _ := os.ReadFile(path)
				for _, f := range strings.Fields(string(data)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
						pids = append(pids, pid)
					}
				}
			}
			return nil
		})
	}
	return pids
}

// kubepodsCgroups are the kubelet's pod cgroup roots in every cgroup v1 hierarchy (or the v2 one).
func kubepodsCgroups() []string {
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if v2 := "/sys/fs/cgroup/kubepods"; exists(v2) {
		matches = append(matches, v2)
	}
	return matches
}

func removeCgroups() error {
	var errs []string
	for _, root := range kubepodsCgroups() {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		// Deepest first: a cgroup can only be removed once its children are.
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !os.IsNotExist(err) {
				errs = append(errs, fmt.Sprintf("rmdir %s: %v", d, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cgroups: %s", strings.Join(errs, "; "))
	}
	return nil
}

// mountsUnder lists mount points below dir (and pod network namespaces), deepest first.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") || strings.HasPrefix(mp, "/run/netns/cni-") || strings.HasPrefix(mp, "/var/run/netns/cni-") {
			mounts = append(mounts, mp)
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	return mounts
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

func (l Layout) unmountAll() error {
	var errs []string
	for i := 0; i < 3; i++ { // stacked mounts need several passes
		mounts := mountsUnder(l.Dir)
		if len(mounts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, m := range mounts {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL {
				errs = append(errs, fmt.Sprintf("umount %s: %v", m, err))
			}
		}
	}
	if left := mountsUnder(l.Dir); len(left) > 0 {
		return fmt.Errorf("mounts left: %s %s", strings.Join(left, ", "), strings.Join(errs, "; "))
	}
	return nil
}

// Leftovers lists anything of the stack that still exists: live processes, mounts, cgroups,
// bridge, routes, iptables rules. Empty means the machine is as it was.
func Leftovers(ctx context.Context, l Layout) []string {
	var left []string
	for _, name := range stopOrder {
		if rec, ok := l.running(name); ok {
			left = append(left, fmt.Sprintf("process %s pid %d", name, rec.PID))
		}
	}
	for _, p := range l.strayProcesses() {
		left = append(left, fmt.Sprintf("process pid %d", p))
	}
	for _, m := range mountsUnder(l.Dir) {
		left = append(left, "mount "+m)
	}
	for _, c := range kubepodsCgroups() {
		left = append(left, "cgroup "+c)
	}
	left = append(left, NetworkLeftovers(ctx)...)
	if out, err := run(ctx, "iptables-save"); err == nil && strings.Contains(out, ":KUBE-") {
		left = append(left, "iptables chains KUBE-*")
	}
	return left
}

// Unguard removes the guard routes, refusing while any local stack is on the machine.
func Unguard(ctx context.Context, l Layout) error {
	m, release, err := lockAndProbe(ctx, l.Dir)
	if err != nil {
		return err
	}
	defer release()
	if m.owner() != "" || len(m.leftovers()) > 0 {
		return fmt.Errorf("a local stack is on this machine: the guard routes stay while it is (%v)", m.conflict(""))
	}
	return GuardDown(ctx)
}
