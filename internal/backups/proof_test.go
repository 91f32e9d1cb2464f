package backups

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
)

// The proof of a database component's dump comes from the backup's own log: each pod's dump hook
// reports there what it made for this backup. A dump the volume already held, or a hook Velero
// replaced by a pod's annotation, reports nothing for this backup.

func TestVerifyBackupProvesDumpsFromTheBackupsLog(t *testing.T) {
	ctx := context.Background()
	plan := testPostgresPlan(t)
	captured := []*velerov1.PodVolumeBackup{
		testPVBOf("b1-db-0", "db-0", "dump", 300), testPVBOf("b1-db-1", "db-1", "dump", 300),
	}
	hooksRan := func(b *velerov1.Backup) *velerov1.Backup {
		b.Status.HookStatus = &velerov1.HookStatus{HooksAttempted: 2}
		return b
	}
	for _, tc := range []struct {
		name   string
		backup *velerov1.Backup
		log    []string
		want   []string // fragments of the error; none: verified
	}{
		{
			name:   "every pod reported a complete dump for this backup",
			backup: hooksRan(testBackup(velerov1.BackupPhaseCompleted)),
			log:    []string{dumpLogLine("b1", "db-0", "a"), dumpLogLine("b1", "db-1", "b")},
		},
		{
			name:   "a pod whose dump did not run this time (an earlier backup's dump in the volume)",
			backup: hooksRan(testBackup(velerov1.BackupPhaseCompleted)),
			log:    []string{dumpLogLine("b1", "db-0", "a"), dumpLogLine("b0", "db-1", "b")},
			want:   []string{"component db: pod db-1 reported no complete dump for this backup in its log", "the dump hook did not run or did not finish"},
		},
		{
			name:   "a dump that reported only part of its files",
			backup: hooksRan(testBackup(velerov1.BackupPhaseCompleted)),
			log:    []string{dumpLogLine("b1", "db-0", "a"), strings.Replace(dumpLogLine("b1", "db-1", "b"), "file=postgres.backup", "file=other", 1)},
			want:   []string{"pod db-1 reported no complete dump", "no report of postgres.backup"},
		},
		{
			name:   "Velero ran fewer hooks than the plan has (a pod left, or was not Running)",
			backup: withHooks(testBackup(velerov1.BackupPhaseCompleted), 1, 0),
			log:    []string{dumpLogLine("b1", "db-0", "a")},
			want:   []string{"Velero attempted 1 hooks, the plan has 2"},
		},
		{
			name:   "a Schedule's backup: every pod reported a dump named by a run of that schedule",
			backup: scheduled(hooksRan(testBackup(velerov1.BackupPhaseCompleted)), "nightly"),
			log:    []string{dumpLogLine("schedule/nightly@20261201T030000Z-1a2b", "db-0", "a"), dumpLogLine("schedule/nightly@20261201T030001Z-3c4d", "db-1", "b")},
		},
		{
			name:   "a Schedule's backup: a run of another schedule proves nothing",
			backup: scheduled(hooksRan(testBackup(velerov1.BackupPhaseCompleted)), "nightly"),
			log:    []string{dumpLogLine("schedule/nightly@20261201T030000Z-1a2b", "db-0", "a"), dumpLogLine("schedule/nightly-2@20261201T030001Z-3c4d", "db-1", "b")},
			want:   []string{"component db: pod db-1 reported no complete dump for this backup in its log"},
		},
		{
			name:   "a backup made by no schedule: a schedule's run proves nothing",
			backup: hooksRan(testBackup(velerov1.BackupPhaseCompleted)),
			log:    []string{dumpLogLine("b1", "db-0", "a"), dumpLogLine("schedule/nightly@20261201T030001Z-3c4d", "db-1", "b")},
			want:   []string{"component db: pod db-1 reported no complete dump for this backup in its log"},
		},
		{
			name:   "no log at all",
			backup: hooksRan(testBackup(velerov1.BackupPhaseCompleted)),
			want: []string{"the backup's log cannot be read, so its dumps cannot be proven", "b1-logs.gz is gone from the bucket",
				"More: velero backup describe b1 --details; velero backup logs b1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			for _, p := range captured {
				env.create(t, p)
			}
			if tc.log != nil {
				env.bucket.put("backups/b1/b1-logs.gz", strings.Join(tc.log, "\n"))
			}
			reports, err := env.runner.VerifyBackup(ctx, tc.backup, []*strategy.Plan{plan})
			if len(tc.want) > 0 {
				kubetest.ErrorContains(t, err, tc.want...)
				return
			}
			if err != nil {
				t.Fatalf("VerifyBackup = %v", err)
			}
			got := reports[0]
			if strings.Join(got.DumpFiles, ",") != "postgres.dump,postgres-globals.sql" ||
				strings.Join(got.Checksums, ",") != sum("a", "postgres.dump")+","+sum("a", "postgres-globals.sql") {
				t.Errorf("captured dump files %v with checksums %v: want the first pod's, as its dump reported them", got.DumpFiles, got.Checksums)
			}
		})
	}
}

func TestPlanRestoreRecordsTheDumpsTheBackupLogged(t *testing.T) {
	ctx := context.Background()
	backup := recordedDatabaseBackup(t)
	request := RestoreRequest{Name: "r1", Backup: "b1", TargetNamespace: "app-clone", Components: []driverspec.Component{testPostgresComponent()}}

	t.Run("the markers of every pod's dump reach the restore hooks", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, backup)
		env.bucket.put("backups/b1/b1-logs.gz", dumpLogLine("b1", "db-0", "a")+"\n"+dumpLogLine("b1", "db-1", "b"))
		plan, err := env.runner.PlanRestore(ctx, request)
		if err != nil {
			t.Fatal(err)
		}
		marker := plan.Recorded["db"]["db-1"]
		if want := sum("b", "postgres.dump") + "  postgres.dump"; !strings.HasPrefix(marker, want) || len(plan.Recorded["db"]) != 2 {
			t.Fatalf("recorded %v, want both pods' markers", plan.Recorded)
		}
		restore, err := env.runner.StartRestore(ctx, request, plan)
		if err != nil {
			t.Fatal(err)
		}
		script := restore.Spec.Hooks.Resources[0].PostHooks[0].Exec.Command[2]
		for _, want := range []string{"'db-1') styrmin_recorded='" + marker + "'", "not for b1, which is being restored"} {
			if !strings.Contains(script, want) {
				t.Errorf("the restore hook's script lacks %q", want)
			}
		}
	})
	t.Run("a backup whose log holds no dump of a pod is refused", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, backup)
		env.bucket.put("backups/b1/b1-logs.gz", dumpLogLine("b1", "db-0", "a"))
		_, err := env.runner.PlanRestore(ctx, request)
		kubetest.ErrorContains(t, err, `backup "b1" recorded no complete dump of component "db" in pod db-1 in its log`, "restore a backup that styrmin_backup verified")
		assertArgument(t, err, ArgumentBackup)
	})
	t.Run("a backup whose log cannot be read is refused", func(t *testing.T) {
		env := newTestEnv(t)
		env.create(t, backup)
		_, err := env.runner.PlanRestore(ctx, request)
		kubetest.ErrorContains(t, err, `the log of backup "b1" cannot be read, so the dumps it holds cannot be checked before they are replayed`, "b1-logs.gz is gone from the bucket")
		assertArgument(t, err, ArgumentBackup)
	})
}

// testPostgresComponent dumps into volume "dump" of pods labelled app=db.
func testPostgresComponent() driverspec.Component {
	return driverspec.Component{Name: "db", Selector: map[string]string{"app": "db"}, Backup: driverspec.Backup{
		Enabled: true, Kind: driverspec.KindPostgres, Volumes: []string{"dump"}, Timeout: driverspec.DefaultTimeout}}
}

func testPostgresPod(name string) *corev1.Pod {
	pod := testPod(name)
	pod.Labels = map[string]string{"app": "db"}
	pod.Spec.Containers = []corev1.Container{{Name: "postgres", Image: "postgres", VolumeMounts: []corev1.VolumeMount{{Name: "dump", MountPath: "/backup"}}}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "dump", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	return pod
}

// testPostgresPlan is the plan of testPostgresComponent with pods db-0 and db-1.
func testPostgresPlan(t *testing.T) *strategy.Plan {
	t.Helper()
	plan, err := strategy.Resolve(testPostgresComponent(), []corev1.Pod{*testPostgresPod("db-0"), *testPostgresPod("db-1")})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// recordedDatabaseBackup is b1 as StartBackup makes it of testPostgresPlan.
func recordedDatabaseBackup(t *testing.T) *velerov1.Backup {
	t.Helper()
	record, err := componentRecords([]*strategy.Plan{testPostgresPlan(t)}, []corev1.Pod{*testPostgresPod("db-0"), *testPostgresPod("db-1")})
	if err != nil {
		t.Fatal(err)
	}
	b := testBackup(velerov1.BackupPhaseCompleted)
	b.Labels = map[string]string{"app.kubernetes.io/managed-by": "terraform-provider-styrmin"}
	b.Annotations = map[string]string{RecordAnnotation: record}
	return b
}

// dumpLogLine is the line Velero logs for the stdout of the postgres dump hook that ran in pod
// for backup: one report per file the marker lists; seed makes the checksums differ per dump.
func dumpLogLine(backup, pod, seed string) string {
	var stdout strings.Builder
	for _, file := range []string{"postgres.dump", "postgres-globals.sql", "postgres.backup"} {
		fmt.Fprintf(&stdout, "styrmin-dump backup=%s component=db pod=%s file=%s bytes=10 sha256=%s\n", backup, pod, file, sum(seed, file))
	}
	return `time="2026-11-30T10:15:00Z" level=info msg=` + strconv.Quote("stdout: "+stdout.String()) +
		` backup=velero/` + backup + ` hookCommand="[/bin/sh -c ...]" hookContainer=postgres hookName=styrmin-db hookPhase=pre pod=app/` + pod
}

// sum is a made-up sha256 (64 hex digits) for a file of the dump seed names.
func sum(seed, file string) string {
	return fmt.Sprintf("%064x", len(seed+file)*7919+int(seed[0]))
}

func testPVBOf(name, pod, volume string, bytes int64) *velerov1.PodVolumeBackup {
	pvb := testPVB(name, "b1", pod, velerov1.PodVolumeBackupPhaseCompleted, bytes, bytes)
	pvb.Spec.Volume = volume
	return pvb
}

// scheduled marks b as a backup the Velero Schedule named schedule made.
func scheduled(b *velerov1.Backup, schedule string) *velerov1.Backup {
	b.Labels = map[string]string{velerov1.ScheduleNameLabel: schedule}
	return b
}

func withHooks(b *velerov1.Backup, attempted, failed int) *velerov1.Backup {
	b.Status.HookStatus = &velerov1.HookStatus{HooksAttempted: attempted, HooksFailed: failed}
	return b
}

// assertArgument checks that err is about the request argument want.
func assertArgument(t *testing.T, err error, want Argument) {
	t.Helper()
	var argument *ArgumentError
	if !errors.As(err, &argument) || argument.Argument != want {
		t.Errorf("error %v is not an ArgumentError about %q", err, want)
	}
}

// With no Velero server running, a backup or restore would wait for its whole timeout on an
// object nobody processes: the preflight asks the server first, and refuses within seconds.
func TestPreflightRefusesWhenTheVeleroServerDoesNotAnswer(t *testing.T) {
	ctx := context.Background()
	defer func(wait time.Duration) { serverAnswerWait = wait }(serverAnswerWait)
	serverAnswerWait = 50 * time.Millisecond
	env := newTestEnv(t, testPod("web-0"))
	env.serverDown = true
	_, _, err := env.runner.PlanBackup(ctx, BackupRequest{Name: "b1", Namespace: "app", Location: "primary", Components: []driverspec.Component{testDiskComponent()}})
	kubetest.ErrorContains(t, err, "the Velero server in namespace velero did not answer a ServerStatusRequest within 50ms: it is not running",
		"kubectl -n velero get deployment velero")
	_, err = env.runner.PlanRestore(ctx, RestoreRequest{Name: "r1", Backup: "b1", TargetNamespace: "app-clone"})
	kubetest.ErrorContains(t, err, "the Velero server in namespace velero did not answer")
	if n := kubetest.CountActions(env.dyn, "create", "backups") + kubetest.CountActions(env.dyn, "create", "restores"); n != 0 {
		t.Errorf("%d Velero objects created with no server to run them", n)
	}
	if n := kubetest.CountActions(env.dyn, "delete", "serverstatusrequests"); n != 2 {
		t.Errorf("%d status requests deleted, want both", n)
	}
}

// File-system backup runs in the node-agent of each pod's node: without one, the backup would
// wait until its timeout. Refused before anything is created, naming the component and the node.
func TestPreflightRefusesPodsOnANodeWithoutNodeAgent(t *testing.T) {
	away := testPod("web-0")
	away.Spec.NodeName = "node-b"
	env := newTestEnv(t, away)
	_, _, err := env.runner.PlanBackup(context.Background(), BackupRequest{Name: "b1", Namespace: "app", Location: "primary",
		Components: []driverspec.Component{testDiskComponent()}})
	kubetest.ErrorContains(t, err, "component files: no Velero node-agent runs on node node-b, where its pods are", "kubectl -n velero get daemonset node-agent")
	assertArgument(t, err, ArgumentComponents)
}
