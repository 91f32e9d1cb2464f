package strategy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

var dbLabels = map[string]string{"app": "shop", "component": "db"}

// testPod is a pod of the "db" component with the given containers and
// volumes, Running unless phase says otherwise.
func testPod(name string, phase corev1.PodPhase, volumes []string, containers ...corev1.Container) corev1.Pod {
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: dbLabels},
		Spec:       corev1.PodSpec{Containers: containers},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, v := range volumes {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name: v, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		})
	}
	return pod
}

// testContainer mounts each "volume:path" pair; a path ending in ":ro" is
// mounted read-only.
func testContainer(name string, mounts ...string) corev1.Container {
	c := corev1.Container{Name: name, Image: "example/" + name}
	for _, m := range mounts {
		parts := strings.Split(m, ":")
		mount := corev1.VolumeMount{Name: parts[0], MountPath: parts[1]}
		mount.ReadOnly = len(parts) == 3 && parts[2] == "ro"
		c.VolumeMounts = append(c.VolumeMounts, mount)
	}
	return c
}

func postgresComponent(container string) Component {
	return Component{
		Name:     "db",
		Selector: dbLabels,
		Backup: driverspec.Backup{
			Enabled: true, Kind: driverspec.KindPostgres, Volumes: []string{"dump"},
			Container: container, Timeout: driverspec.DefaultTimeout,
		},
	}
}

func TestResolvePreflightErrors(t *testing.T) {
	running := corev1.PodRunning
	postgresPod := func(name string) corev1.Pod {
		return testPod(name, running, []string{"data", "dump"},
			testContainer("postgres", "data:/var/lib/postgresql/data", "dump:/backup"),
			testContainer("exporter"))
	}
	disk := Component{Name: "files", Selector: dbLabels, Backup: driverspec.Backup{
		Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"uploads", "cache"},
	}}
	terminating := postgresPod("db-0")
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	otherApp := postgresPod("other-0")
	otherApp.Labels = map[string]string{"app": "other"}
	annotatedPod := func(name string, annotations map[string]string) corev1.Pod {
		pod := postgresPod(name)
		pod.Annotations = annotations
		return pod
	}

	tests := []struct {
		name      string
		component Component
		pods      []corev1.Pod
		wantPod   string
		wantField string
		// wantMessage are substrings the message must hold.
		wantMessage []string
	}{
		{
			name:        "no pod matches",
			component:   postgresComponent(""),
			pods:        []corev1.Pod{otherApp},
			wantField:   "identifier.label",
			wantMessage: []string{"app=shop,component=db", "matches no pod"},
		},
		{
			name:      "no pod Running",
			component: postgresComponent(""),
			pods: []corev1.Pod{
				testPod("db-1", corev1.PodFailed, nil, testContainer("postgres")),
				testPod("db-0", corev1.PodPending, nil, testContainer("postgres")),
				terminating,
			},
			wantField:   "identifier.label",
			wantMessage: []string{"matches 3 pod(s), none of them Running", "db-0 (Pending)", "db-0 (Running, terminating)", "db-1 (Failed)"},
		},
		{
			name:      "a pre hook annotation would replace the dump",
			component: postgresComponent(""),
			pods: []corev1.Pod{postgresPod("db-0"), annotatedPod("db-1", map[string]string{
				"pre.hook.backup.velero.io/command": `["/bin/sh", "-c", "true"]`, "pre.hook.backup.velero.io/container": "postgres"})},
			wantPod: "db-1",
			wantMessage: []string{`Velero hook annotation "pre.hook.backup.velero.io/command"`, "instead of the hooks this backup gives it",
				"stale or no dump", "kubectl annotate pod db-1 pre.hook.backup.velero.io/command-"},
		},
		{
			name:        "the legacy pre hook annotation too",
			component:   postgresComponent(""),
			pods:        []corev1.Pod{annotatedPod("db-0", map[string]string{"hook.backup.velero.io/command": "x"})},
			wantPod:     "db-0",
			wantMessage: []string{`"hook.backup.velero.io/command"`},
		},
		{
			name:        "a restore hook annotation would replace the replay",
			component:   postgresComponent(""),
			pods:        []corev1.Pod{annotatedPod("db-0", map[string]string{"post.hook.restore.velero.io/command": "x"})},
			wantPod:     "db-0",
			wantMessage: []string{`"post.hook.restore.velero.io/command"`},
		},
		{
			name:        "disk volume missing",
			component:   disk,
			pods:        []corev1.Pod{testPod("files-0", running, []string{"uploads", "tmp"}, testContainer("files"))},
			wantPod:     "files-0",
			wantField:   "backup.volumes[1]",
			wantMessage: []string{`no volume "cache"`, "its volumes are: uploads, tmp", "not the PVC"},
		},
		{
			name: "single volume missing",
			component: Component{Name: "files", Selector: dbLabels, Backup: driverspec.Backup{
				Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"files-pvc"},
			}},
			pods:        []corev1.Pod{testPod("files-0", running, nil, testContainer("files"))},
			wantPod:     "files-0",
			wantField:   "backup.volume",
			wantMessage: []string{`no volume "files-pvc"`, "it has no volumes"},
		},
		{
			name:        "dump volume missing in the second pod",
			component:   postgresComponent(""),
			pods:        []corev1.Pod{postgresPod("db-0"), testPod("db-1", running, []string{"data"}, testContainer("postgres", "data:/data"))},
			wantPod:     "db-1",
			wantField:   "backup.volume",
			wantMessage: []string{`no volume "dump"`, "its volumes are: data"},
		},
		{
			name:        "named container missing",
			component:   postgresComponent("pg"),
			pods:        []corev1.Pod{postgresPod("db-0")},
			wantPod:     "db-0",
			wantField:   "backup.container",
			wantMessage: []string{`no container "pg"`, "its containers are: postgres, exporter"},
		},
		{
			name:      "several containers mount the dump volume, none named like the kind",
			component: postgresComponent(""),
			pods: []corev1.Pod{testPod("db-0", running, []string{"dump"},
				testContainer("db", "dump:/backup"), testContainer("uploader", "dump:/dump"))},
			wantPod:     "db-0",
			wantField:   "backup.container",
			wantMessage: []string{"containers db, uploader all mount the dump volume", `none is named "postgres"`, "set backup.container"},
		},
		{
			name:      "no container mounts the dump volume",
			component: postgresComponent(""),
			pods: []corev1.Pod{testPod("db-0", running, []string{"data", "dump"},
				testContainer("postgres", "data:/data"), testContainer("exporter"))},
			wantPod:     "db-0",
			wantField:   "backup.volume",
			wantMessage: []string{`mounts the dump volume "dump"`, `container "postgres" mounts data at /data`, `container "exporter" mounts nothing`},
		},
		{
			name:      "named container does not mount the dump volume",
			component: postgresComponent("postgres"),
			pods: []corev1.Pod{testPod("db-0", running, []string{"data", "dump"},
				testContainer("postgres", "data:/data"), testContainer("sidecar", "dump:/backup"))},
			wantPod:     "db-0",
			wantField:   "backup.volume",
			wantMessage: []string{`container "postgres" does not mount the dump volume "dump"`, `container "sidecar" mounts dump at /backup`},
		},
		{
			name:      "dump volume mounted read-only",
			component: postgresComponent("postgres"),
			pods: []corev1.Pod{testPod("db-0", running, []string{"dump"},
				testContainer("postgres", "dump:/backup:ro"))},
			wantPod:     "db-0",
			wantField:   "backup.volume",
			wantMessage: []string{"read-only"},
		},
		{
			name:      "pods disagree on the container",
			component: postgresComponent(""),
			pods: []corev1.Pod{
				testPod("db-0", running, []string{"dump"}, testContainer("postgres", "dump:/backup")),
				testPod("db-1", running, []string{"dump"}, testContainer("db", "dump:/backup")),
			},
			wantPod:     "db-1",
			wantField:   "backup.container",
			wantMessage: []string{"pods disagree", `container "postgres" in pod "db-0"`, `"db" here`},
		},
		{
			name:      "pods disagree on the mount path",
			component: postgresComponent("postgres"),
			pods: []corev1.Pod{
				testPod("db-1", running, []string{"dump"}, testContainer("postgres", "dump:/dump")),
				testPod("db-0", running, []string{"dump"}, testContainer("postgres", "dump:/backup")),
			},
			wantPod:     "db-1",
			wantField:   "backup.volume",
			wantMessage: []string{"pods disagree", `at /backup in pod "db-0"`, "at /dump here"},
		},
		{
			name: "action container missing",
			component: Component{Name: "search", Selector: dbLabels, Backup: driverspec.Backup{
				Enabled: true, Kind: driverspec.KindAction, Container: "indexer",
				BackupCommand: []string{"/bin/flush"}, Timeout: time.Minute,
			}},
			pods:        []corev1.Pod{testPod("search-0", running, nil, testContainer("search"))},
			wantPod:     "search-0",
			wantField:   "backup.container",
			wantMessage: []string{`no container "indexer"`, "its containers are: search"},
		},
		{
			name:        "no selector",
			component:   Component{Name: "db", Backup: postgresComponent("").Backup},
			pods:        []corev1.Pod{postgresPod("db-0")},
			wantField:   "identifier.label",
			wantMessage: []string{"every pod"},
		},
		{
			name: "database kind with two volumes",
			component: Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
				Enabled: true, Kind: driverspec.KindMariaDB, Volumes: []string{"data", "dump"},
			}},
			pods:        []corev1.Pod{postgresPod("db-0")},
			wantField:   "backup.volume",
			wantMessage: []string{"exactly one dump volume, not 2"},
		},
		{
			name: "unknown kind",
			component: Component{Name: "db", Selector: dbLabels, Backup: driverspec.Backup{
				Enabled: true, Kind: "mysql", Volumes: []string{"dump"},
			}},
			pods:        []corev1.Pod{postgresPod("db-0")},
			wantField:   "backup.kind",
			wantMessage: []string{`kind "mysql"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(tt.component, tt.pods)
			if err == nil {
				t.Fatalf("Resolve succeeded with plan %+v, want an error", plan)
			}
			var preflight *MismatchError
			if !errors.As(err, &preflight) {
				t.Fatalf("error %v (%T) is not a *MismatchError", err, err)
			}
			if preflight.Component != tt.component.Name || preflight.Pod != tt.wantPod || preflight.Field != tt.wantField {
				t.Errorf("error names component %q, pod %q, field %q; want %q, %q, %q (%v)",
					preflight.Component, preflight.Pod, preflight.Field, tt.component.Name, tt.wantPod, tt.wantField, err)
			}
			for _, want := range tt.wantMessage {
				if !strings.Contains(preflight.Message, want) {
					t.Errorf("message %q does not contain %q", preflight.Message, want)
				}
			}
			text := err.Error()
			for _, want := range []string{`component "` + tt.component.Name + `"`, tt.wantField} {
				if !strings.Contains(text, want) {
					t.Errorf("Error() %q does not name %q", text, want)
				}
			}
			if tt.wantPod != "" && !strings.Contains(text, `pod "`+tt.wantPod+`"`) {
				t.Errorf("Error() %q does not name pod %q", text, tt.wantPod)
			}
		})
	}
}

func TestResolveDisabledBackupHasNoPlan(t *testing.T) {
	c := Component{Name: "server", Selector: dbLabels, Backup: driverspec.Backup{Enabled: false}}
	plan, err := Resolve(c, nil)
	if plan != nil || err != nil {
		t.Fatalf("Resolve = %+v, %v; want nil, nil", plan, err)
	}
	// Every method accepts the nil plan, so callers can skip the check.
	if plan.BackupHooks("ns", testBackup) != nil || plan.RestoreHooks("ns", testBackup, nil) != nil || plan.ExpectedVolumes() != nil ||
		plan.HasBackupHook() || plan.HasRestoreHook() {
		t.Error("a nil plan yields hooks or commands")
	}
}

func TestResolveContainer(t *testing.T) {
	running := corev1.PodRunning
	tests := []struct {
		name          string
		container     string
		pod           corev1.Pod
		wantContainer string
		wantDumpDir   string
	}{
		{
			name:          "the only container that mounts the dump volume",
			pod:           testPod("db-0", running, []string{"dump"}, testContainer("exporter"), testContainer("db", "dump:/var/backups")),
			wantContainer: "db", wantDumpDir: "/var/backups",
		},
		{
			name: "several mount it; the one named like the kind",
			pod: testPod("db-0", running, []string{"dump"},
				testContainer("uploader", "dump:/upload"), testContainer("postgres", "dump:/backup")),
			wantContainer: "postgres", wantDumpDir: "/backup",
		},
		{
			name:      "named; its writable mount wins over a read-only one",
			container: "db",
			pod: testPod("db-0", running, []string{"dump"},
				testContainer("db", "dump:/ro:ro", "dump:/rw")),
			wantContainer: "db", wantDumpDir: "/rw",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(postgresComponent(tt.container), []corev1.Pod{tt.pod})
			if err != nil {
				t.Fatal(err)
			}
			if plan.Container != tt.wantContainer || plan.DumpDir != tt.wantDumpDir {
				t.Errorf("container %q at %q, want %q at %q", plan.Container, plan.DumpDir, tt.wantContainer, tt.wantDumpDir)
			}
		})
	}
}

func TestResolveSkipsPodsThatAreNotRunning(t *testing.T) {
	running := testPod("db-1", corev1.PodRunning, []string{"dump"}, testContainer("postgres", "dump:/backup"))
	pending := testPod("db-0", corev1.PodPending, nil, testContainer("postgres"))
	plan, err := Resolve(postgresComponent(""), []corev1.Pod{running, pending})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"db-1"}, plan.Pods); diff != "" {
		t.Errorf("Pods (-want +got):\n%s", diff)
	}
	if len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], `pod "db-0" is Pending`) {
		t.Errorf("Warnings = %q, want one about db-0 being Pending", plan.Warnings)
	}
}

func TestResolvePlans(t *testing.T) {
	running := corev1.PodRunning
	dumpPods := []corev1.Pod{
		testPod("db-1", running, []string{"data", "dump"}, testContainer("db", "data:/data", "dump:/backup")),
		testPod("db-0", running, []string{"data", "dump"}, testContainer("db", "data:/data", "dump:/backup")),
	}
	tests := []struct {
		name   string
		backup driverspec.Backup
		pods   []corev1.Pod
		want   Plan
		// wantExpected is what the plan's ExpectedVolumes returns.
		wantExpected []ExpectedVolume
	}{
		{
			name:   "postgres, listed databases",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindPostgres, Volumes: []string{"dump"}, Databases: []string{"shop", "shop orders"}},
			pods:   dumpPods,
			want: Plan{
				Container: "db", Pods: []string{"db-0", "db-1"}, Volumes: []string{"dump"}, DumpDir: "/backup",
				DumpFiles: []string{"/backup/styrmin/postgres-shop.dump", "/backup/styrmin/postgres-shop_orders.dump", "/backup/styrmin/postgres-globals.sql"},
				Marker:    "/backup/styrmin/postgres.sha256",
				Timeout:   driverspec.DefaultTimeout,
			},
			wantExpected: []ExpectedVolume{{"db-0", "dump"}, {"db-1", "dump"}},
		},
		{
			name:   "mariadb",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindMariaDB, Volumes: []string{"dump"}, Timeout: time.Minute},
			pods:   dumpPods[:1],
			want: Plan{
				Container: "db", Pods: []string{"db-1"}, Volumes: []string{"dump"}, DumpDir: "/backup",
				DumpFiles: []string{"/backup/styrmin/mariadb.sql"}, Marker: "/backup/styrmin/mariadb.sha256",
				Timeout: time.Minute,
			},
			wantExpected: []ExpectedVolume{{"db-1", "dump"}},
		},
		{
			name:   "mongodb, databases whose file names would collide",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindMongoDB, Volumes: []string{"dump"}, Databases: []string{"a/b", "a:b"}},
			pods:   dumpPods[:1],
			want: Plan{
				Container: "db", Pods: []string{"db-1"}, Volumes: []string{"dump"}, DumpDir: "/backup",
				DumpFiles: []string{"/backup/styrmin/mongodb-a_b.archive.gz", "/backup/styrmin/mongodb-a_b-2.archive.gz", "/backup/styrmin/mongodb.info"},
				Marker:    "/backup/styrmin/mongodb.sha256",
				Timeout:   driverspec.DefaultTimeout,
				Warnings:  []string{mongoDatabasesWarning},
			},
			wantExpected: []ExpectedVolume{{"db-1", "dump"}},
		},
		{
			name:   "neo4j, default databases",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindNeo4j, Volumes: []string{"dump"}},
			pods:   dumpPods[:1],
			want: Plan{
				Container: "db", Pods: []string{"db-1"}, Volumes: []string{"dump"}, DumpDir: "/backup",
				DumpFiles: []string{"/backup/styrmin/neo4j.dump", "/backup/styrmin/neo4j-system.backup", "/backup/styrmin/neo4j.info"},
				Marker:    "/backup/styrmin/neo4j.sha256",
				Timeout:   driverspec.DefaultTimeout,
				Warnings:  []string{neo4jDowntimeWarning, fmt.Sprintf(neo4jCommunityImageWarning, "example/db")},
			},
			wantExpected: []ExpectedVolume{{"db-1", "dump"}},
		},
		{
			name:   "disk",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"dump", "data"}},
			pods:   dumpPods,
			want: Plan{
				Pods: []string{"db-0", "db-1"}, Volumes: []string{"dump", "data"},
			},
			wantExpected: []ExpectedVolume{{"db-0", "dump"}, {"db-0", "data"}, {"db-1", "dump"}, {"db-1", "data"}},
		},
		{
			name: "action without volumes",
			backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindAction, Container: "db",
				BackupCommand: []string{"/bin/true"}, Timeout: time.Minute},
			pods: dumpPods[:1],
			want: Plan{Container: "db", Pods: []string{"db-1"}, Timeout: time.Minute},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Component{Name: "db", Selector: dbLabels, Backup: tt.backup}
			plan, err := Resolve(c, tt.pods)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Component, want.Kind, want.Selector = "db", tt.backup.Kind, dbLabels
			// The unexported fields feed the scripts, which other tests run.
			if diff := cmp.Diff(&want, plan, cmpopts.IgnoreUnexported(Plan{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExpected, plan.ExpectedVolumes()); diff != "" {
				t.Errorf("ExpectedVolumes (-want +got):\n%s", diff)
			}
		})
	}
}

// A disk component runs no hook, so the pod's own hook annotations take nothing from it.
func TestResolveIgnoresHookAnnotationsOfComponentsWithoutHooks(t *testing.T) {
	pod := testPod("files-0", corev1.PodRunning, []string{"uploads"}, testContainer("files", "uploads:/data"))
	pod.Annotations = map[string]string{"pre.hook.backup.velero.io/command": "sync"}
	disk := Component{Name: "files", Selector: dbLabels, Backup: driverspec.Backup{Enabled: true, Kind: driverspec.KindDisk, Volumes: []string{"uploads"}}}
	if _, err := Resolve(disk, []corev1.Pod{pod}); err != nil {
		t.Errorf("a disk component was refused for its pod's hook annotation: %v", err)
	}
}
