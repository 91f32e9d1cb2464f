package strategy

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

const sampleApp = "../../examples/sample-app"

// sampleAppPods returns the Running pods the sample app's manifests create:
// one per Deployment, one per replica of a StatefulSet (named as the
// StatefulSet names them, with a volume per claim template), and the sample
// Secret's values.
func sampleAppPods(t *testing.T) ([]corev1.Pod, map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sampleApp, "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample-app manifests: %v", err)
	}
	var pods []corev1.Pod
	secrets := map[string]string{}
	pod := func(name string, template corev1.PodTemplateSpec) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "sample", Labels: template.Labels},
			Spec:       *template.Spec.DeepCopy(),
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(content), "\n---\n") {
			data := []byte(doc)
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(data, &meta); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			switch meta.Kind {
			case "Deployment":
				var d appsv1.Deployment
				if err := yaml.UnmarshalStrict(data, &d); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				pods = append(pods, pod(d.Name+"-6f7c9d-x2x4k", d.Spec.Template))
			case "StatefulSet":
				var s appsv1.StatefulSet
				if err := yaml.UnmarshalStrict(data, &s); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				replicas := 1
				if s.Spec.Replicas != nil {
					replicas = int(*s.Spec.Replicas)
				}
				for i := range replicas {
					p := pod(fmt.Sprintf("%s-%d", s.Name, i), s.Spec.Template)
					for _, claim := range s.Spec.VolumeClaimTemplates {
						p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: claim.Name, VolumeSource: corev1.VolumeSource{
							PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name + "-" + p.Name},
						}})
					}
					pods = append(pods, p)
				}
			case "Secret":
				var s corev1.Secret
				if err := yaml.UnmarshalStrict(data, &s); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				for key, value := range s.StringData {
					secrets[s.Name+"/"+key] = value
				}
			}
		}
	}
	return pods, secrets
}

// sampleAppPodNames are the names of the pods of component, sorted.
func sampleAppPodNames(pods []corev1.Pod, component string) []string {
	var names []string
	for _, p := range pods {
		if p.Labels["app.kubernetes.io/component"] == component {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}

func sampleAppComponents(t *testing.T) map[string]Component {
	t.Helper()
	driver, err := driverspec.ParseFile(filepath.Join(sampleApp, "driver.styrmin.yml"))
	if err != nil {
		t.Fatal(err)
	}
	components := map[string]Component{}
	for _, c := range driver.SortedComponents() {
		components[c.Name] = c
	}
	return components
}

func TestSampleAppPlans(t *testing.T) {
	pods, _ := sampleAppPods(t)
	components := sampleAppComponents(t)
	labels := func(component string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": "sample-app", "app.kubernetes.io/component": component}
	}
	want := map[string]*Plan{
		"postgres": {
			Component: "postgres", Kind: driverspec.KindPostgres, Selector: labels("postgres"), Container: "postgres",
			Pods: sampleAppPodNames(pods, "postgres"), Volumes: []string{"postgres-dump"}, DumpDir: "/backup",
			DumpFiles: []string{"/backup/styrmin/postgres.dump", "/backup/styrmin/postgres-globals.sql"},
			Marker:    "/backup/styrmin/postgres.sha256",
			Timeout:   driverspec.DefaultTimeout,
		},
		"mariadb": {
			Component: "mariadb", Kind: driverspec.KindMariaDB, Selector: labels("mariadb"), Container: "mariadb",
			Pods: sampleAppPodNames(pods, "mariadb"), Volumes: []string{"mariadb-dump"}, DumpDir: "/backup",
			DumpFiles: []string{"/backup/styrmin/mariadb.sql"}, Marker: "/backup/styrmin/mariadb.sha256",
			Timeout: driverspec.DefaultTimeout,
		},
		"files": {
			Component: "files", Kind: driverspec.KindDisk, Selector: labels("files"),
			Pods: sampleAppPodNames(pods, "files"), Volumes: []string{"files-data"},
		},
		"notes": {
			Component: "notes", Kind: driverspec.KindAction, Selector: labels("notes"), Container: "notes",
			Pods: sampleAppPodNames(pods, "notes"), Volumes: []string{"notes-export"},
			Timeout: 2 * time.Minute,
		},
		"server": nil, // backup disabled
	}
	if len(components) != len(want) {
		t.Fatalf("the sample app has components %v", slices.Sorted(maps.Keys(components)))
	}
	for name, wantPlan := range want {
		t.Run(name, func(t *testing.T) {
			plan, err := Resolve(components[name], pods)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantPlan, plan, cmpopts.IgnoreUnexported(Plan{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if plan == nil {
				return
			}
			backup, restore := plan.BackupHooks("sample", testBackup), plan.RestoreHooks("sample-clone", testBackup, nil)
			switch plan.Kind {
			case driverspec.KindDisk:
				if backup != nil || restore != nil {
					t.Errorf("disk component has hooks")
				}
				return
			case driverspec.KindAction:
				backupCommand, restoreCommand := components[name].Backup.BackupCommand, components[name].Backup.RestoreCommand
				if !slices.Equal(backup.PreHooks[0].Exec.Command, backupCommand) || !slices.Equal(restore.PostHooks[0].Exec.Command, restoreCommand) {
					t.Errorf("action hooks run %q and %q, want the driver's %q and %q",
						backup.PreHooks[0].Exec.Command, restore.PostHooks[0].Exec.Command, backupCommand, restoreCommand)
				}
			}
			if backup.PreHooks[0].Exec.Container != name || restore.PostHooks[0].Exec.Container != name {
				t.Errorf("hooks run in %q and %q, want %q", backup.PreHooks[0].Exec.Container, restore.PostHooks[0].Exec.Container, name)
			}
		})
	}
}

// containerEnv is the environment the manifest gives a container, with
// secretKeyRef values looked up in the sample Secret.
func containerEnv(t *testing.T, ctr *corev1.Container, secrets map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			value, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok {
				t.Fatalf("env %s refers to %s/%s, which the sample Secret lacks", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = value
		default:
			t.Fatalf("env %s: unsupported valueFrom", e.Name)
		}
	}
	return env
}

// TestSampleAppScripts runs the sample app's database hooks with the
// environment its manifests give the containers, the dump volume moved to a
// temporary directory.
func TestSampleAppScripts(t *testing.T) {
	pods, secrets := sampleAppPods(t)
	components := sampleAppComponents(t)
	tests := []struct {
		component      string
		dumpTool       string
		wantDumpArgv   []string
		restoreTool    string
		wantPassword   string
		passwordEnv    string
		otherPasswords []string
	}{
		{
			component:    "postgres",
			dumpTool:     "pg_dump",
			wantDumpArgv: []string{"-Fc", "-Z", "1", "-w", "--username=app", "-f", "postgres.dump.tmp", "app"},
			restoreTool:  "pg_restore",
			wantPassword: secrets["sample-app-db/postgres-password"], passwordEnv: "PGPASSWORD",
		},
		{
			component: "mariadb",
			dumpTool:  "mariadb-dump",
			wantDumpArgv: []string{"--user=root", "--single-transaction", "--quick", "--routines", "--triggers",
				"--events", "--hex-blob", "--result-file=mariadb.sql.tmp", "--databases", "app"},
			restoreTool:  "mariadb",
			wantPassword: secrets["sample-app-db/mariadb-root-password"], passwordEnv: "MYSQL_PWD",
			otherPasswords: []string{secrets["sample-app-db/mariadb-password"]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.component, func(t *testing.T) {
			if tt.wantPassword == "" {
				t.Fatal("the sample Secret has no password for the component")
			}
			component := components[tt.component]
			var pod corev1.Pod
			for _, p := range pods {
				if p.Labels["app.kubernetes.io/component"] == tt.component {
					pod = *p.DeepCopy()
				}
			}
			ctr := findContainer(pod, component.Backup.Container)
			c := newContainer(t, "/bin/sh", containerEnv(t, ctr, secrets))
			c.hostname = pod.Name
			for i, m := range ctr.VolumeMounts {
				if m.Name == component.Backup.Volumes[0] {
					ctr.VolumeMounts[i].MountPath = c.mount
				}
			}
			plan, err := Resolve(component, []corev1.Pod{pod})
			if err != nil {
				t.Fatal(err)
			}

			dump := plan.BackupHooks("sample", testBackup).PreHooks[0].Exec.Command
			r := c.run(dump)
			if r.code != 0 {
				t.Fatalf("dump exited %d:\n%s", r.code, r.stderr)
			}
			var files []string
			for _, f := range plan.DumpFiles {
				files = append(files, filepath.Base(f))
			}
			c.checkDump(filepath.Base(plan.Marker), files...)
			if got := c.argv(tt.dumpTool); !slices.Equal(got, tt.wantDumpArgv) {
				t.Errorf("%s argv %q, want %q", tt.dumpTool, got, tt.wantDumpArgv)
			}
			if got := c.toolEnv(tt.dumpTool)[tt.passwordEnv]; got != tt.wantPassword {
				t.Errorf("%s got %s=%q, want %q", tt.dumpTool, tt.passwordEnv, got, tt.wantPassword)
			}
			c.checkReports(plan, r)

			restore := plan.RestoreHooks("sample-clone", testBackup, recordedBy(t, plan, r)).PostHooks[0].Exec.Command
			r2 := c.run(restore)
			if r2.code != 0 {
				t.Fatalf("restore exited %d:\n%s", r2.code, r2.stderr)
			}
			if got := c.toolEnv(tt.restoreTool)[tt.passwordEnv]; got != tt.wantPassword {
				t.Errorf("%s got %s=%q", tt.restoreTool, tt.passwordEnv, got)
			}
			secretsToHide := append([]string{tt.wantPassword}, tt.otherPasswords...)
			c.checkSecretsStayOut(dump[2], r, secretsToHide...)
			c.checkSecretsStayOut(restore[2], r2, secretsToHide...)
		})
	}
}
