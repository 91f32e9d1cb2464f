package backups

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Lines as Velero 1.18 logs a hook (the command is abbreviated here; it is the whole script).
const (
	hookFailedLine  = `time="2026-11-26T06:43:59Z" level=error msg="Error executing hook" backup=velero/b error="command terminated with exit code 2" hookCommand="[/bin/sh -c set -eu\nmariadb-dump ...]" hookContainer=mariadb hookName=styrmin-mariadb hookOnError=Fail hookPhase=pre pod=app/mariadb-1`
	stderrErrorLine = `time="2026-11-26T06:43:59Z" level=info msg="stderr: mariadb-dump: Got error: 1045: \"Access denied for user 'root'@'localhost' (using password: YES)\" when trying to connect\n" backup=velero/b hookCommand="[/bin/sh -c x]" hookContainer=mariadb hookName=styrmin-mariadb pod=app/mariadb-1`
	stderrNoteLine  = `time="2026-11-26T06:43:59Z" level=info msg="stderr: styrmin postgres: dump complete in /backup/styrmin\n" backup=velero/b hookCommand="[/bin/sh -c x]" hookName=styrmin-postgres pod=app/postgres-1`
	otherLine       = `time="2026-11-26T06:43:59Z" level=error msg="Error backing up item" backup=velero/b error="boom"`
)

func TestHookReasonsKeepOnlyWhatExplainsAFailure(t *testing.T) {
	got := hookReasons([]string{stderrNoteLine, stderrErrorLine, hookFailedLine, otherLine})
	if len(got) != 3 || !strings.Contains(got[0], "Access denied") || !strings.Contains(got[1], "exit code 2") || !strings.Contains(got[2], "boom") {
		t.Errorf("hookReasons = %q", got)
	}
	// stderr of a hook that succeeded is narration, not a reason
	if got := hookReasons([]string{stderrNoteLine}); len(got) != 0 {
		t.Errorf("hookReasons of a successful hook = %q", got)
	}
}

func TestHookReasonDropsTheCommand(t *testing.T) {
	got := hookReason(stderrErrorLine)
	want := `hook styrmin-mariadb in pod app/mariadb-1 (container mariadb): stderr: mariadb-dump: Got error: 1045: "Access denied for user 'root'@'localhost' (using password: YES)" when trying to connect`
	if got != want {
		t.Errorf("hookReason =\n  %s\nwant\n  %s", got, want)
	}
	if got := hookReason(hookFailedLine); !strings.HasSuffix(got, "Error executing hook: command terminated with exit code 2") || strings.Contains(got, "mariadb-dump") {
		t.Errorf("hookReason = %q", got)
	}
}

func TestLogfmt(t *testing.T) {
	f := logfmt(`a=1 b="two words" c="with \"quotes\"" d=`)
	if f["a"] != "1" || f["b"] != "two words" || f["c"] != `with "quotes"` || f["d"] != "" {
		t.Errorf("logfmt = %#v", f)
	}
}

func TestMergeListKeepsOtherVolumes(t *testing.T) {
	if got := mergeList("b, a", []string{"c", "a"}); got != "a,b,c" {
		t.Errorf("mergeList = %q", got)
	}
	if got := mergeList("", []string{"x"}); got != "x" {
		t.Errorf("mergeList = %q", got)
	}
}

// The record kept on a Backup must not carry environment values: a driver may set a password
// as a plain value.
func TestPodSkeletonDropsEnvironmentValues(t *testing.T) {
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{"app": "db"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "db", Image: "x", Env: []corev1.EnvVar{{Name: "POSTGRES_PASSWORD", Value: "hunter2"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "dump", MountPath: "/backup"}}}},
			Volumes: []corev1.Volume{{Name: "dump", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/secret/path"}}}},
		},
	}
	s := podSkeleton(pod)
	if s.Spec.Containers[0].Env[0].Value != "" || s.Spec.Containers[0].Env[0].Name != "POSTGRES_PASSWORD" {
		t.Errorf("env = %+v", s.Spec.Containers[0].Env)
	}
	if s.Spec.Volumes[0].HostPath != nil || s.Spec.Containers[0].VolumeMounts[0].MountPath != "/backup" || s.Status.Phase != corev1.PodRunning {
		t.Errorf("skeleton = %+v", s)
	}
}

func TestFailureReasonIsQuotedOnlyWhenVeleroGaveOne(t *testing.T) {
	if got := failureReason(""); got != "" {
		t.Errorf("failureReason(\"\") = %q", got)
	}
	if got := failureReason("error getting backup"); got != "; Velero's reason: error getting backup" {
		t.Errorf("failureReason = %q", got)
	}
}
