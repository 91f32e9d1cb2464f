package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

// The stack's storage is rancher/local-path-provisioner, run on the host like the Velero server:
// a claim of the default StorageClass gets a directory under the stack's state directory (so
// `down` removes the data with the rest), made and removed by a short helper pod on the util
// image. Its volumes are of type "local", not hostPath: Velero's file-system backup refuses
// hostPath volumes. The class binds on first use (WaitForFirstConsumer), because the provisioner
// must know the node of the pod that uses the claim.

const (
	// StorageClass is the stack's default StorageClass.
	StorageClass       = "local-path"
	localPathNamespace = "local-path-storage"
	localPathName      = "local-path-provisioner"
	localPathSetup     = "#!/bin/sh\nset -eu\nmkdir -m 0777 -p \"$VOL_DIR\"\n"
	localPathTeardown  = "#!/bin/sh\nset -eu\nrm -rf \"$VOL_DIR\"\n"
)

func (l Layout) localPathDir(parts ...string) string {
	return l.state(append([]string{"local-path"}, parts...)...)
}

// VolumesDir is where the stack's persistent volumes keep their data.
func (l Layout) VolumesDir() string { return l.localPathDir("volumes") }

func (l Layout) localPathProvisioner(bins Binaries) daemon {
	return daemon{Name: localPathName, Path: bins.Path(localPathName), Dir: l.localPathDir(),
		Args: []string{"start",
			"--kubeconfig", l.Kubeconfig(),
			"--config", l.localPathDir("config", "config.json"),
			"--helper-pod-file", l.localPathDir("config", "helperPod.yaml"),
			"--namespace", localPathNamespace,
			"--service-account-name", "default",
			"--provisioner-name", "rancher.io/local-path",
		}}
}

// writeLocalPathConfig writes the provisioner's configuration: one path on the stack's node, and a
// helper pod that runs the setup and teardown scripts from a host directory (no ConfigMap).
func (l Layout) writeLocalPathConfig() error {
	config := l.localPathDir("config")
	if err := os.MkdirAll(config, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(l.VolumesDir(), 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"config.json": fmt.Sprintf(`{
  "nodePathMap": [{"node": %q, "paths": [%q]}],
  "setupCommand": "/local-path/setup",
  "teardownCommand": "/local-path/teardown",
  "cmdTimeoutSeconds": 60
}
`, NodeName, l.VolumesDir()),
		"helperPod.yaml": fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: helper-pod
    image: %s
    imagePullPolicy: Never
    volumeMounts:
    - {name: local-path-scripts, mountPath: /local-path, readOnly: true}
  volumes:
  - name: local-path-scripts
    hostPath: {path: %s, type: Directory}
`, images.UtilImage, config),
		"setup":    localPathSetup,
		"teardown": localPathTeardown,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(config, name), []byte(content), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func localPathManifests() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %[2]s
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
    defaultVolumeType: local
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`, localPathNamespace, StorageClass)
}

// startStorage starts the provisioner and makes its class the default.
func (l Layout) startStorage(ctx context.Context, c *clients, bins Binaries) error {
	if err := l.writeLocalPathConfig(); err != nil {
		return err
	}
	if err := c.apply(ctx, []byte(localPathManifests()), ""); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	if _, err := l.start(l.localPathProvisioner(bins)); err != nil {
		return err
	}
	// It has no health endpoint: it serves once it runs and the class exists.
	time.Sleep(500 * time.Millisecond)
	if _, ok := l.running(localPathName); !ok {
		return l.componentError(localPathName, "exited while starting")
	}
	if _, err := c.core.StorageV1().StorageClasses().Get(ctx, StorageClass, metav1.GetOptions{}); err != nil {
		return l.componentError(localPathName, "storage class: "+err.Error())
	}
	return nil
}
