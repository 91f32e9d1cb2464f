package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// inlineBackupConfig is a styrmin_backup with components written inline.
func inlineBackupConfig(namespace, components string) string {
	return fmt.Sprintf(`
provider "styrmin" {
  config_path = %q
}

resource "styrmin_backup" "app" {
  namespace       = %q
  backup_location = %q
  ttl             = "1h"
  deletion_policy = "delete"
  components = {
%s
  }
}
`, sandboxtest.ProviderKubeconfig(), namespace, os.Getenv("SANDBOX_DEFAULT_BSL"), components)
}

const sampleSelector = `"app.kubernetes.io/name" = "sample-app", "app.kubernetes.io/component"`

// Preflight failures name the component, the pod and the field, and create nothing.
func TestAccBackup_preflightFailures(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-pre")
	for name, tc := range map[string]struct {
		components string
		want       string
	}{
		"selector matches no pod": {
			components: `    ghost = { selector = { app = "nothing-here" }, backup = { kind = "disk", volumes = ["data"] } }`,
			want:       `(?s)ghost.*(no Running pod|matches no)`,
		},
		"volume missing from the pod": {
			components: `    files = { selector = { ` + sampleSelector + ` = "files" }, backup = { kind = "disk", volumes = ["no-such-volume"] } }`,
			want:       `(?s)files.*no-such-volume.*files-data`,
		},
		"container missing from the pod": {
			components: `    postgres = { selector = { ` + sampleSelector + ` = "postgres" }, backup = { kind = "postgres", volumes = ["postgres-dump"], container = "pg" } }`,
			want:       `(?s)postgres.*"?pg"?.*postgres`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: inlineBackupConfig(app.namespace, tc.components), ExpectError: regexp.MustCompile(tc.want)}},
			})
			if n := countBackups(t, stack, app.namespace); n != 0 {
				t.Errorf("a failed preflight left %d Velero backups of %s", n, app.namespace)
			}
		})
	}
}

// A dump that fails (the database no longer accepts the password in the container's
// environment) fails the backup with the dump tool's own message.
func TestAccBackup_dumpFailsWithToolMessage(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-dumpfail")
	app.exec(app.namespace, "mariadb", mariadb+` "alter user 'root'@'localhost' identified by 'changed-out-of-band'; alter user 'root'@'%' identified by 'changed-out-of-band'"`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: inlineBackupConfig(app.namespace,
				`    mariadb = { selector = { `+sampleSelector+` = "mariadb" }, backup = { kind = "mariadb", volumes = ["mariadb-dump"], container = "mariadb" } }`),
			ExpectError: regexp.MustCompile(`(?s)did not capture what it must.*Access denied for user 'root'`),
		}},
	})
}

// An apply interrupted while it waits (Ctrl-C) keeps the backup in state; the next apply waits
// for that same backup and verifies it: there is never a second Velero backup. Velero runs one
// backup at a time, so the interrupt may come while the backup still waits in Velero's queue,
// before Velero started it: the resumed apply must then accept every result Velero sets later
// (a start time it did not have included).
func TestAccBackup_interruptedApplyResumes(t *testing.T) {
	stack := sandboxtest.Require(t)
	for _, tc := range []struct {
		name   string
		queued bool
	}{
		{name: "while Velero runs it"},
		{name: "while it waits in Velero's queue", queued: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := deploySampleApp(t, stack, "acc-interrupt")
			app.write("x", 3)
			if tc.queued {
				occupyVelero(t, stack, 40*time.Second)
			}
			// The action's export waits 20 s, so the backup is still running when the apply is interrupted.
			terraform := interruptedBackup(t, stack, app.namespace, "sleep 20; tar -C /data -cf /export/notes.tar .")
			interrupted := stateOf(t, terraform)
			if tc.queued && !regexp.MustCompile(`started_at\s+= ""`).Match(interrupted) {
				t.Fatalf("the case needs a backup that Velero had not started when the apply was interrupted; state:\n%s", interrupted)
			}

			// The resumed wait reports the backup's progress at INFO.
			resumed := terraform("apply", "-auto-approve", "-input=false")
			logPath := filepath.Join(t.TempDir(), "provider.log")
			resumed.Env = append(resumed.Env, "TF_LOG_PROVIDER=INFO", "TF_LOG_PATH="+logPath)
			if result, err := resumed.CombinedOutput(); err != nil {
				t.Fatalf("the apply after the interrupt failed: %v\n%s", err, result)
			}
			if log, err := os.ReadFile(logPath); err != nil || !regexp.MustCompile(`Velero backup \S+: Completed, \d+ of \d+ items`).Match(log) {
				t.Errorf("the provider's INFO log (%v) shows no progress of the backup", err)
			}
			if n := countBackups(t, stack, app.namespace); n != 1 {
				t.Fatalf("%d Velero backups of %s after an interrupted and a resumed apply, want exactly 1", n, app.namespace)
			}
			state := stateOf(t, terraform)
			if !regexp.MustCompile(`verified\s+= true`).Match(state) || !regexp.MustCompile(`phase\s+= "Completed"`).Match(state) {
				t.Errorf("the resumed backup is not verified and Completed:\n%s", state)
			}
		})
	}
}

// interruptedBackup applies a styrmin_backup of namespace whose one component is the sample
// app's notes action with backupCommand, interrupts the apply (SIGINT) once the Velero backup
// exists, and returns the terraform of that configuration for what the test does next.
func interruptedBackup(t *testing.T, stack *sandboxtest.Stack, namespace, backupCommand string) func(args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	config := requiredProviders + inlineBackupConfig(namespace, fmt.Sprintf(`    notes = {
      selector = { `+sampleSelector+` = "notes" }
      backup = {
        kind           = "action"
        container      = "notes"
        volumes        = ["notes-export"]
        backup_command = ["/bin/sh", "-c", %q]
      }
    }`, backupCommand))
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	terraform := terraformIn(t, dir)
	first := terraform("apply", "-auto-approve", "-input=false")
	var out strings.Builder
	first.Stdout, first.Stderr = &out, &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for countBackups(t, stack, namespace) == 0 {
		if time.Now().After(deadline) {
			_ = first.Process.Kill()
			t.Fatalf("no Velero backup appeared; terraform said:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if !strings.Contains(out.String(), "Stopped waiting for the backup") {
		t.Fatalf("the interrupted apply did not stop waiting as expected:\n%s", out.String())
	}
	return terraform
}

// terraformIn returns a function that makes terraform commands in dir, and destroys what they
// created when the test ends.
func terraformIn(t *testing.T, dir string) func(args ...string) *exec.Cmd {
	t.Helper()
	terraform := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(args, "-no-color")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1")
		return cmd
	}
	t.Cleanup(func() { _ = terraform("destroy", "-auto-approve", "-input=false").Run() })
	return terraform
}

func stateOf(t *testing.T, terraform func(args ...string) *exec.Cmd) []byte {
	t.Helper()
	state, err := terraform("state", "show", "styrmin_backup.app").CombinedOutput()
	if err != nil {
		t.Fatalf("terraform state show: %v\n%s", err, state)
	}
	return state
}

// occupyVelero keeps Velero busy for about d with a backup of a namespace of its own, whose pre
// hook sleeps: Velero runs one backup at a time, so a backup made meanwhile waits in its queue.
// The busy backup is deleted (with its data) when the test ends.
func occupyVelero(t *testing.T, stack *sandboxtest.Stack, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := stack.Namespace(t, "acc-busy")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "busy", Labels: map[string]string{"app": "busy"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: new(bool), TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{Name: "main", Image: images.UtilImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c", "exec sleep 2147483647"}}},
		},
	}
	if _, err := stack.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitPodRunning(ctx, ns, "app=busy"); err != nil {
		t.Fatal(err)
	}
	busy := &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: velerov1.BackupSpec{
			IncludedNamespaces: []string{ns}, StorageLocation: os.Getenv("SANDBOX_DEFAULT_BSL"), TTL: metav1.Duration{Duration: time.Hour},
			Hooks: velerov1.BackupHooks{Resources: []velerov1.BackupResourceHookSpec{{
				Name: "busy", IncludedNamespaces: []string{ns},
				PreHooks: []velerov1.BackupResourceHook{{Exec: &velerov1.ExecHook{
					Container: "main", Command: []string{"/bin/sh", "-c", fmt.Sprintf("sleep %d", int(d.Seconds()))},
					OnError: velerov1.HookErrorModeContinue, Timeout: metav1.Duration{Duration: d + time.Minute},
				}}},
			}}},
		},
	}
	if _, err := velero.Create(ctx, stack.Velero, busy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cleanup, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := (backups.Runner{Velero: stack.Velero}).DeleteBackup(cleanup, ns); err != nil {
			t.Errorf("delete the busy backup: %v", err)
		}
	})
	if _, err := velero.WaitFor(ctx, stack.Velero, ns, func(b *velerov1.Backup) (bool, error) {
		return b.Status.Phase == velerov1.BackupPhaseInProgress, nil
	}); err != nil {
		t.Fatalf("the busy backup did not start: %v", err)
	}
}

func countBackups(t *testing.T, stack *sandboxtest.Stack, namespace string) int {
	t.Helper()
	list, err := velero.List[velerov1.Backup](context.Background(), stack.Velero, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range list {
		if len(b.Spec.IncludedNamespaces) == 1 && b.Spec.IncludedNamespaces[0] == namespace {
			n++
		}
	}
	return n
}

// A restore hook that fails (here an action's import refuses the data) fails the apply, naming
// the hook, its container and its exit code from the restore's results in the bucket. (Velero
// runs post-restore hooks after it uploaded the restore's log: their stderr is only in the
// Velero server's own log.)
func TestAccRestore_failingHookFails(t *testing.T) {
	stack := sandboxtest.Require(t)
	app := deploySampleApp(t, stack, "acc-rfail")
	app.write("x", 3)
	clone := app.namespace + "-clone"
	t.Cleanup(func() { stack.DeleteNamespace(clone) })
	components := `    notes = {
      selector = { ` + sampleSelector + ` = "notes" }
      backup = {
        kind            = "action"
        container       = "notes"
        volumes         = ["notes-export"]
        backup_command  = ["/bin/sh", "-c", "tar -C /data -cf /export/notes.tar ."]
        restore_command = ["/bin/sh", "-c", "echo 'import refused: unknown archive format' >&2; exit 3"]
      }
    }`
	restore := fmt.Sprintf(`
resource "styrmin_restore" "clone" {
  backup_name      = styrmin_backup.app.name
  target_namespace = %q
  components       = styrmin_backup.app.components
}
`, clone)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      inlineBackupConfig(app.namespace, components) + restore,
			ExpectError: regexp.MustCompile(`(?s)did not bring back what it must.*hook styrmin-notes in container notes failed.*exit code 3`),
		}},
	})
}
