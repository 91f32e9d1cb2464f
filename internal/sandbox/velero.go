package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

// Velero runs in two places. The server runs on the host as a child process (out of cluster):
// it needs no image, its plugins are a directory, and its log is a file. The node-agent must run
// as a pod, because Velero finds it by label on the node and mounts pod volumes from
// /host_pods; it and the per-volume pods it spawns get the stack's kubeconfig from a secret.

var bslResource = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backupstoragelocations"}

func (l Layout) veleroPluginDir(bins Binaries) string {
	return filepath.Dir(bins.Path("velero-plugin-for-aws"))
}

func (l Layout) veleroServer(bins Binaries) daemon {
	home := l.state("velero-home")
	return daemon{Name: "velero", Path: bins.Path("velero"), Dir: home,
		Args: []string{"server",
			"--kubeconfig", l.Kubeconfig(),
			"--namespace", VeleroNamespace,
			"--plugin-dir", l.veleroPluginDir(bins),
			"--uploader-type", "kopia",
			"--metrics-address", fmt.Sprintf("127.0.0.1:%d", VeleroMetrics),
			"--profiler-address", fmt.Sprintf("127.0.0.1:%d", VeleroProfiler),
			"--default-backup-storage-location", "default",
			"--item-block-worker-count", fmt.Sprint(VeleroParallelism),
			"--log-level", "info",
		},
		Env: []string{"HOME=" + home, "AWS_SHARED_CREDENTIALS_FILE=" + l.state("velero-home", "cloud")},
	}
}

// veleroInstall is one Velero install's in-cluster objects besides its CRDs. Production's server
// runs on the host; the test environment's (ServerArgs set) runs in its Deployment, since a second
// host server would collide with the first on the metrics port Velero always binds.
type veleroInstall struct {
	Namespace   string
	Kubeconfig  string // the stack's admin kubeconfig, for the pods
	Credentials string // the server's key, as an AWS credentials file
	Image       string
	HostPods    string   // the kubelet's pods directory, which the node-agent reads volumes from
	ServerArgs  []string // empty: the Deployment has no replicas (the server runs on the host)
	PluginDir   string   // the host's plugin directory, mounted into an in-cluster server
	Location    *installLocation
	Parallelism int // pods whose volumes are backed up at once
}

// VeleroParallelism is how many pods' items, hooks and volumes Velero backs up at once (the
// server's --item-block-worker-count) and how many data movers each node-agent runs at once: a
// small backup's time is a few seconds per volume, one volume after the other by default.
const VeleroParallelism = 8

// installLocation is a backup storage location the install starts with.
type installLocation struct {
	Name, Bucket, Prefix, Region, Endpoint string
}

var veleroTemplate = template.Must(template.New("velero").Funcs(template.FuncMap{
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
}).Parse(`apiVersion: v1
kind: Namespace
metadata:
  name: {{.Namespace}}
---
apiVersion: v1
kind: Secret
metadata:
  name: sandbox-kubeconfig
  namespace: {{.Namespace}}
stringData:
  config: |
{{indent 4 .Kubeconfig}}
---
apiVersion: v1
kind: Secret
metadata:
  name: cloud-credentials
  namespace: {{.Namespace}}
stringData:
  cloud: |
{{indent 4 .Credentials}}
---
# Velero's pod-volume restore action reads the restore helper image from this Deployment.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: velero
  namespace: {{.Namespace}}
  labels: {component: velero}
spec:
  replicas: {{if .ServerArgs}}1{{else}}0{{end}}
  selector:
    matchLabels: {deploy: velero}
  template:
    metadata:
      labels: {deploy: velero, component: velero}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: velero
        image: {{.Image}}
        imagePullPolicy: Never
        command: [/velero]
        args: [server{{range .ServerArgs}}, {{.}}{{end}}]
{{- if .ServerArgs}}
        env:
        - {name: AWS_SHARED_CREDENTIALS_FILE, value: /credentials/cloud}
        - {name: HOME, value: /scratch}
        - {name: VELERO_NAMESPACE, value: {{.Namespace}}}
        volumeMounts:
        - {name: plugins, mountPath: /plugins, readOnly: true}
        - {name: scratch, mountPath: /scratch}
        - {name: kubeconfig, mountPath: /kube, readOnly: true}
        - {name: cloud-credentials, mountPath: /credentials, readOnly: true}
      volumes:
      - {name: plugins, hostPath: {path: {{.PluginDir}}}}
      - {name: scratch, emptyDir: {}}
      - {name: kubeconfig, secret: {secretName: sandbox-kubeconfig}}
      - {name: cloud-credentials, secret: {secretName: cloud-credentials}}
{{- end}}
---
# The data movers a node-agent runs at once (one by default): with the server's item block
# workers, the volumes of several pods are backed up at the same time.
apiVersion: v1
kind: ConfigMap
metadata:
  name: node-agent-config
  namespace: {{.Namespace}}
data:
  config.json: '{"loadConcurrency": {"globalConfig": {{.Parallelism}}}}'
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: {{.Namespace}}
  labels: {component: velero}
spec:
  selector:
    matchLabels: {name: node-agent}
  template:
    metadata:
      labels: {name: node-agent, role: node-agent, component: velero}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: node-agent
        image: {{.Image}}
        imagePullPolicy: Never
        command: [/velero]
        args: [node-agent, server, --node-agent-configmap=node-agent-config, --log-level=info]
        securityContext: {privileged: true, runAsUser: 0}
        env:
        - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: VELERO_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: VELERO_SCRATCH_DIR, value: /scratch}
        - {name: KUBECONFIG, value: /kube/config}
        - {name: AWS_SHARED_CREDENTIALS_FILE, value: /credentials/cloud}
        - {name: HOME, value: /scratch}
        volumeMounts:
        - {name: host-pods, mountPath: /host_pods, mountPropagation: HostToContainer}
        - {name: scratch, mountPath: /scratch}
        - {name: kubeconfig, mountPath: /kube, readOnly: true}
        - {name: cloud-credentials, mountPath: /credentials, readOnly: true}
      volumes:
      - {name: host-pods, hostPath: {path: {{.HostPods}}}}
      - {name: scratch, emptyDir: {}}
      - {name: kubeconfig, secret: {secretName: sandbox-kubeconfig}}
      - {name: cloud-credentials, secret: {secretName: cloud-credentials}}
{{- with .Location}}
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: {{.Name}}
  namespace: {{$.Namespace}}
spec:
  provider: aws
  default: true
  objectStorage:
    bucket: {{.Bucket}}
    prefix: {{.Prefix}}
  config:
    region: {{.Region}}
    s3Url: {{.Endpoint}}
    s3ForcePathStyle: "true"
    checksumAlgorithm: ""
{{- end}}
`))

func (v veleroInstall) manifests() []byte {
	var b bytes.Buffer
	if err := veleroTemplate.Execute(&b, v); err != nil {
		panic("sandbox: velero manifests: " + err.Error())
	}
	return b.Bytes()
}

// veleroManifests are production's: the server on the host, the default location in the bucket.
func (l Layout) veleroManifests(kubeconfig []byte, creds S3Credentials) []byte {
	return veleroInstall{Namespace: VeleroNamespace, Kubeconfig: string(kubeconfig), Credentials: creds.AWSIni(),
		Image: images.VeleroImage, HostPods: filepath.Join(l.KubeletRootDir(), "pods"),
		Parallelism: VeleroParallelism,
		Location:    &installLocation{Name: "default", Bucket: S3Bucket, Prefix: DefaultBSLPrefix, Region: S3Region, Endpoint: S3Endpoint()},
	}.manifests()
}

func (l Layout) startVelero(ctx context.Context, c *clients, bins Binaries, creds S3Credentials) error {
	crds, err := run(ctx, bins.Path("velero"), "install", "--crds-only", "--dry-run", "-o", "yaml")
	if err != nil {
		return fmt.Errorf("velero CRDs: %w", err)
	}
	if err := c.apply(ctx, []byte(crds), ""); err != nil {
		return fmt.Errorf("velero CRDs: %w", err)
	}
	if err := c.waitCRDsEstablished(ctx); err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(l.Kubeconfig())
	if err != nil {
		return err
	}
	if err := c.apply(ctx, l.veleroManifests(kubeconfig, creds), VeleroNamespace); err != nil {
		return fmt.Errorf("velero objects: %w", err)
	}
	if err := os.MkdirAll(l.state("velero-home"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(l.state("velero-home", "cloud"), []byte(creds.AWSIni()), 0o600); err != nil {
		return err
	}
	if _, err := l.start(l.veleroServer(bins)); err != nil {
		return err
	}
	if err := l.waitBSLAvailable(ctx, c, "default", 2*time.Minute); err != nil {
		return err
	}
	return l.waitNodeAgent(ctx, c, 3*time.Minute)
}

func (c *clients) waitCRDsEstablished(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := c.dyn.Resource(bslResource).Namespace(VeleroNamespace).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			c.mapper.Reset()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("velero CRDs not served after a minute: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (l Layout) waitBSLAvailable(ctx context.Context, c *clients, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var phase, message string
	for {
		obj, err := c.dyn.Resource(bslResource).Namespace(VeleroNamespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			phase, _, _ = unstructured.NestedString(obj.Object, "status", "phase")
			message, _, _ = unstructured.NestedString(obj.Object, "status", "message")
			if phase == "Available" {
				return nil
			}
		}
		if _, ok := l.running("velero"); !ok {
			return l.componentError("velero", "exited while starting")
		}
		if time.Now().After(deadline) {
			return l.componentError("velero", fmt.Sprintf("backup storage location %q is %q after %s: %s", name, phase, timeout, message))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (l Layout) waitNodeAgent(ctx context.Context, c *clients, timeout time.Duration) error {
	if err := waitPodRunning(ctx, c, VeleroNamespace, "name=node-agent", timeout); err != nil {
		return l.componentError("kubelet", "velero node-agent: "+err.Error())
	}
	return nil
}

// waitPodRunning waits until a pod that selector matches in namespace runs.
func waitPodRunning(ctx context.Context, c *clients, namespace, selector string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := "no pod"
	for {
		pods, err := c.core.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning {
					return nil
				}
				last = DescribePod(&p)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s in %s not Running after %s: %s", selector, namespace, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// DescribePod summarises why a pod is not running, for error messages.
func DescribePod(p *corev1.Pod) string {
	parts := []string{p.Name + " " + string(p.Status.Phase)}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			parts = append(parts, fmt.Sprintf("%s waiting: %s %s", cs.Name, w.Reason, w.Message))
		}
		if t := cs.State.Terminated; t != nil {
			parts = append(parts, fmt.Sprintf("%s terminated: %s %s", cs.Name, t.Reason, t.Message))
		}
	}
	for _, cond := range p.Status.Conditions {
		if cond.Status != corev1.ConditionTrue && cond.Message != "" {
			parts = append(parts, cond.Message)
		}
	}
	return strings.Join(parts, "; ")
}
