package backups

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmware-tanzu/velero/pkg/apis/velero/shared"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// Lines as Velero 1.18 logs a failed pre hook and its stderr, and one that is no reason.
const (
	logHookFailed = `time="2026-11-26T06:43:59Z" level=error msg="Error executing hook" backup=velero/b1 error="command terminated with exit code 2" hookCommand="[/bin/sh -c x]" hookContainer=web hookName=styrmin-files hookOnError=Fail hookPhase=pre pod=app/web-1`
	logHookStderr = `time="2026-11-26T06:43:59Z" level=info msg="stderr: tar: /data: Permission denied\n" backup=velero/b1 hookCommand="[/bin/sh -c x]" hookContainer=web hookName=styrmin-files pod=app/web-1`
	logHookOK     = `time="2026-11-26T06:43:58Z" level=info msg="running exec hook" backup=velero/b1 hookName=styrmin-files pod=app/web-0`
)

func TestVerifyBackup(t *testing.T) {
	ctx := context.Background()
	completedBackup := func() *velerov1.Backup { return testBackup(velerov1.BackupPhaseCompleted) }

	tests := []struct {
		name   string
		backup *velerov1.Backup
		pvbs   []*velerov1.PodVolumeBackup
		bucket map[string]string
		// want are fragments of the error; none means success.
		want      []string
		wantBytes int64
	}{
		{
			name:   "Completed with one Completed PodVolumeBackup with data per volume is verified",
			backup: completedBackup(),
			pvbs: []*velerov1.PodVolumeBackup{
				testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000),
				// Only TotalBytes set: Velero reports it for a volume it found unchanged.
				testPVB("b1-web-1", "b1", "web-1", velerov1.PodVolumeBackupPhaseCompleted, 0, 500),
				// Another backup's capture of the same volume does not count.
				testPVB("b0-web-1", "b0", "web-1", velerov1.PodVolumeBackupPhaseCompleted, 9, 9),
			},
			wantBytes: 1500,
		},
		{
			name:   "a volume without PodVolumeBackup was not captured",
			backup: completedBackup(),
			pvbs:   []*velerov1.PodVolumeBackup{testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000)},
			want:   []string{"backup b1 failed:", "component files: no PodVolumeBackup for volume data of pod web-1: the volume was not captured"},
		},
		{
			name:   "a volume captured empty is a failure",
			backup: completedBackup(),
			pvbs: []*velerov1.PodVolumeBackup{
				testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000),
				testPVB("b1-web-1", "b1", "web-1", velerov1.PodVolumeBackupPhaseCompleted, 0, 0),
			},
			want: []string{"component files: volume data of pod web-1 was captured empty (0 bytes): a backup that captured nothing is a failure"},
		},
		{
			name:   "a PodVolumeBackup that failed is quoted with its message",
			backup: completedBackup(),
			pvbs: []*velerov1.PodVolumeBackup{
				testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000),
				withMessage(testPVB("b1-web-1", "b1", "web-1", velerov1.PodVolumeBackupPhaseFailed, 0, 0), "node-agent pod is not running in node n1"),
			},
			want: []string{"component files: PodVolumeBackup of volume data of pod web-1 is Failed: node-agent pod is not running in node n1"},
		},
		{
			// A backup has exactly one PodVolumeBackup per pod volume: two cannot be told apart,
			// so both are named rather than one picked at random.
			name:   "two PodVolumeBackups for one pod volume fail naming both",
			backup: completedBackup(),
			pvbs: []*velerov1.PodVolumeBackup{
				testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000),
				testPVB("b1-web-1-b", "b1", "web-1", velerov1.PodVolumeBackupPhaseFailed, 0, 0),
				testPVB("b1-web-1-a", "b1", "web-1", velerov1.PodVolumeBackupPhaseCompleted, 500, 500),
			},
			want: []string{"component files: 2 PodVolumeBackups for volume data of pod web-1 (b1-web-1-a, b1-web-1-b): a backup has exactly one per pod volume"},
		},
		{
			name:   "a failed hook fails a backup Velero calls Completed",
			backup: withHookStatus(completedBackup(), 2, 1),
			pvbs:   allCaptured(),
			want:   []string{"backup b1 failed:", "1 of 2 hooks failed"},
		},
		{
			name:   "PartiallyFailed quotes Velero's reasons from the results file and the log's hook lines",
			backup: withCounts(testBackup(velerov1.BackupPhasePartiallyFailed), 2, 1),
			pvbs:   allCaptured(),
			bucket: map[string]string{
				"backups/b1/b1-results.gz": `{"errors":{"velero":["pod volume backup failed: exit status 1"],"namespaces":{"app":["hook styrmin-files failed"]}}}`,
				"backups/b1/b1-logs.gz":    strings.Join([]string{logHookOK, logHookStderr, logHookFailed}, "\n"),
			},
			want: []string{
				"Velero finished the backup as PartiallyFailed (2 errors, 1 warnings)",
				"Velero's reasons (from its results and log in the bucket):",
				"  - velero: pod volume backup failed: exit status 1",
				"  - namespace app: hook styrmin-files failed",
				"  - hook styrmin-files in pod app/web-1 (container web): stderr: tar: /data: Permission denied",
				"  - hook styrmin-files in pod app/web-1 (container web): Error executing hook: command terminated with exit code 2",
			},
		},
		{
			name:   "a results file that cannot be read is said so, and the failure still reported",
			backup: testBackup(velerov1.BackupPhaseFailed),
			pvbs:   allCaptured(),
			want: []string{
				"Velero finished the backup as Failed (0 errors, 0 warnings)",
				"(results file not readable: s3://velero-backups/cluster-a/backups/b1/b1-results.gz is gone from the bucket",
			},
		},
		{
			name:   "FailedValidation quotes the validation errors",
			backup: withValidationErrors(testBackup(velerov1.BackupPhaseFailedValidation), "backup storage location 'primary' is unavailable", "TTL is negative"),
			want:   []string{"Velero finished the backup as FailedValidation (0 errors, 0 warnings): backup storage location 'primary' is unavailable; TTL is negative"},
		},
		{
			name:   "a backup Velero has not started is New",
			backup: testBackup(""),
			pvbs:   allCaptured(),
			want:   []string{"Velero finished the backup as New (0 errors, 0 warnings)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			for _, p := range tt.pvbs {
				env.create(t, p)
			}
			for key, content := range tt.bucket {
				env.bucket.put(key, content)
			}
			reports, err := env.runner.VerifyBackup(ctx, tt.backup, []*strategy.Plan{testDiskPlan()})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("VerifyBackup = %v", err)
				}
				want := []ComponentReport{{Component: "files", Kind: "disk", Pods: []string{"web-0", "web-1"}, Volumes: []string{"data"}, Bytes: tt.wantBytes}}
				if diff := cmp.Diff(want, reports); diff != "" {
					t.Errorf("reports (-want +got):\n%s", diff)
				}
				if n := env.bucket.requestCount(); n != 0 {
					t.Errorf("%d requests to the bucket: a verified backup needs no reasons", n)
				}
				return
			}
			var failed *FailedError
			if !errors.As(err, &failed) {
				t.Fatalf("VerifyBackup = %v, want a *FailedError", err)
			}
			kubetest.ErrorContains(t, err, tt.want...)
			if len(reports) != 1 {
				t.Errorf("reports = %+v, want one per plan even on failure", reports)
			}
		})
	}

	t.Run("reasons are capped so an error stays readable", func(t *testing.T) {
		env := newTestEnv(t)
		env.bucket.put("backups/b1/b1-results.gz", resultsWithErrors(maxReasons+5))
		_, err := env.runner.VerifyBackup(ctx, testBackup(velerov1.BackupPhasePartiallyFailed), nil)
		kubetest.ErrorContains(t, err, fmt.Sprintf("velero: error %d\n", maxReasons-1), "... and 5 more")
		if strings.Contains(err.Error(), fmt.Sprintf("error %d\n", maxReasons)) {
			t.Errorf("more than %d reasons quoted:\n%s", maxReasons, err)
		}
	})
}

func TestPlanBackup(t *testing.T) {
	ctx := context.Background()
	request := BackupRequest{Name: "b1", Namespace: "app", Location: "primary", Components: []driverspec.Component{testDiskComponent()}}

	t.Run("Running pods with the volumes and an Available location give the plans", func(t *testing.T) {
		env := newTestEnv(t, testPod("web-1"), testPod("web-0"), otherPod("db-0"))
		plans, pods, err := env.runner.PlanBackup(ctx, request)
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != 1 || plans[0].Component != "files" || strings.Join(plans[0].Pods, ",") != "web-0,web-1" || len(pods) != 3 {
			t.Errorf("plans = %+v, %d pods", plans, len(pods))
		}
	})

	tests := []struct {
		name     string
		location func(*velerov1.BackupStorageLocation) // nil: no location at all
		request  func(*BackupRequest)
		pods     []*corev1.Pod
		want     []string
	}{
		{
			name: "a location that does not exist",
			pods: []*corev1.Pod{testPod("web-0")},
			want: []string{`backup storage location "primary" does not exist in namespace velero`},
		},
		{
			name: "a location Velero found Unavailable",
			location: func(b *velerov1.BackupStorageLocation) {
				b.Status.Phase, b.Status.Message = velerov1.BackupStorageLocationPhaseUnavailable, "NoSuchBucket"
			},
			pods: []*corev1.Pod{testPod("web-0")},
			want: []string{`"primary" is Unavailable, not Available: NoSuchBucket`},
		},
		{
			name:     "a location Velero has not validated yet",
			location: func(b *velerov1.BackupStorageLocation) { b.Status.Phase = "" },
			pods:     []*corev1.Pod{testPod("web-0")},
			want:     []string{`"primary" is New, not Available`},
		},
		{
			name: "a ReadOnly location",
			location: func(b *velerov1.BackupStorageLocation) {
				b.Spec.AccessMode = velerov1.BackupStorageLocationAccessModeReadOnly
			},
			pods: []*corev1.Pod{testPod("web-0")},
			want: []string{`"primary" is ReadOnly: back up to a ReadWrite location`},
		},
		{
			name:     "no component has its backup enabled",
			location: func(*velerov1.BackupStorageLocation) {},
			request: func(r *BackupRequest) {
				c := testDiskComponent()
				c.Backup.Enabled = false
				r.Components = []driverspec.Component{c}
			},
			pods: []*corev1.Pod{testPod("web-0")},
			want: []string{"no component has its backup enabled: a backup would capture nothing"},
		},
		{
			name: "every problem is listed at once",
			location: func(b *velerov1.BackupStorageLocation) {
				b.Spec.AccessMode = velerov1.BackupStorageLocationAccessModeReadOnly
			},
			pods: []*corev1.Pod{otherPod("db-0")},
			want: []string{`"primary" is ReadOnly`, `component "files": identifier.label: selector app=web matches no pod`},
		},
	}
	t.Run("refuses while the namespace's repository is NotReady, saying how to get it made again", func(t *testing.T) {
		env := newTestEnv(t, testPod("web-0"))
		repo := func(name, namespace string, phase velerov1.BackupRepositoryPhase) *velerov1.BackupRepository {
			return &velerov1.BackupRepository{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "velero", Labels: map[string]string{
					velerov1.VolumeNamespaceLabel: namespace, velerov1.StorageLocationLabel: "primary"}},
				Status: velerov1.BackupRepositoryStatus{Phase: phase, Message: "error to connect backup repo: dial tcp: connection refused"},
			}
		}
		env.create(t, repo("app-primary-kopia-x1", "app", velerov1.BackupRepositoryPhaseNotReady))
		env.create(t, repo("other-primary-kopia-x2", "other", velerov1.BackupRepositoryPhaseNotReady)) // another namespace's
		_, _, err := env.runner.PlanBackup(ctx, request)
		kubetest.ErrorContains(t, err, `Velero's backup repository app-primary-kopia-x1 of namespace app in location "primary" is NotReady `+
			`(error to connect backup repo: dial tcp: connection refused)`, "kubectl -n velero delete backuprepository app-primary-kopia-x1")
		if strings.Contains(err.Error(), "other-primary") {
			t.Errorf("another namespace's repository is named: %v", err)
		}
		assertArgument(t, err, ArgumentLocation)

		ready := repo("app-primary-kopia-x1", "app", velerov1.BackupRepositoryPhaseReady)
		if err := velero.Delete[velerov1.BackupRepository](ctx, env.runner.Velero, ready.Name); err != nil {
			t.Fatal(err)
		}
		env.create(t, ready)
		if _, _, err := env.runner.PlanBackup(ctx, request); err != nil {
			t.Errorf("with the repository Ready: %v", err)
		}
	})
	t.Run("refuses a location whose bucket cannot be reached from here, naming the endpoint", func(t *testing.T) {
		env := newTestEnv(t, testPod("web-0"))
		env.bucket.Close() // Velero still says Available: its last validation was before
		_, _, err := env.runner.PlanBackup(ctx, request)
		kubetest.ErrorContains(t, err, `the bucket of backup storage location "primary" cannot be read from where Terraform runs`,
			"Nothing accepts connections at "+strings.TrimPrefix(env.bucket.URL, "http://"))
		if n := kubetest.CountActions(env.dyn, "create", "backups"); n != 0 {
			t.Errorf("%d backups created", n)
		}
	})
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.pods...)
			if tt.location == nil {
				if err := velero.Delete[velerov1.BackupStorageLocation](ctx, env.runner.Velero, "primary"); err != nil {
					t.Fatal(err)
				}
			} else {
				env.changeLocation(t, tt.location)
			}
			req := request
			if tt.request != nil {
				tt.request(&req)
			}
			plans, _, err := env.runner.PlanBackup(ctx, req)
			var refusal *RefusalError
			if !errors.As(err, &refusal) || len(refusal.Problems) != len(tt.want) {
				t.Fatalf("PlanBackup = %v, want a *RefusalError with %d problems", err, len(tt.want))
			}
			kubetest.ErrorContains(t, err, tt.want...)
			if plans != nil {
				t.Errorf("plans = %+v on refusal", plans)
			}
		})
	}
}

func TestStartBackup(t *testing.T) {
	ctx := context.Background()
	request := BackupRequest{Name: "b1", Namespace: "app", Location: "primary", TTL: time.Hour,
		Components: []driverspec.Component{testDiskComponent()}, Labels: map[string]string{"env": "prod"}}

	t.Run("annotates the pods, keeping volumes listed there, and creates the Backup with its record", func(t *testing.T) {
		annotated := testPod("web-0")
		annotated.Annotations = map[string]string{strategy.BackupVolumesAnnotation: "cache"}
		env := newTestEnv(t, annotated, testPod("web-1"))
		plans, pods, err := env.runner.PlanBackup(ctx, request)
		if err != nil {
			t.Fatal(err)
		}
		created, err := env.runner.StartBackup(ctx, request, plans, pods)
		if err != nil {
			t.Fatal(err)
		}
		for pod, want := range map[string]string{"web-0": "cache,data", "web-1": "data"} {
			got, err := env.kube.CoreV1().Pods("app").Get(ctx, pod, metav1.GetOptions{})
			if err != nil || got.Annotations[strategy.BackupVolumesAnnotation] != want {
				t.Errorf("pod %s annotation = %q, %v; want %q", pod, got.Annotations[strategy.BackupVolumesAnnotation], err, want)
			}
		}
		stored, err := velero.Get[velerov1.Backup](ctx, env.runner.Velero, "b1")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Name != created.Name || stored.Labels[velero.ManagedByLabel] != velero.ManagedBy || stored.Labels["env"] != "prod" ||
			strings.Join(stored.Spec.IncludedNamespaces, ",") != "app" || stored.Spec.StorageLocation != "primary" || stored.Spec.TTL.Duration != time.Hour ||
			*stored.Spec.DefaultVolumesToFsBackup || *stored.Spec.SnapshotVolumes || len(stored.Spec.Hooks.Resources) != 0 {
			t.Errorf("Backup = %+v", stored)
		}
		records, err := Records(stored)
		if err != nil {
			t.Fatal(err)
		}
		if r := records["files"]; r.Kind != "disk" || strings.Join(r.Pods, ",") != "web-0,web-1" || r.Pod.Name != "web-0" {
			t.Errorf("record = %+v", r)
		}
	})

	// What an interrupted earlier apply of this request left: the same Backup, in progress.
	madeByThisRequest := func() *velerov1.Backup {
		b := testBackup(velerov1.BackupPhaseInProgress)
		b.Labels = map[string]string{velero.ManagedByLabel: velero.ManagedBy}
		b.Spec.TTL = metav1.Duration{Duration: time.Hour}
		return b
	}
	t.Run("adopts the Backup an interrupted apply of the same request made", func(t *testing.T) {
		env := newTestEnv(t, testPod("web-0"))
		env.create(t, madeByThisRequest())
		got, err := env.runner.StartBackup(ctx, request, []*strategy.Plan{testDiskPlan()}, nil)
		if err != nil || got.Status.Phase != velerov1.BackupPhaseInProgress {
			t.Errorf("StartBackup = %+v, %v; want the existing backup", got, err)
		}
		if n := kubetest.CountActions(env.kube, "patch", "pods"); n != 0 {
			t.Errorf("%d pod patches: an adopted backup annotates nothing", n)
		}
	})

	for name, change := range map[string]func(*velerov1.Backup){
		"made by someone else": func(b *velerov1.Backup) { b.Labels = nil },
		"of another namespace": func(b *velerov1.Backup) { b.Spec.IncludedNamespaces = []string{"shop"} },
		"to another location":  func(b *velerov1.Backup) { b.Spec.StorageLocation = "copy" },
		"with another ttl":     func(b *velerov1.Backup) { b.Spec.TTL = metav1.Duration{Duration: 2 * time.Hour} },
		"with other hooks": func(b *velerov1.Backup) {
			b.Spec.Hooks.Resources = []velerov1.BackupResourceHookSpec{{Name: "styrmin-db"}}
		},
		"of two namespaces too": func(b *velerov1.Backup) { b.Spec.IncludedNamespaces = []string{"app", "shop"} },
	} {
		t.Run("refuses a Backup of the same name "+name, func(t *testing.T) {
			env := newTestEnv(t, testPod("web-0"))
			existing := madeByThisRequest()
			change(existing)
			env.create(t, existing)
			_, err := env.runner.StartBackup(ctx, request, []*strategy.Plan{testDiskPlan()}, nil)
			kubetest.ErrorContains(t, err, `a Velero backup named "b1" already exists and is not the backup this resource makes`, "choose another name")
			assertArgument(t, err, ArgumentName)
		})
	}
}

func TestWaitBackup(t *testing.T) {
	env := newTestEnv(t)
	b := withHooks(testBackup(velerov1.BackupPhasePartiallyFailed), 2, 1)
	b.Status.Progress = &velerov1.BackupProgress{ItemsBackedUp: 7, TotalItems: 9}
	env.create(t, b)
	env.create(t, testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseCompleted, 300, 500))
	var heard []Progress
	got, err := env.runner.WaitBackup(context.Background(), "b1", func(p Progress) { heard = append(heard, p) })
	if err != nil || got.Status.Phase != velerov1.BackupPhasePartiallyFailed {
		t.Errorf("WaitBackup = %+v, %v; want it to return at once on a terminal phase", got, err)
	}
	want := Progress{Phase: "PartiallyFailed", Items: 7, TotalItems: 9, BytesDone: 300, BytesTotal: 500, HooksRun: 2, HooksFailed: 1}
	if len(heard) != 1 || heard[0] != want {
		t.Errorf("progress heard %+v, want %+v", heard, want)
	}
}

// A volume that a node-agent accepted and has not started for stallAfter is named in the progress,
// and a wait that times out then says so, with the way out.
func TestWaitBackupNamesAStalledVolume(t *testing.T) {
	env := newTestEnv(t)
	env.create(t, testBackup(velerov1.BackupPhaseInProgress))
	stalled := testPVB("b1-web-1", "b1", "web-1", velerov1.PodVolumeBackupPhaseAccepted, 0, 0)
	stalled.Spec.Node = "node-1"
	stalled.Status.AcceptedTimestamp = &metav1.Time{Time: time.Now().Add(-5 * time.Minute)}
	env.create(t, stalled)
	fresh := testPVB("b1-web-0", "b1", "web-0", velerov1.PodVolumeBackupPhaseAccepted, 0, 0)
	fresh.Status.AcceptedTimestamp = &metav1.Time{Time: time.Now()}
	env.create(t, fresh)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var heard Progress
	_, err := env.runner.WaitBackup(ctx, "b1", func(p Progress) { heard = p })
	if !strings.HasPrefix(heard.Stalled, "PodVolumeBackup b1-web-1 (volume data of pod web-1) has been Accepted since ") ||
		!strings.HasSuffix(heard.Stalled, " on node node-1 without starting") {
		t.Errorf("progress.Stalled = %q", heard.Stalled)
	}
	var stall *StalledError
	if !errors.As(err, &stall) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitBackup = %v; want a StalledError wrapping the deadline", err)
	}
	kubetest.ErrorContains(t, err, "b1-web-1", "restart it (kubectl -n <velero namespace> delete pod -l name=node-agent)")
}

func TestDeleteBackup(t *testing.T) {
	fastDeletePolls(t)

	t.Run("a backup that is already gone is nothing to delete", func(t *testing.T) {
		env := newTestEnv(t)
		if err := env.runner.DeleteBackup(context.Background(), "b1"); err != nil {
			t.Fatal(err)
		}
		if n := kubetest.CountActions(env.dyn, "create", "deletebackuprequests"); n != 0 {
			t.Errorf("%d DeleteBackupRequests created", n)
		}
	})

	t.Run("waits through a DeleteBackupRequest until the Backup disappears", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		// Velero removes the Backup a few polls after the request.
		env.veleroDeletesBackupAfter(t, "b1", 3)
		if err := env.runner.DeleteBackup(context.Background(), "b1"); err != nil {
			t.Fatal(err)
		}
		dbrs, err := velero.List[velerov1.DeleteBackupRequest](context.Background(), env.runner.Velero, "")
		if err != nil || len(dbrs) != 1 {
			t.Fatalf("DeleteBackupRequests = %+v, %v; want one", dbrs, err)
		}
		dbr := dbrs[0]
		if dbr.Spec.BackupName != "b1" || !strings.HasPrefix(dbr.Name, "b1-") ||
			dbr.Labels[velerov1.BackupNameLabel] != "b1" || dbr.Labels[velero.ManagedByLabel] != velero.ManagedBy {
			t.Errorf("DeleteBackupRequest = %+v", dbr)
		}
	})

	t.Run("a request Velero processed with errors fails quoting them", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		env.dyn.PrependReactor("create", "deletebackuprequests", func(action k8stesting.Action) (bool, runtime.Object, error) {
			// Velero refuses the request at once; the Backup stays.
			u, ok := createdObject(action).(*unstructured.Unstructured)
			if !ok {
				return false, nil, nil
			}
			u.Object["status"] = map[string]any{
				"phase":  string(velerov1.DeleteBackupRequestPhaseProcessed),
				"errors": []any{"backup storage location primary is ReadOnly", "cannot delete"},
			}
			return false, nil, nil
		})
		err := env.runner.DeleteBackup(context.Background(), "b1")
		kubetest.ErrorContains(t, err, "the Velero server could not delete backup b1: backup storage location primary is ReadOnly; cannot delete")
	})

	t.Run("a request Velero refuses while it still tracks the backup is made again", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		requests := 0
		env.dyn.PrependReactor("create", "deletebackuprequests", func(action k8stesting.Action) (bool, runtime.Object, error) {
			u, ok := createdObject(action).(*unstructured.Unstructured)
			if requests++; ok && requests == 1 {
				u.Object["status"] = map[string]any{"phase": string(velerov1.DeleteBackupRequestPhaseProcessed), "errors": []any{"backup is still in progress"}}
			}
			return false, nil, nil
		})
		env.veleroDeletesBackupAfter(t, "b1", 4)
		if err := env.runner.DeleteBackup(context.Background(), "b1"); err != nil {
			t.Fatal(err)
		}
		if requests != 2 {
			t.Errorf("%d DeleteBackupRequests, want 2", requests)
		}
	})

	t.Run("a first read the API server refuses fails before any request is made", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		env.dyn.PrependReactor("get", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, forbidden("backups")
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := env.runner.DeleteBackup(ctx, "b1")
		kubetest.ErrorContains(t, err, "read backup b1:", "RBAC says no")
		if n := kubetest.CountActions(env.dyn, "create", "deletebackuprequests"); n != 0 {
			t.Errorf("%d DeleteBackupRequests created", n)
		}
	})

	for _, resource := range []string{"backups", "deletebackuprequests"} {
		t.Run("a read of "+resource+" that keeps failing while Velero deletes ends the wait with its error", func(t *testing.T) {
			env := newTestEnv(t)
			env.create(t, testBackup(velerov1.BackupPhaseCompleted))
			requested := false
			env.dyn.PrependReactor("create", "deletebackuprequests", func(k8stesting.Action) (bool, runtime.Object, error) {
				requested = true
				return false, nil, nil
			})
			env.dyn.PrependReactor("get", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				if requested {
					return true, nil, forbidden(resource)
				}
				return false, nil, nil
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := env.runner.DeleteBackup(ctx, "b1")
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("DeleteBackup = %v, want the read's error before the deadline", err)
			}
			kubetest.ErrorContains(t, err, "RBAC says no")
		})
	}

	t.Run("a read that fails once is tried again", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		env.veleroDeletesBackupAfter(t, "b1", 3)
		reads := 0
		env.dyn.PrependReactor("get", "backups", func(k8stesting.Action) (bool, runtime.Object, error) {
			if reads++; reads == 2 { // the first read after the request
				return true, nil, apierrors.NewServiceUnavailable("the API server is restarting")
			}
			return false, nil, nil
		})
		if err := env.runner.DeleteBackup(context.Background(), "b1"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a Backup still there at the deadline is a timeout error", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, testBackup(velerov1.BackupPhaseCompleted))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := env.runner.DeleteBackup(ctx, "b1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("DeleteBackup = %v, want context.DeadlineExceeded", err)
		}
		kubetest.ErrorContains(t, err, "backup b1 is still there after the delete timeout: context deadline exceeded")
	})
}

// A sync wait of 0 (backup_sync_timeout = "0s") looks once and does not wait.
func TestWaitForBackupWithoutSyncWait(t *testing.T) {
	fastSyncPolls(t)
	newRunner := func(t *testing.T) (*testEnv, Runner) {
		env := newTestEnv(t)
		runner := env.runner
		runner.Velero = velero.NewClient(contextHonouringDynamic{env.dyn}, "velero")
		return env, runner
	}

	t.Run("a backup that exists is found", func(t *testing.T) {
		env, runner := newRunner(t)
		env.create(t, recordedBackup())
		got, err := runner.waitForBackup(context.Background(), "b1", 0)
		if err != nil || got.Name != "b1" {
			t.Fatalf("waitForBackup = %v, %v; want the backup", got, err)
		}
	})

	t.Run("a backup that does not exist is reported after one read", func(t *testing.T) {
		env, runner := newRunner(t)
		_, err := runner.waitForBackup(context.Background(), "b1", 0)
		kubetest.ErrorContains(t, err, `no backup "b1" in namespace velero after waiting 0s for Velero's backup sync`)
		if n := kubetest.CountActions(env.dyn, "get", "backups"); n != 1 {
			t.Errorf("%d reads, want 1", n)
		}
	})
}

// --- helpers ---

// contextHonouringDynamic is a dynamic client whose reads fail on an ended context, as a real
// client's do: the fake one ignores the context.
type contextHonouringDynamic struct{ dynamic.Interface }

func (d contextHonouringDynamic) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return contextHonouringResource{d.Interface.Resource(gvr)}
}

type contextHonouringResource struct {
	dynamic.NamespaceableResourceInterface
}

func (r contextHonouringResource) Namespace(namespace string) dynamic.ResourceInterface {
	return contextHonouringReads{r.NamespaceableResourceInterface.Namespace(namespace)}
}

type contextHonouringReads struct{ dynamic.ResourceInterface }

func (r contextHonouringReads) Get(ctx context.Context, name string, opts metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.ResourceInterface.Get(ctx, name, opts, subresources...)
}

func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "velero.io", Resource: resource}, "b1", errors.New("RBAC says no"))
}

// testEnv is a Runner over fake clusters (a typed one for pods and Secrets, a dynamic one for
// Velero's objects) and a fake bucket behind an Available location "primary".
type testEnv struct {
	runner Runner
	kube   *kubefake.Clientset
	dyn    *dynamicfake.FakeDynamicClient
	bucket *testBucket
	exec   *fakeExec
	// serverDown makes the Velero server answer no ServerStatusRequest.
	serverDown bool
}

// nodeAgentPod is Velero's node-agent, Running on the node the test pods are on.
func nodeAgentPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "node-agent-x", Namespace: "velero", Labels: map[string]string{"role": "node-agent"}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func newTestEnv(t *testing.T, pods ...*corev1.Pod) *testEnv {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := velerov1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// A node-agent runs on the node the test pods are on (they name none).
	objects := []runtime.Object{nodeAgentPod()}
	for _, p := range pods {
		objects = append(objects, p)
	}
	env := &testEnv{kube: kubefake.NewClientset(objects...), dyn: dynamicfake.NewSimpleDynamicClient(scheme), bucket: newTestBucket(t), exec: &fakeExec{}}
	client := velero.NewClient(env.dyn, "velero")
	env.runner = Runner{Kube: env.kube, Velero: client, Locations: velero.Locations{Kube: env.kube, Velero: client}, Exec: env.exec}
	// The API server names objects created with generateName; the fake does not.
	generated := 0
	env.dyn.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := meta.Accessor(createdObject(action))
		if err == nil && obj.GetName() == "" && obj.GetGenerateName() != "" {
			generated++
			obj.SetName(fmt.Sprintf("%sx7k2p%d", obj.GetGenerateName(), generated))
		}
		return false, nil, nil
	})
	// A running Velero server answers every ServerStatusRequest at once.
	env.dyn.PrependReactor("create", "serverstatusrequests", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := createdObject(action).(*unstructured.Unstructured); ok && !env.serverDown {
			u.Object["status"] = map[string]any{"phase": string(velerov1.ServerStatusRequestPhaseProcessed)}
		}
		return false, nil, nil
	})
	if err := env.runner.Locations.Create(context.Background(), velero.Location{
		Name: "primary", Bucket: "velero-backups", Prefix: "cluster-a", Region: "us-east-1", Endpoint: env.bucket.URL,
		ForcePathStyle: true, AccessKeyID: "AKID", SecretAccessKey: "SECRET", AccessMode: "ReadWrite",
	}); err != nil {
		t.Fatal(err)
	}
	env.changeLocation(t, func(b *velerov1.BackupStorageLocation) { b.Status.Phase = velerov1.BackupStorageLocationPhaseAvailable })
	// The files every backup "b1" in the bucket has; it holds the pods of recordedBackup's
	// component (web-0, web-1) and one pod of no component (api-0).
	for _, key := range []string{velero.BackupMetadataKey("b1"), velero.BackupContentsKey("b1")} {
		env.bucket.put(key, "")
	}
	env.bucket.put(velero.BackupResourceListKey("b1"), `{"v1/Pod":["app/api-0","app/web-0","app/web-1"],"apps/v1/Deployment":["app/api"]}`)
	env.dyn.ClearActions()
	env.kube.ClearActions()
	return env
}

// create stores a Velero object as Velero (or a user) would have made it.
func (env *testEnv) create(t *testing.T, obj any) {
	t.Helper()
	var err error
	switch o := obj.(type) {
	case *velerov1.Backup:
		_, err = velero.Create(context.Background(), env.runner.Velero, o)
	case *velerov1.Restore:
		_, err = velero.Create(context.Background(), env.runner.Velero, o)
	case *velerov1.PodVolumeBackup:
		_, err = velero.Create(context.Background(), env.runner.Velero, o)
	case *velerov1.PodVolumeRestore:
		_, err = velero.Create(context.Background(), env.runner.Velero, o)
	case *velerov1.BackupRepository:
		_, err = velero.Create(context.Background(), env.runner.Velero, o)
	default:
		t.Fatalf("create: unexpected %T", obj)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (env *testEnv) changeLocation(t *testing.T, change func(*velerov1.BackupStorageLocation)) {
	t.Helper()
	bsl, err := velero.Get[velerov1.BackupStorageLocation](context.Background(), env.runner.Velero, "primary")
	if err != nil {
		t.Fatal(err)
	}
	change(bsl)
	if _, err := velero.Update(context.Background(), env.runner.Velero, bsl); err != nil {
		t.Fatal(err)
	}
}

// veleroDeletesBackupAfter plays Velero's side of a DeleteBackupRequest: the Backup is gone
// from the given read of it after the request was created.
func (env *testEnv) veleroDeletesBackupAfter(t *testing.T, name string, reads int) {
	t.Helper()
	requested, count := false, 0
	env.dyn.PrependReactor("create", "deletebackuprequests", func(k8stesting.Action) (bool, runtime.Object, error) {
		requested = true
		return false, nil, nil
	})
	env.dyn.PrependReactor("get", "backups", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if get, ok := action.(k8stesting.GetAction); ok && requested && get.GetName() == name {
			if count++; count == reads {
				if err := env.dyn.Tracker().Delete(action.GetResource(), action.GetNamespace(), name); err != nil {
					t.Error(err)
				}
			}
		}
		return false, nil, nil
	})
}

// fastDeletePolls makes DeleteBackup poll every millisecond instead of every second.
func fastDeletePolls(t *testing.T) {
	saved := deletePollInterval
	deletePollInterval = time.Millisecond
	t.Cleanup(func() { deletePollInterval = saved })
}

func testDiskComponent() driverspec.Component {
	return driverspec.Component{
		Name: "files", Selector: map[string]string{"app": "web"},
		Backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"data"}},
	}
}

// testDiskPlan is what PlanBackup makes of testDiskComponent with pods web-0 and web-1. Kind
// disk runs no hook and reads no checksum, so no pod exec is needed.
func testDiskPlan() *strategy.Plan {
	return &strategy.Plan{Component: "files", Kind: driverspec.KindDisk, Selector: map[string]string{"app": "web"},
		Pods: []string{"web-0", "web-1"}, Volumes: []string{"data"}}
}

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "nginx", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func otherPod(name string) *corev1.Pod {
	pod := testPod(name)
	pod.Labels = map[string]string{"app": "db"}
	return pod
}

// testBackup is the Backup "b1" of namespace app.
func testBackup(phase velerov1.BackupPhase) *velerov1.Backup {
	const name = "b1"
	return &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "velero"},
		Spec:       velerov1.BackupSpec{IncludedNamespaces: []string{"app"}, StorageLocation: "primary"},
		Status:     velerov1.BackupStatus{Phase: phase},
	}
}

func withHookStatus(b *velerov1.Backup, attempted, failed int) *velerov1.Backup {
	b.Status.HookStatus = &velerov1.HookStatus{HooksAttempted: attempted, HooksFailed: failed}
	return b
}

func withCounts(b *velerov1.Backup, errs, warnings int) *velerov1.Backup {
	b.Status.Errors, b.Status.Warnings = errs, warnings
	return b
}

func withValidationErrors(b *velerov1.Backup, errs ...string) *velerov1.Backup {
	b.Status.ValidationErrors = errs
	return b
}

// testPVB is a PodVolumeBackup of the volume "data" of pod, in namespace app.
func testPVB(name, backupName, pod string, phase velerov1.PodVolumeBackupPhase, done, total int64) *velerov1.PodVolumeBackup {
	return &velerov1.PodVolumeBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "velero", Labels: map[string]string{velerov1.BackupNameLabel: backupName}},
		Spec:       velerov1.PodVolumeBackupSpec{Pod: corev1.ObjectReference{Kind: "Pod", Namespace: "app", Name: pod}, Volume: "data"},
		Status: velerov1.PodVolumeBackupStatus{Phase: phase,
			Progress: shared.DataMoveOperationProgress{BytesDone: done, TotalBytes: total}},
	}
}

func withMessage(p *velerov1.PodVolumeBackup, message string) *velerov1.PodVolumeBackup {
	p.Status.Message = message
	return p
}

// allCaptured is a complete capture of testDiskPlan by backup.
func allCaptured() []*velerov1.PodVolumeBackup {
	const backup = "b1"
	return []*velerov1.PodVolumeBackup{
		testPVB(backup+"-web-0", backup, "web-0", velerov1.PodVolumeBackupPhaseCompleted, 1000, 1000),
		testPVB(backup+"-web-1", backup, "web-1", velerov1.PodVolumeBackupPhaseCompleted, 500, 500),
	}
}

func resultsWithErrors(n int) string {
	errs := make([]string, n)
	for i := range errs {
		errs[i] = fmt.Sprintf("%q", fmt.Sprintf("error %d", i))
	}
	return `{"errors":{"velero":[` + strings.Join(errs, ",") + `]}}`
}

// testBucket is the bucket "velero-backups" behind location "primary" (prefix "cluster-a"): it
// answers S3 path-style GetObject with gzipped files, or NoSuchKey, and HeadBucket and
// HeadObject with 200 or 404.
type testBucket struct {
	*httptest.Server

	mu       sync.Mutex
	objects  map[string][]byte
	requests int
}

func newTestBucket(t *testing.T) *testBucket {
	t.Helper()
	b := &testBucket{objects: map[string][]byte{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.requests++
		body, ok := b.objects[r.URL.Path]
		b.mu.Unlock()
		if r.Method == http.MethodHead { // HeadBucket, HeadObject: a status, no body
			if ok || strings.Trim(r.URL.Path, "/") == "velero-backups" {
				w.WriteHeader(http.StatusOK)
			} else {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		if r.Method != http.MethodGet || !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`))
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(b.Close)
	return b
}

// put stores content gzipped, as Velero writes its results and logs, under key (relative to
// the location's prefix).
func (b *testBucket) put(key, content string) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(content))
	_ = zw.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects["/velero-backups/cluster-a/"+key] = buf.Bytes()
}

// remove deletes key (relative to the location's prefix), as someone cleaning the bucket by hand.
func (b *testBucket) remove(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, "/velero-backups/cluster-a/"+key)
}

// fakeExec records the commands run in pods; fail makes them fail.
type fakeExec struct {
	mu     sync.Mutex
	ran    []string
	stdout string
	fail   error
}

func (f *fakeExec) Exec(_ context.Context, namespace, pod, container string, command ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, fmt.Sprintf("%s/%s/%s: %s", namespace, pod, container, strings.Join(command, " ")))
	return f.stdout, f.fail
}

func (b *testBucket) requestCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// createdObject is the object a create action carries, nil for any other action.
func createdObject(action k8stesting.Action) runtime.Object {
	if create, ok := action.(k8stesting.CreateAction); ok {
		return create.GetObject()
	}
	return nil
}
