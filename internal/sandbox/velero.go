package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
			"--log-level", "info",
		},
		Env: []string{"HOME=" + home, "AWS_SHARED_CREDENTIALS_FILE=" + l.state("velero-home", "cloud")},
	}
}

// veleroManifests are the in-cluster objects Velero needs besides its CRDs.
func (l Layout) veleroManifests(kubeconfig []byte, creds S3Credentials) string {
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") }
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: v1
kind: Secret
metadata:
  name: sandbox-kubeconfig
  namespace: %[1]s
stringData:
  config: |
%[2]s
---
apiVersion: v1
kind: Secret
metadata:
  name: cloud-credentials
  namespace: %[1]s
stringData:
  cloud: |
%[3]s
---
# Velero's pod-volume restore action reads the restore helper image from this Deployment; the
# server itself runs outside the cluster, so it has no replicas.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: velero
  namespace: %[1]s
  labels: {component: velero}
spec:
  replicas: 0
  selector:
    matchLabels: {deploy: velero}
  template:
    metadata:
      labels: {deploy: velero, component: velero}
    spec:
      containers:
      - name: velero
        image: %[4]s
        imagePullPolicy: Never
        command: [/velero]
        args: [server]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: %[1]s
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
        image: %[4]s
        imagePullPolicy: Never
        command: [/velero]
        args: [node-agent, server, --log-level=info]
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
      - {name: host-pods, hostPath: {path: %[5]s}}
      - {name: scratch, emptyDir: {}}
      - {name: kubeconfig, secret: {secretName: sandbox-kubeconfig}}
      - {name: cloud-credentials, secret: {secretName: cloud-credentials}}
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata:
  name: default
  namespace: %[1]s
spec:
  provider: aws
  default: true
  objectStorage:
    bucket: %[6]s
    prefix: %[7]s
  config:
    region: %[8]s
    s3Url: %[9]s
    s3ForcePathStyle: "true"
    checksumAlgorithm: ""
`, VeleroNamespace, indent(string(kubeconfig)), indent(creds.AWSIni()), images.VeleroImage,
		filepath.Join(l.KubeletRootDir(), "pods"), S3Bucket, DefaultBSLPrefix, S3Region, S3Endpoint())
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
	if err := c.apply(ctx, []byte(l.veleroManifests(kubeconfig, creds)), VeleroNamespace); err != nil {
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
	deadline := time.Now().Add(timeout)
	var last string
	for {
		pods, err := c.core.CoreV1().Pods(VeleroNamespace).List(ctx, metav1.ListOptions{LabelSelector: "name=node-agent"})
		if err == nil {
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning {
					return nil
				}
				last = DescribePod(&p)
			}
		}
		if time.Now().After(deadline) {
			return l.componentError("kubelet", fmt.Sprintf("velero node-agent pod not Running after %s: %s", timeout, last))
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
