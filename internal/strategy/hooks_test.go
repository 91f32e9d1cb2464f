package strategy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

func resolveOne(t *testing.T, b driverspec.Backup, pod corev1.Pod) *Plan {
	t.Helper()
	plan, err := Resolve(Component{Name: "db", Selector: dbLabels, Backup: b}, []corev1.Pod{pod})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestDatabaseHookSpecs(t *testing.T) {
	pod := testPod("db-0", corev1.PodRunning, []string{"data", "dump"},
		testContainer("exporter"), testContainer("postgres", "data:/data", "dump:/backup"))
	for _, tt := range []struct {
		timeout, want time.Duration
	}{
		{0, driverspec.DefaultTimeout},
		{90 * time.Second, 90 * time.Second},
	} {
		b := driverspec.Backup{Enabled: true, Kind: driverspec.KindPostgres, Volumes: []string{"dump"}, Timeout: tt.timeout}
		plan := resolveOne(t, b, pod)

		if !plan.HasBackupHook() || !plan.HasRestoreHook() {
			t.Errorf("HasBackupHook %v, HasRestoreHook %v; a database kind has both", plan.HasBackupHook(), plan.HasRestoreHook())
		}
		backup := plan.BackupHooks("shop", testBackup)
		wantSelector := &metav1.LabelSelector{MatchLabels: dbLabels}
		if backup.Name != "styrmin-db" || !slices.Equal(backup.IncludedNamespaces, []string{"shop"}) {
			t.Errorf("backup hook spec %q in %q, want styrmin-db in [shop]", backup.Name, backup.IncludedNamespaces)
		}
		if diff := cmp.Diff(wantSelector, backup.LabelSelector); diff != "" {
			t.Errorf("backup hook selector (-want +got):\n%s", diff)
		}
		if len(backup.PreHooks) != 1 || len(backup.PostHooks) != 0 {
			t.Fatalf("backup hooks: %d pre, %d post; want 1 pre", len(backup.PreHooks), len(backup.PostHooks))
		}
		pre := backup.PreHooks[0].Exec
		if pre.Container != "postgres" || pre.OnError != velerov1.HookErrorModeFail || pre.Timeout.Duration != tt.want {
			t.Errorf("pre hook in %q, onError %q, timeout %v; want postgres, Fail, %v", pre.Container, pre.OnError, pre.Timeout.Duration, tt.want)
		}
		if len(pre.Command) != 3 || pre.Command[0] != "/bin/sh" || pre.Command[1] != "-c" || !strings.Contains(pre.Command[2], "pg_dump -Fc -Z 1") {
			t.Errorf("pre hook command %q, want [/bin/sh -c <pg_dump script>]", pre.Command)
		} else if !strings.Contains(pre.Command[2], ">'postgres.backup'") || !strings.Contains(pre.Command[2], shellQuote(testBackup)) {
			t.Errorf("the dump script does not write the backup's name %s into postgres.backup:\n%s", testBackup, pre.Command[2])
		}

		restore := plan.RestoreHooks("shop-clone", testBackup, map[string]string{"db-0": "a marker"})
		if restore.Name != "styrmin-db" || !slices.Equal(restore.IncludedNamespaces, []string{"shop-clone"}) {
			t.Errorf("restore hook spec %q in %q, want styrmin-db in [shop-clone]: restore hooks select the target namespace", restore.Name, restore.IncludedNamespaces)
		}
		if diff := cmp.Diff(wantSelector, restore.LabelSelector); diff != "" {
			t.Errorf("restore hook selector (-want +got):\n%s", diff)
		}
		if len(restore.PostHooks) != 1 || restore.PostHooks[0].Init != nil {
			t.Fatalf("restore hooks %+v, want one exec post hook", restore.PostHooks)
		}
		post := restore.PostHooks[0].Exec
		if post.Container != "postgres" || post.OnError != velerov1.HookErrorModeFail {
			t.Errorf("post hook in %q, onError %q; want postgres, Fail", post.Container, post.OnError)
		}
		if post.ExecTimeout.Duration != tt.want || post.WaitTimeout.Duration != tt.want+5*time.Minute {
			t.Errorf("post hook execTimeout %v, waitTimeout %v; want %v and %v", post.ExecTimeout.Duration, post.WaitTimeout.Duration, tt.want, tt.want+5*time.Minute)
		}
		if post.WaitForReady == nil || *post.WaitForReady {
			t.Errorf("post hook waitForReady %v, want an explicit false", post.WaitForReady)
		}
		if len(post.Command) != 3 || post.Command[0] != "/bin/sh" || !strings.Contains(post.Command[2], "pg_restore --single-transaction --clean --if-exists --exit-on-error") {
			t.Errorf("post hook command %q, want [/bin/sh -c <pg_restore script>]", post.Command)
		} else if !strings.Contains(post.Command[2], "'db-0') styrmin_recorded='a marker'") || !strings.Contains(post.Command[2], shellQuote(testBackup)) {
			t.Errorf("the restore script does not check the backup %s and the marker recorded for db-0:\n%s", testBackup, post.Command[2])
		}

		// The JSON Velero reads: onError and every timeout spelled out.
		data, err := json.Marshal(velerov1.BackupHooks{Resources: []velerov1.BackupResourceHookSpec{*backup}})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"onError":"Fail"`, `"timeout":"` + tt.want.String() + `"`, `"container":"postgres"`, `"matchLabels":{"app":"shop","component":"db"}`} {
			if !strings.Contains(string(data), want) {
				t.Errorf("backup hooks JSON lacks %s:\n%s", want, data)
			}
		}
		data, err = json.Marshal(restore)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"onError":"Fail"`, `"execTimeout":"` + tt.want.String() + `"`, `"waitTimeout":"` + (tt.want + 5*time.Minute).String() + `"`, `"waitForReady":false`} {
			if !strings.Contains(string(data), want) {
				t.Errorf("restore hooks JSON lacks %s:\n%s", want, data)
			}
		}
	}
}

func TestActionHookSpecs(t *testing.T) {
	pod := testPod("search-0", corev1.PodRunning, []string{"index"}, testContainer("search", "index:/index"))
	b := driverspec.Backup{
		Enabled: true, Kind: driverspec.KindAction, Container: "search", Volumes: []string{"index"},
		BackupCommand:  []string{"/bin/sh", "-c", "curl -X POST localhost:9200/_flush"},
		RestoreCommand: []string{"/usr/bin/reindex", "--all"},
		Timeout:        time.Minute,
	}
	plan := resolveOne(t, b, pod)
	if diff := cmp.Diff([]string{"index"}, plan.Volumes); diff != "" {
		t.Errorf("Volumes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ExpectedVolume{{Pod: "search-0", Volume: "index"}}, plan.ExpectedVolumes()); diff != "" {
		t.Errorf("ExpectedVolumes (-want +got):\n%s", diff)
	}
	if !plan.HasBackupHook() || !plan.HasRestoreHook() {
		t.Errorf("HasBackupHook %v, HasRestoreHook %v; want both", plan.HasBackupHook(), plan.HasRestoreHook())
	}
	pre := plan.BackupHooks("search", testBackup).PreHooks[0].Exec
	if diff := cmp.Diff(b.BackupCommand, pre.Command); diff != "" {
		t.Errorf("backup command is not run as given (-want +got):\n%s", diff)
	}
	if pre.Container != "search" || pre.OnError != velerov1.HookErrorModeFail || pre.Timeout.Duration != time.Minute {
		t.Errorf("pre hook %+v", pre)
	}
	post := plan.RestoreHooks("search", testBackup, nil).PostHooks[0].Exec
	if diff := cmp.Diff(b.RestoreCommand, post.Command); diff != "" {
		t.Errorf("restore command is not run as given (-want +got):\n%s", diff)
	}
	if post.ExecTimeout.Duration != time.Minute || post.WaitTimeout.Duration != 6*time.Minute || post.OnError != velerov1.HookErrorModeFail {
		t.Errorf("post hook %+v", post)
	}

	// The returned commands are copies: changing them leaves the plan alone.
	pre.Command[0] = "changed"
	if plan.BackupHooks("search", testBackup).PreHooks[0].Exec.Command[0] != "/bin/sh" {
		t.Error("the backup command shares memory with the plan")
	}

	b.RestoreCommand = nil
	plan = resolveOne(t, b, pod)
	if hooks := plan.RestoreHooks("search", testBackup, nil); hooks != nil || plan.HasRestoreHook() {
		t.Errorf("action without restore_command has restore hooks %+v (HasRestoreHook %v)", hooks, plan.HasRestoreHook())
	}
}

func TestDiskHasNoHooks(t *testing.T) {
	pod := testPod("files-0", corev1.PodRunning, []string{"data"}, testContainer("files", "data:/data"))
	plan := resolveOne(t, driverspec.Backup{Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"data"}}, pod)
	if plan.BackupHooks("ns", testBackup) != nil || plan.RestoreHooks("ns", testBackup, nil) != nil || plan.HasBackupHook() || plan.HasRestoreHook() {
		t.Error("disk runs something")
	}
	if plan.Container != "" || plan.Timeout != 0 {
		t.Errorf("disk plan has container %q and timeout %v", plan.Container, plan.Timeout)
	}
}
