package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

func (l Layout) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
# Plugins that would write outside the stack's directories or are useless here.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # This VM may not lower OOM scores; without this runc fails with "can't get final child's PID".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
`, l.state("containerd", "root"), l.state("containerd", "state"), l.ContainerdSocket(), l.ContainerdSocket()+".ttrpc",
		images.PauseImage, l.state("runc"), l.state("cni", "net.d"))
}

// cniConfig puts pods on the bridge with addresses from the link-local pod range, no default route
// and no masquerading: a pod reaches the bridge subnet and, through the host, the service IP.
func (l Layout) cniConfig() ([]byte, error) {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "styrmin",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": BridgeName,
				"isGateway": false, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": l.state("cni", "ipam"),
					"ranges": [][]map[string]string{{{
						"subnet": PodSubnet, "rangeStart": PodRangeStart, "rangeEnd": PodRangeEnd,
					}}},
					"routes": []map[string]string{{"dst": ServiceSubnet, "gw": BridgeAddress}},
				},
			},
			map[string]any{"type": "loopback"},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

func (l Layout) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
# Bound to loopback only, so anonymous access is safe and keeps the stack free of node credentials.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://%s
resolvConf: %s
podLogsDir: %s
# No kubelet iptables chains: the stack must leave no rule behind.
makeIPTablesUtilChains: false
evictionHard:
  memory.available: 100Mi
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
clusterDomain: cluster.local
`, KubeletPort, KubeletHealthz, l.ContainerdSocket(), l.state("resolv.conf"), l.state("pod-logs"))
}

func (l Layout) writeNodeConfig() error {
	for _, d := range []string{l.state("cni", "net.d"), l.state("cni", "ipam"), l.state("pod-logs"), l.KubeletRootDir(), l.state("runc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cni, err := l.cniConfig()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		l.state("containerd.toml"):                     []byte(l.containerdConfig()),
		l.state("cni", "net.d", "10-styrmin.conflist"): cni,
		l.state("kubelet.yaml"):                        []byte(l.kubeletConfig()),
		// Pods get a resolver that answers nothing: no DNS query can leave the machine.
		l.state("resolv.conf"): []byte("nameserver 127.0.0.1\noptions ndots:1 attempts:1 timeout:1\n"),
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (l Layout) containerd() daemon {
	return daemon{Name: "containerd", Path: "/usr/bin/containerd", Args: []string{"--config", l.state("containerd.toml")}}
}

func (l Layout) kubelet(bins Binaries) daemon {
	return daemon{Name: "kubelet", Path: bins.Path("kubelet"), Args: []string{
		"--config", l.state("kubelet.yaml"),
		"--kubeconfig", l.Kubeconfig(),
		"--hostname-override", NodeName,
		"--root-dir", l.KubeletRootDir(),
		"--v", "1",
	}}
}

func (l Layout) waitContainerd(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := run(ctx, "ctr", "--address", l.ContainerdSocket(), "version"); err == nil {
			return nil
		}
		if _, ok := l.running("containerd"); !ok {
			return l.componentError("containerd", "exited while starting")
		}
		if time.Now().After(deadline) {
			return l.componentError("containerd", "did not answer on "+l.ContainerdSocket())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitNodeReady waits until the kubelet's node reports Ready.
func (l Layout) waitNodeReady(ctx context.Context, c *clients, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		node, err := c.core.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err == nil {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady {
					if cond.Status == corev1.ConditionTrue {
						return nil
					}
					last = cond.Reason + ": " + cond.Message
				}
			}
		} else {
			last = err.Error()
		}
		if _, ok := l.running("kubelet"); !ok {
			return l.componentError("kubelet", "exited while starting")
		}
		if time.Now().After(deadline) {
			return l.componentError("kubelet", fmt.Sprintf("node %q not Ready after %s (%s)", NodeName, timeout, last))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// removeAllPods stops and removes every pod sandbox through the CRI, so containerd tears down
// their network namespaces, CNI allocations and mounts before it stops.
func (l Layout) removeAllPods(ctx context.Context) error {
	if !exists(l.ContainerdSocket()) {
		return nil
	}
	conn, err := grpc.NewClient("unix://"+l.ContainerdSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pods, err := rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	var errs []string
	for _, p := range pods.Items {
		if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			errs = append(errs, err.Error())
		}
		if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove pods: %s", strings.Join(errs, "; "))
	}
	return nil
}

// importImages loads every image tarball into containerd's k8s.io namespace.
func (l Layout) importImages(ctx context.Context, tars []string) error {
	for _, t := range tars {
		if err := images.Import(ctx, "ctr", l.ContainerdSocket(), t); err != nil {
			return fmt.Errorf("import %s: %w", filepath.Base(t), err)
		}
	}
	return nil
}
