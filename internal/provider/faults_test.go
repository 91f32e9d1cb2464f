package provider

// The fault suite: each scenario takes a part of the running stack away (a crash, a restart, a
// hung server, an interrupt, a competing apply, a deleted object) while the terraform CLI applies
// the built provider, and checks that the apply ends as the fault table says and that the
// next apply leaves exactly one verified backup. Every scenario counts what it left in Velero's
// namespace and the bucket once its configuration is destroyed. It stops and starts stack
// components, so make test runs it alone (STYRMIN_FAULT_TESTS=1, make testfaults); TestMain
// prints the tally.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

const faultSwitch = "STYRMIN_FAULT_TESTS"

// tally is what the suite prints at the end: scenarios run and survived, and what they left.
var tally struct {
	sync.Mutex
	run, survived, leftovers int
	failed                   []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tally.run > 0 {
		fmt.Printf("\nfaults survived: %d of %d\nduplicates or orphans left: %d\n", tally.survived, tally.run, tally.leftovers)
		for _, name := range tally.failed {
			fmt.Printf("  not survived: %s\n", name)
		}
	}
	os.Exit(code)
}

// faultScenario is one scenario on the running stack: its sample app, its terraform working
// directory, and the stack's layout for taking components away.
type faultScenario struct {
	t      *testing.T
	stack  *sandboxtest.Stack
	layout sandbox.Layout
	app    *sampleApp
}

// newFaultScenario gates the test on the suite's switch, deploys the sample app with some data,
// and registers, first (so it runs last, after the configuration is destroyed and the namespace
// deleted), the count of what the scenario left behind.
func newFaultScenario(t *testing.T, prefix string) *faultScenario {
	t.Helper()
	acctest.Switch(t, faultSwitch, "stops and starts parts of the running stack")
	acctest.RequireRoot(t)
	stack := sandboxtest.Require(t)
	layout, err := sandbox.NewLayout(filepath.Dir(os.Getenv("SANDBOX_DIR")))
	if err != nil {
		t.Fatal(err)
	}
	before := takeInventory(t, stack)
	t.Cleanup(func() {
		left := waitInventory(t, stack, before)
		tally.Lock()
		defer tally.Unlock()
		tally.run++
		tally.leftovers += len(left)
		if len(left) > 0 {
			t.Errorf("the scenario left behind: %s", strings.Join(left, "; "))
		}
		if t.Failed() {
			tally.failed = append(tally.failed, t.Name())
		} else {
			tally.survived++
		}
	})
	s := &faultScenario{t: t, stack: stack, layout: layout}
	s.app = deploySampleApp(t, stack, prefix)
	s.app.write("fault", 5)
	return s
}

// faultComponents backs up the sample app's postgres (a dump proven from the backup's log) and
// its notes action, whose export and import first sleep for pause seconds so that a fault can
// come while Velero is busy with the backup or the restore.
func faultComponents(pause int) string {
	return fmt.Sprintf(`    postgres = {
      selector = { `+sampleSelector+` = "postgres" }
      backup   = { kind = "postgres", container = "postgres", volumes = ["postgres-dump"] }
    }
    notes = {
      selector = { `+sampleSelector+` = "notes" }
      backup = {
        kind            = "action"
        container       = "notes"
        volumes         = ["notes-export"]
        backup_command  = ["/bin/sh", "-c", "sleep %[1]d; tar -C /data -cf /export/notes.tar ."]
        restore_command = ["/bin/sh", "-c", "sleep %[1]d; tar -C /data -xf /export/notes.tar"]
      }
    }`, pause)
}

// workspace writes config into a new terraform working directory and returns its terraform
// (destroying what it made when the test ends).
func (s *faultScenario) workspace(config string) func(args ...string) *exec.Cmd {
	s.t.Helper()
	dir := s.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(requiredProviders+config), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return terraformIn(s.t, dir)
}

// backupWorkspace is a workspace whose configuration backs up the scenario's app.
func (s *faultScenario) backupWorkspace(pause int) func(args ...string) *exec.Cmd {
	return s.workspace(inlineBackupConfig(s.app.namespace, faultComponents(pause)))
}

// running is a terraform command started in the background, its output collected.
type running struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (s *faultScenario) start(cmd *exec.Cmd) *running {
	s.t.Helper()
	r := &running{cmd: cmd, out: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			if err := <-r.done; err != nil {
				s.t.Logf("terraform, killed at the end of the test: %v", err)
			}
		}
	})
	return r
}

// finish waits for the command, at most limit, and returns its output and error.
func (r *running) finish(t *testing.T, limit time.Duration) (string, error) {
	t.Helper()
	select {
	case err := <-r.done:
		return r.out.String(), err
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		killed := <-r.done
		t.Fatalf("terraform still ran after %s (killed: %v); it said:\n%s", limit, killed, r.out.String())
		return "", nil
	}
}

// interrupt sends SIGINT (Ctrl-C) and waits for terraform to stop.
func (r *running) interrupt(t *testing.T) string {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	out, _ := r.finish(t, 2*time.Minute)
	return out
}

// apply runs terraform apply to its end and fails the test unless it succeeds.
func (s *faultScenario) apply(terraform func(args ...string) *exec.Cmd, what string) {
	s.t.Helper()
	out, err := terraform("apply", "-auto-approve", "-input=false").CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: terraform apply failed: %v\n%s", what, err, out)
	}
}

// applyFails runs terraform apply and fails the test unless it fails with every message of want.
func (s *faultScenario) applyFails(terraform func(args ...string) *exec.Cmd, what string, want ...string) {
	s.t.Helper()
	out, err := terraform("apply", "-auto-approve", "-input=false").CombinedOutput()
	if err == nil {
		s.t.Fatalf("%s: terraform apply succeeded, want a failure:\n%s", what, out)
	}
	expectMessages(s.t, what, string(out), want...)
}

func expectMessages(t *testing.T, what, out string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ")
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(flat) {
			t.Errorf("%s: the output does not match %q:\n%s", what, w, out)
		}
	}
}

// backupsOf are the Velero backups of the scenario's namespace.
func (s *faultScenario) backupsOf() []velerov1.Backup {
	s.t.Helper()
	list, err := velero.List[velerov1.Backup](context.Background(), s.stack.Velero, "")
	if err != nil {
		s.t.Fatal(err)
	}
	var mine []velerov1.Backup
	for _, b := range list {
		if len(b.Spec.IncludedNamespaces) == 1 && b.Spec.IncludedNamespaces[0] == s.app.namespace {
			mine = append(mine, b)
		}
	}
	return mine
}

// waitBackup waits until a Velero backup of the namespace exists and until ready holds for it.
func (s *faultScenario) waitBackup(what string, ready func(velerov1.Backup) bool) {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		for _, b := range s.backupsOf() {
			if ready(b) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no backup of %s became %s", s.app.namespace, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exactlyOneVerified checks that the namespace has exactly one Velero backup and that state holds
// it, Completed and verified.
func (s *faultScenario) exactlyOneVerified(terraform func(args ...string) *exec.Cmd) {
	const address = "styrmin_backup.app"
	s.t.Helper()
	list := s.backupsOf()
	names := make([]string, len(list))
	for i, b := range list {
		names[i] = b.Name + " (" + backupsPhase(b) + ")"
	}
	if len(list) != 1 {
		tally.Lock()
		tally.leftovers += max(len(list)-1, 0)
		tally.Unlock()
		s.t.Errorf("%d Velero backups of %s (%s), want exactly 1", len(list), s.app.namespace, strings.Join(names, ", "))
	}
	state, err := terraform("state", "show", address).CombinedOutput()
	if err != nil {
		s.t.Fatalf("terraform state show %s: %v\n%s", address, err, state)
	}
	for _, want := range []string{`verified\s+= true`, `phase\s+= "Completed"`} {
		if !regexp.MustCompile(want).Match(state) {
			s.t.Errorf("%s in state does not match %q:\n%s", address, want, state)
		}
	}
	if len(list) == 1 && !bytes.Contains(state, []byte(`"`+list[0].Name+`"`)) {
		s.t.Errorf("state holds another backup than Velero's %s:\n%s", list[0].Name, state)
	}
}

func backupsPhase(b velerov1.Backup) string {
	if b.Status.Phase == "" {
		return "New"
	}
	return string(b.Status.Phase)
}

// outage takes component c away (killed) and registers its restart for the end of the test, in
// case the test stops before it brings it back; the returned function brings it back now.
func (s *faultScenario) outage(c sandbox.Component) (restart func()) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.layout.Kill(ctx, c); err != nil {
		s.t.Fatal(err)
	}
	var once sync.Once
	restart = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := s.layout.Restart(ctx, c); err != nil {
				s.t.Fatalf("restart %s: %v", c, err)
			}
		})
	}
	s.t.Cleanup(restart)
	return restart
}

// inventory is what exists, by kind, in Velero's namespace and the stack's bucket.
type inventory map[string]map[string]bool

func takeInventory(t *testing.T, stack *sandboxtest.Stack) inventory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv := inventory{}
	add := func(kind string, names ...string) {
		if inv[kind] == nil {
			inv[kind] = map[string]bool{}
		}
		for _, n := range names {
			inv[kind][n] = true
		}
	}
	veleroNames := func(kind string, list func() ([]string, error)) {
		names, err := list()
		if err != nil {
			t.Fatalf("list %s: %v", kind, err)
		}
		add(kind, names...)
	}
	veleroNames("Velero backup", func() ([]string, error) { return objectNames[velerov1.Backup](ctx, stack) })
	veleroNames("Velero restore", func() ([]string, error) { return objectNames[velerov1.Restore](ctx, stack) })
	veleroNames("backup storage location", func() ([]string, error) { return objectNames[velerov1.BackupStorageLocation](ctx, stack) })
	veleroNames("styrmin ServerStatusRequest", func() ([]string, error) {
		list, err := velero.List[velerov1.ServerStatusRequest](ctx, stack.Velero, velero.ManagedByLabel+"="+velero.ManagedBy)
		names := make([]string, len(list))
		for i := range list {
			names[i] = list[i].Name
		}
		return names, err
	})
	secrets, err := stack.Kube.CoreV1().Secrets(stack.VeleroNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		add("Secret", s.Name)
	}
	for _, folder := range []string{"backups/", "restores/"} {
		prefix := sandbox.DefaultBSLPrefix + "/" + folder
		pages := s3.NewListObjectsV2Paginator(stack.S3, &s3.ListObjectsV2Input{Bucket: aws.String(stack.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
		add("bucket prefix")
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatalf("list the bucket: %v", err)
			}
			for _, p := range page.CommonPrefixes {
				add("bucket prefix", aws.ToString(p.Prefix))
			}
		}
	}
	return inv
}

func objectNames[T velero.Object](ctx context.Context, stack *sandboxtest.Stack) ([]string, error) {
	list, err := velero.List[T](ctx, stack.Velero, "")
	names := make([]string, 0, len(list))
	for i := range list {
		if object, ok := any(&list[i]).(metav1.Object); ok {
			names = append(names, object.GetName())
		}
	}
	return names, err
}

// added lists what now exists that did not before.
func (before inventory) added(now inventory) []string {
	var left []string
	for kind, names := range now {
		for name := range names {
			if !before[kind][name] {
				left = append(left, kind+" "+name)
			}
		}
	}
	sort.Strings(left)
	return left
}

// waitInventory waits, a bounded time, until nothing beyond before is left (Velero deletes a
// backup's data, and its restores, a moment after the backup), and returns what is still left.
func waitInventory(t *testing.T, stack *sandboxtest.Stack, before inventory) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		left := before.added(takeInventory(t, stack))
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(2 * time.Second)
	}
}

// patchNodeAgent changes the node-agent DaemonSet's pod template node selector: nil runs it
// again on every node.
func (s *faultScenario) patchNodeAgent(selector map[string]string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	patch := `{"spec":{"template":{"spec":{"nodeSelector":null}}}}`
	if selector != nil {
		patch = fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{%q:%q}}}}}`, "styrmin-fault", selector["styrmin-fault"])
	}
	if _, err := s.stack.Kube.AppsV1().DaemonSets(s.stack.VeleroNamespace).Patch(ctx, "node-agent", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

// nodeAgentRunning waits until the node-agent pods are Running (want) or all gone.
func (s *faultScenario) nodeAgentRunning(want bool) {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		pods, err := s.stack.Kube.CoreV1().Pods(s.stack.VeleroNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "role=node-agent"})
		if err != nil {
			s.t.Fatal(err)
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		if (want && running > 0) || (!want && len(pods.Items) == 0) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("node-agent pods: %d of %d Running, want running=%v", running, len(pods.Items), want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// --- the scenarios -------------------------------------------------------------------------

// Velero server down when the apply starts: the apply fails at its preflight, naming the Velero
// server, and creates nothing; once the server is back the next apply makes a verified backup.
func TestFault_veleroServerDownWhenTheApplyStarts(t *testing.T) {
	newFaultScenario(t, "fault-vdown").refusedWhileDown(sandbox.VeleroServer,
		`Velero server in namespace velero did not answer a ServerStatusRequest within 20s`)
}

// refusedWhileDown: with c down, an apply fails with every message of want and creates nothing;
// with c back, the next apply makes exactly one verified backup.
func (s *faultScenario) refusedWhileDown(c sandbox.Component, want ...string) {
	s.t.Helper()
	terraform := s.backupWorkspace(0)
	restart := s.outage(c)
	start := time.Now()
	s.applyFails(terraform, "apply with "+string(c)+" down", want...)
	s.t.Logf("the apply failed after %s", time.Since(start).Round(time.Second))
	if n := len(s.backupsOf()); n != 0 {
		s.t.Errorf("the refused apply left %d Velero backups", n)
	}
	restart()
	s.apply(terraform, "apply with "+string(c)+" back")
	s.exactlyOneVerified(terraform)
}

// Velero server killed while it runs a backup, then started again: Velero marks the backup it
// was running Failed when it starts, the apply ends then with Velero's reason (not after its
// 30-minute timeout), and the next apply replaces it with a verified backup.
func TestFault_veleroServerKilledDuringABackup(t *testing.T) {
	s := newFaultScenario(t, "fault-vkill")
	terraform := s.backupWorkspace(30)
	apply := s.start(terraform("apply", "-auto-approve", "-input=false"))
	s.waitBackup("InProgress", func(b velerov1.Backup) bool { return b.Status.Phase == velerov1.BackupPhaseInProgress })
	restart := s.outage(sandbox.VeleroServer)
	time.Sleep(3 * time.Second)
	restart()
	out, err := apply.finish(t, 5*time.Minute)
	if err == nil {
		t.Fatalf("the apply whose backup Velero lost succeeded:\n%s", out)
	}
	expectMessages(t, "the apply whose backup Velero lost", out, `Velero finished the backup as Failed`, `velero backup (describe|logs)`)
	s.apply(terraform, "the apply after the Velero server came back")
	s.exactlyOneVerified(terraform)
}

// The API server restarted while the provider waits for a backup, then for a restore: both
// applies go on and succeed, with exactly one Velero backup and one verified restore.
//
// Velero needs the API server for every item it backs up or restores and for every hook it runs
// (an exec stream), so an outage in the middle of that fails the backup in Velero itself (its
// reason, "connection refused", is then the apply's error). What is tested is the provider's own
// wait: the outage comes while Velero waits without a request in flight, the backup queued behind
// another one and the restore waiting for its pods to be scheduled (the node cordoned), and the
// Velero server is held (SIGSTOP) while the API server is down.
func TestFault_apiServerRestartedDuringABackupAndARestore(t *testing.T) {
	s := newFaultScenario(t, "fault-api")
	clone := s.app.namespace + "-clone"
	t.Cleanup(func() { s.stack.DeleteNamespace(clone) })
	backupOnly := inlineBackupConfig(s.app.namespace, faultComponents(0))
	terraform := s.workspace(backupOnly)

	occupyVelero(t, s.stack, 45*time.Second)
	apply := s.start(terraform("apply", "-auto-approve", "-input=false"))
	s.waitBackup("queued", func(velerov1.Backup) bool { return true })
	s.bounceAPIServer()
	if out, err := apply.finish(t, 5*time.Minute); err != nil {
		t.Fatalf("the backup's apply across an API server restart failed: %v\n%s", err, out)
	}
	s.exactlyOneVerified(terraform)

	// The same configuration plus a restore into a clone namespace, whose pods cannot be scheduled
	// until the node is uncordoned.
	restore := fmt.Sprintf(`
resource "styrmin_restore" "clone" {
  backup_name      = styrmin_backup.app.name
  target_namespace = %q
  components       = styrmin_backup.app.components
}
`, clone)
	if err := os.WriteFile(filepath.Join(terraform("version").Dir, "main.tf"), []byte(requiredProviders+backupOnly+restore), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cordon(true)
	t.Cleanup(func() { s.cordon(false) })
	apply = s.start(terraform("apply", "-auto-approve", "-input=false"))
	s.waitRestore(clone, velerov1.RestorePhaseInProgress)
	// Every item restored: Velero waits for the unschedulable pods, with no item in its plugins'
	// hands. A freeze while its plugins process items can end the restore Failed (seen once).
	s.waitRestoreItems(clone)
	s.bounceAPIServer()
	s.cordon(false)
	if out, err := apply.finish(t, 5*time.Minute); err != nil {
		t.Fatalf("the restore's apply across an API server restart failed: %v\n%s", err, out)
	}
	state, err := terraform("state", "show", "styrmin_restore.clone").CombinedOutput()
	if err != nil || !regexp.MustCompile(`verified\s+= true`).Match(state) {
		t.Errorf("the restore is not verified (%v):\n%s", err, state)
	}
	s.exactlyOneVerified(terraform)
}

// bounceAPIServer kills the API server, waits 5 s and starts it again, with the Velero server held
// (SIGSTOP) meanwhile so that it sends nothing into the outage. Then it restarts Velero's
// node-agent, as an operator would: Velero 1.18's node-agent does not always resume watching the
// pods it starts for a PodVolumeBackup after an API server restart (seen here: a PodVolumeBackup
// left Accepted, its data-path pod Running, for minutes), which is Velero's to fix, not what this
// scenario tests.
func (s *faultScenario) bounceAPIServer() {
	s.t.Helper()
	thaw, err := s.layout.Freeze(sandbox.VeleroServer)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(thaw)
	restart := s.outage(sandbox.APIServer)
	time.Sleep(5 * time.Second)
	restart()
	// Still held: Velero must not start a backup while no node-agent runs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.stack.Kube.CoreV1().Pods(s.stack.VeleroNamespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "name=node-agent"}); err != nil {
		s.t.Fatalf("restart node-agent: %v", err)
	}
	s.nodeAgentRunning(true)
	thaw()
}

// cordon marks the stack's node unschedulable (on) or schedulable again.
func (s *faultScenario) cordon(on bool) {
	s.t.Helper()
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	if _, err := s.stack.Kube.CoreV1().Nodes().Patch(context.Background(), sandbox.NodeName, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		s.t.Fatalf("cordon=%t: %v", on, err)
	}
}

// waitRestore waits until a Velero restore into target is in phase.
func (s *faultScenario) waitRestore(target string, phase velerov1.RestorePhase) {
	s.t.Helper()
	s.waitRestoreUntil(target, "became "+string(phase), func(r velerov1.Restore) bool { return r.Status.Phase == phase })
}

// waitRestoreItems waits until the restore into target has restored every item it counted.
func (s *faultScenario) waitRestoreItems(target string) {
	s.t.Helper()
	s.waitRestoreUntil(target, "restored all its items", func(r velerov1.Restore) bool {
		p := r.Status.Progress
		return p != nil && p.TotalItems > 0 && p.ItemsRestored >= p.TotalItems
	})
}

// waitRestoreUntil waits, at most 3 minutes, until a Velero restore into target is done.
func (s *faultScenario) waitRestoreUntil(target, what string, done func(velerov1.Restore) bool) {
	s.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		restores, err := velero.List[velerov1.Restore](context.Background(), s.stack.Velero, "")
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range restores {
			if r.Spec.NamespaceMapping[s.app.namespace] == target && done(r) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no restore into %s %s", target, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// No node-agent on the node: a backup of components whose volumes need file-system backup is
// refused before anything is created; with node-agent back, the next apply succeeds.
func TestFault_nodeAgentNotRunning(t *testing.T) {
	s := newFaultScenario(t, "fault-agent")
	terraform := s.backupWorkspace(0)
	s.patchNodeAgent(map[string]string{"styrmin-fault": "no-such-node"})
	t.Cleanup(func() { s.patchNodeAgent(nil); s.nodeAgentRunning(true) })
	s.nodeAgentRunning(false)
	s.applyFails(terraform, "apply without node-agent", `node-agent`, `postgres`)
	if n := len(s.backupsOf()); n != 0 {
		t.Errorf("the refused apply left %d Velero backups", n)
	}
	s.patchNodeAgent(nil)
	s.nodeAgentRunning(true)
	s.apply(terraform, "apply with node-agent back")
	s.exactlyOneVerified(terraform)
}

// MinIO down when the apply starts: the preflight fails naming the location's endpoint, and
// creates nothing; once MinIO is back the next apply succeeds.
func TestFault_objectStoreDownWhenTheApplyStarts(t *testing.T) {
	newFaultScenario(t, "fault-s3down").refusedWhileDown(sandbox.ObjectStore,
		`the bucket of backup storage location "default" cannot be read`, regexp.QuoteMeta(sandbox.S3Endpoint()))
}

// MinIO stopped while Velero runs a backup: the apply fails with Velero's reason, and once MinIO
// is back the next apply replaces the failed backup with a verified one.
func TestFault_objectStoreStoppedDuringABackup(t *testing.T) {
	s := newFaultScenario(t, "fault-s3stop")
	terraform := s.backupWorkspace(15)
	apply := s.start(terraform("apply", "-auto-approve", "-input=false"))
	s.waitBackup("InProgress", func(b velerov1.Backup) bool { return b.Status.Phase == velerov1.BackupPhaseInProgress })
	restart := s.outage(sandbox.ObjectStore)
	out, err := apply.finish(t, 5*time.Minute)
	restart()
	if err == nil {
		t.Fatalf("the apply whose bucket went away succeeded:\n%s", out)
	}
	expectMessages(t, "the apply whose bucket went away", out, `Velero finished the backup as (Failed|PartiallyFailed)`)
	if s.unreadyRepositories() > 0 {
		s.applyFails(terraform, "the apply while the repository is NotReady", `backup\W+repository .* is\W+NotReady`, `delete\W+backuprepository`)
	}
	s.dropUnreadyRepositories()
	s.apply(terraform, "the apply after MinIO came back")
	s.exactlyOneVerified(terraform)
}

// dropUnreadyRepositories does what the backup page tells operators after a store outage: a
// BackupRepository that Velero marked NotReady while the store was down fails every backup of the
// namespace ("errored early") until Velero re-checks it (every 5 minutes); deleted, it is made
// again by the next backup. Whether the outage hit before the repository was ready is timing.
func (s *faultScenario) dropUnreadyRepositories() {
	s.t.Helper()
	for _, r := range s.repositories() {
		if r.Status.Phase == velerov1.BackupRepositoryPhaseNotReady {
			s.t.Logf("BackupRepository %s is NotReady (%s): deleting it", r.Name, r.Status.Message)
			if err := velero.Delete[velerov1.BackupRepository](context.Background(), s.stack.Velero, r.Name); err != nil {
				s.t.Fatal(err)
			}
		}
	}
}

func (s *faultScenario) unreadyRepositories() int {
	s.t.Helper()
	n := 0
	for _, r := range s.repositories() {
		if r.Status.Phase == velerov1.BackupRepositoryPhaseNotReady {
			n++
		}
	}
	return n
}

func (s *faultScenario) repositories() []velerov1.BackupRepository {
	s.t.Helper()
	repos, err := velero.List[velerov1.BackupRepository](context.Background(), s.stack.Velero, velerov1.VolumeNamespaceLabel+"="+s.app.namespace)
	if err != nil {
		s.t.Fatal(err)
	}
	return repos
}

// Ctrl-C before the Velero backup exists (the preflight waits on a Velero server that hangs):
// nothing is left, and the next apply makes exactly one verified backup.
func TestFault_interruptedBeforeTheBackupExists(t *testing.T) {
	s := newFaultScenario(t, "fault-int0")
	terraform := s.backupWorkspace(0)
	thaw, err := s.layout.Freeze(sandbox.VeleroServer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(thaw)
	apply := s.start(terraform("apply", "-auto-approve", "-input=false"))
	waitForServerStatusRequest(t, s.stack)
	out := apply.interrupt(t)
	thaw()
	if n := len(s.backupsOf()); n != 0 {
		t.Errorf("the apply interrupted in its preflight left %d Velero backups:\n%s", n, out)
	}
	s.apply(terraform, "the apply after the interrupt")
	s.exactlyOneVerified(terraform)
}

// waitForServerStatusRequest waits until the provider's preflight asked the Velero server.
func waitForServerStatusRequest(t *testing.T, stack *sandboxtest.Stack) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := velero.List[velerov1.ServerStatusRequest](context.Background(), stack.Velero, velero.ManagedByLabel+"="+velero.ManagedBy)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the apply never asked the Velero server for its status")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ctrl-C while the provider waits for the backup: the next apply resumes the same backup.
func TestFault_interruptedDuringTheWait(t *testing.T) {
	s := newFaultScenario(t, "fault-int1")
	terraform := s.backupWorkspace(15)
	apply := s.start(terraform("apply", "-auto-approve", "-input=false"))
	s.waitBackup("InProgress", func(b velerov1.Backup) bool { return b.Status.Phase == velerov1.BackupPhaseInProgress })
	out := apply.interrupt(t)
	expectMessages(t, "the interrupted apply", out, `Stopped waiting for the backup`)
	s.apply(terraform, "the apply after the interrupt")
	s.exactlyOneVerified(terraform)
}

// Ctrl-C while the provider verifies the backup (its reads of the bucket are held up: the
// provider's packets to MinIO are dropped): the next apply verifies that same backup.
func TestFault_interruptedDuringVerification(t *testing.T) {
	s := newFaultScenario(t, "fault-int2")
	terraform := s.backupWorkspace(0)
	cmd := terraform("apply", "-auto-approve", "-input=false")
	cgroup := dropObjectStoreTrafficOf(t, cmd)
	apply := s.start(cmd)
	if err := os.WriteFile(filepath.Join(cgroup.dir, "cgroup.procs"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Blocked once the backup exists: the preflight reads the bucket too.
	s.waitBackup("created", func(velerov1.Backup) bool { return true })
	cgroup.block()
	s.waitBackup("Completed", func(b velerov1.Backup) bool { return b.Status.Phase == velerov1.BackupPhaseCompleted })
	time.Sleep(3 * time.Second) // the provider has seen it Completed and now reads the backup's log
	if apply.cmd.ProcessState != nil {
		t.Fatalf("the apply ended before it could be interrupted during verification:\n%s", apply.out.String())
	}
	out := apply.interrupt(t)
	cgroup.unblock()
	expectMessages(t, "the apply interrupted during verification", out, `Stopped verifying the backup`)
	s.apply(terraform, "the apply after the interrupt")
	s.exactlyOneVerified(terraform)
}

// faultCgroup is a cgroup (v2) whose processes' packets to MinIO are dropped while blocked.
type faultCgroup struct {
	t    *testing.T
	dir  string
	rule []string
	on   bool
}

// dropObjectStoreTrafficOf makes a cgroup for cmd (which the caller starts, then moves into it)
// and the rule that drops its packets to MinIO. The terraform CLI and the provider it starts
// are in it; Velero, its node-agent and the test are not.
func dropObjectStoreTrafficOf(t *testing.T, cmd *exec.Cmd) *faultCgroup {
	t.Helper()
	name := fmt.Sprintf("styrmin-fault-%d", time.Now().UnixNano())
	c := &faultCgroup{t: t, dir: filepath.Join("/sys/fs/cgroup/unified", name),
		rule: []string{"OUTPUT", "-m", "cgroup", "--path", name, "-d", sandbox.BridgeAddress, "-p", "tcp", "--dport", fmt.Sprint(sandbox.MinIOPort), "-j", "DROP"}}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		t.Fatalf("make a cgroup for the apply: %v", err)
	}
	t.Cleanup(func() {
		c.unblock()
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		for range 50 {
			if os.Remove(c.dir) == nil || errors.Is(os.Remove(c.dir), os.ErrNotExist) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cgroup %s is still there", c.dir)
	})
	return c
}

func (c *faultCgroup) block() {
	c.t.Helper()
	if out, err := exec.Command("iptables", append([]string{"-I"}, c.rule...)...).CombinedOutput(); err != nil {
		c.t.Fatalf("iptables: %v\n%s", err, out)
	}
	c.on = true
}

func (c *faultCgroup) unblock() {
	if c.on {
		c.on = false
		if out, err := exec.Command("iptables", append([]string{"-D"}, c.rule...)...).CombinedOutput(); err != nil {
			c.t.Errorf("iptables: %v\n%s", err, out)
		}
	}
}

// Two configurations back up the same namespace at the same time (production's and a copy's, say):
// Velero runs one backup at a time, so one waits in its queue; both applies succeed with distinct,
// verified backups.
func TestFault_twoConfigurationsBackUpOneNamespaceAtOnce(t *testing.T) {
	s := newFaultScenario(t, "fault-two")
	first, second := s.backupWorkspace(5), s.backupWorkspace(5)
	a := s.start(first("apply", "-auto-approve", "-input=false"))
	b := s.start(second("apply", "-auto-approve", "-input=false"))
	for _, r := range []*running{a, b} {
		if out, err := r.finish(t, 8*time.Minute); err != nil {
			t.Fatalf("one of the two applies failed: %v\n%s", err, out)
		}
	}
	list := s.backupsOf()
	if len(list) != 2 || list[0].Name == list[1].Name {
		t.Fatalf("%d Velero backups of %s, want 2 distinct ones", len(list), s.app.namespace)
	}
	for _, terraform := range []func(args ...string) *exec.Cmd{first, second} {
		state, err := terraform("state", "show", "styrmin_backup.app").CombinedOutput()
		if err != nil || !regexp.MustCompile(`verified\s+= true`).Match(state) {
			t.Errorf("a backup is not verified (%v):\n%s", err, state)
		}
	}
}

// The backup's files deleted from the bucket: refresh reports it (the plan replaces the backup,
// saying why), a restore from it fails with a message that names the missing file, and the next
// apply makes a new verified backup.
func TestFault_backupDeletedFromTheBucket(t *testing.T) {
	s := newFaultScenario(t, "fault-gone")
	clone := s.app.namespace + "-clone"
	t.Cleanup(func() { s.stack.DeleteNamespace(clone) })
	terraform := s.backupWorkspace(0)
	s.apply(terraform, "the first backup")
	name := s.backupsOf()[0].Name
	deletePrefix(t, s.stack, sandbox.DefaultBSLPrefix+"/backups/"+name+"/")

	out, err := terraform("plan", "-detailed-exitcode", "-input=false").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("the plan after the backup's files were deleted (%v) shows no change:\n%s", err, out)
	}
	expectMessages(t, "the plan after the backup's files were deleted", string(out), `must be replaced`, `files are gone from the bucket`)

	restoreOnly := s.workspace(fmt.Sprintf(`
provider "styrmin" {
  config_path = %q
}

resource "styrmin_restore" "clone" {
  backup_name      = %q
  target_namespace = %q
  components       = {
%s
  }
}
`, sandboxtest.ProviderKubeconfig(), name, clone, faultComponents(0)))
	s.applyFails(restoreOnly, "a restore from the deleted backup", name, `(missing|gone) from the bucket`)

	s.apply(terraform, "the apply after the backup's files were deleted")
	s.exactlyOneVerified(terraform)
}

func deletePrefix(t *testing.T, stack *sandboxtest.Stack, prefix string) {
	t.Helper()
	ctx := context.Background()
	list, err := stack.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(stack.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) == 0 {
		t.Fatalf("nothing under %s in the bucket", prefix)
	}
	for _, o := range list.Contents {
		if _, err := stack.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(stack.Bucket), Key: o.Key}); err != nil {
			t.Fatal(err)
		}
	}
}
