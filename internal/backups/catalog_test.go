package backups

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

var catalogEpoch = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// catalogBackup is backup name of namespace app in location primary, started hours after the
// epoch, in phase, as styrmin_backup makes it of testDiskPlan (recorded) or as made by hand.
func catalogBackup(t *testing.T, env *testEnv, name string, hours int, phase velerov1.BackupPhase, recorded bool) *velerov1.Backup {
	t.Helper()
	b := testBackup(phase)
	b.Name = name
	b.Status.StartTimestamp = &metav1.Time{Time: catalogEpoch.Add(time.Duration(hours) * time.Hour)}
	if recorded {
		record, err := componentRecords([]*strategy.Plan{testDiskPlan()}, []corev1.Pod{*testPod("web-0"), *testPod("web-1")})
		if err != nil {
			t.Fatal(err)
		}
		b.Annotations = map[string]string{RecordAnnotation: record}
	}
	env.create(t, b)
	for _, key := range []string{velero.BackupMetadataKey(name), velero.BackupContentsKey(name), velero.BackupLogKey(name)} {
		env.bucket.put(key, "")
	}
	return b
}

// podsArchive is the tar of a backup's contents as Velero writes it, holding only pods.
func podsArchive(t *testing.T, namespace string, pods ...*corev1.Pod) string {
	t.Helper()
	var buf bytes.Buffer
	archive := tar.NewWriter(&buf)
	for _, pod := range pods {
		data, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{"resources/pods/namespaces/", "resources/pods/v1-preferredversion/namespaces/"} {
			if err := archive.WriteHeader(&tar.Header{Name: dir + namespace + "/" + pod.Name + ".json", Mode: 0o644, Size: int64(len(data))}); err != nil {
				t.Fatal(err)
			}
			if _, err := archive.Write(data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := archive.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func captureAll(t *testing.T, env *testEnv, backup string) {
	t.Helper()
	for _, pod := range []string{"web-0", "web-1"} {
		env.create(t, testPVB(backup+"-"+pod, backup, pod, velerov1.PodVolumeBackupPhaseCompleted, 100, 100))
	}
}

func TestFindBackups(t *testing.T) {
	ctx := context.Background()
	components := []driverspec.Component{testDiskComponent()}
	env := newTestEnv(t)

	catalogBackup(t, env, "running", 9, velerov1.BackupPhaseInProgress, true)
	catalogBackup(t, env, "by-hand", 8, velerov1.BackupPhaseCompleted, false)
	catalogBackup(t, env, "good-new", 7, velerov1.BackupPhaseCompleted, true)
	captureAll(t, env, "good-new")
	catalogBackup(t, env, "log-gone", 6, velerov1.BackupPhaseCompleted, true)
	captureAll(t, env, "log-gone")
	env.bucket.remove(velero.BackupLogKey("log-gone"))
	catalogBackup(t, env, "half", 5, velerov1.BackupPhaseCompleted, true)
	env.create(t, testPVB("half-web-0", "half", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 100, 100))
	catalogBackup(t, env, "partial", 4, velerov1.BackupPhasePartiallyFailed, true)
	catalogBackup(t, env, "good-old", 3, velerov1.BackupPhaseCompleted, true)
	captureAll(t, env, "good-old")
	// Made without this provider, but it captured every volume of the pods it holds.
	catalogBackup(t, env, "by-hand-complete", 2, velerov1.BackupPhaseCompleted, false)
	env.bucket.put(velero.BackupContentsKey("by-hand-complete"), podsArchive(t, "app", testPod("web-0"), testPod("web-1"), otherPod("db-0")))
	captureAll(t, env, "by-hand-complete")
	// Not found: another namespace, another location, one Velero is deleting.
	other := catalogBackup(t, env, "other-ns", 10, velerov1.BackupPhaseCompleted, true)
	other.Spec.IncludedNamespaces = []string{"app", "more"}
	if _, err := velero.Update(ctx, env.runner.Velero, other); err != nil {
		t.Fatal(err)
	}
	elsewhere := catalogBackup(t, env, "elsewhere", 10, velerov1.BackupPhaseCompleted, true)
	elsewhere.Spec.StorageLocation = "secondary"
	if _, err := velero.Update(ctx, env.runner.Velero, elsewhere); err != nil {
		t.Fatal(err)
	}
	catalogBackup(t, env, "going", 10, velerov1.BackupPhaseDeleting, true)

	found, err := env.runner.FindBackups(ctx, BackupQuery{Location: "primary", Namespace: "app"}, components)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, problem string }{
		{"running", "Velero has not finished it (InProgress)"},
		{"by-hand", `as backup by-hand captured the pods: component "files": identifier.label: selector app=web matches no pod`},
		{"good-new", ""},
		{"log-gone", "backups/log-gone/log-gone-logs.gz is gone from the bucket"},
		{"half", "component files: no PodVolumeBackup for volume data of pod web-1: the volume was not captured"},
		{"partial", "Velero finished it as PartiallyFailed (0 errors)"},
		{"good-old", ""},
		{"by-hand-complete", ""},
	}
	if len(found) != len(want) {
		t.Fatalf("found %d backups, want %d: %+v", len(found), len(want), found)
	}
	for i, w := range want {
		f := found[i]
		if f.Backup.Name != w.name || f.Verified != (w.problem == "") || !strings.Contains(f.Problem, w.problem) || (w.problem == "") != (f.Problem == "") {
			t.Errorf("found[%d] = %s verified=%v problem %q; want %s with problem containing %q", i, f.Backup.Name, f.Verified, f.Problem, w.name, w.problem)
		}
	}

	t.Run("filters", func(t *testing.T) {
		scheduled, err := velero.Get[velerov1.Backup](ctx, env.runner.Velero, "good-old")
		if err != nil {
			t.Fatal(err)
		}
		scheduled.Labels = map[string]string{velerov1.ScheduleNameLabel: "nightly", "tier": "gold"}
		if _, err := velero.Update(ctx, env.runner.Velero, scheduled); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name  string
			query BackupQuery
			want  string
		}{
			{"phase", BackupQuery{Phase: "PartiallyFailed"}, "partial"},
			{"schedule", BackupQuery{Schedule: "nightly"}, "good-old"},
			{"labels", BackupQuery{Labels: map[string]string{"tier": "gold"}}, "good-old"},
			{"since", BackupQuery{Since: catalogEpoch.Add(8 * time.Hour)}, "running,by-hand"},
		} {
			tt.query.Location, tt.query.Namespace = "primary", "app"
			found, err := env.runner.FindBackups(ctx, tt.query, components)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range found {
				names = append(names, f.Backup.Name)
			}
			if got := strings.Join(names, ","); got != tt.want {
				t.Errorf("%s: found %s, want %s", tt.name, got, tt.want)
			}
		}
	})
}

func TestFindUntilVerifiedWaitsForBackupSync(t *testing.T) {
	saved := findPollInterval
	findPollInterval = time.Millisecond
	t.Cleanup(func() { findPollInterval = saved })
	ctx := context.Background()
	env := newTestEnv(t)
	query := BackupQuery{Location: "primary", Namespace: "app"}
	components := []driverspec.Component{testDiskComponent()}

	found, err := env.runner.FindUntilVerified(ctx, query, components, 20*time.Millisecond)
	if err != nil || len(found) != 0 {
		t.Fatalf("with no backup: %+v, %v", found, err)
	}
	// Backup sync brings the backup in on the third search.
	catalogBackup(t, env, "synced", 1, velerov1.BackupPhaseCompleted, true)
	captureAll(t, env, "synced")
	searches := 0
	env.dyn.PrependReactor("list", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
		if searches++; searches < 3 {
			return true, &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "velero.io/v1", "kind": "BackupList"}}, nil
		}
		return false, nil, nil
	})
	found, err = env.runner.FindUntilVerified(ctx, query, components, time.Minute)
	if err != nil || len(found) != 1 || !found[0].Verified || searches != 3 {
		t.Fatalf("found %+v after %d searches, %v; want the synced backup, verified, on the third", found, searches, err)
	}
}
