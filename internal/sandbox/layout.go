// Package sandbox builds, starts, checks and stops the project's local stack: etcd, a Kubernetes
// control plane, a real kubelet node on containerd, MinIO and Velero, all on loopback or on a
// link-local bridge that the stack creates. It knows nothing of Terraform.
package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
)

// Pinned versions. Changing one changes the build cache key of what depends on it.
const (
	KubernetesVersion = "v1.34.4"
	VeleroVersion     = "v1.18.3"
	VeleroAWSVersion  = "v1.14.3"
	LocalPathVersion  = "v0.0.30"
	TerraformFallback = "v1.8.5"
	// MinTerraform is the oldest terraform on PATH the stack accepts before building its own.
	MinTerraform = "1.8.0"
)

// Network plan. Everything listens on loopback or on the link-local bridge the stack creates, so
// no packet ever needs to leave the machine.
const (
	BridgeName    = "styrmin0"
	BridgeAddress = "169.254.123.1"
	PodSubnet     = "169.254.123.0/24"
	PodRangeStart = "169.254.123.16"
	PodRangeEnd   = "169.254.123.250"
	// ServiceSubnet holds the "kubernetes" service IP that kubelet injects into every pod as
	// KUBERNETES_SERVICE_HOST. Pods are routed to it through the bridge and DNAT'd to the API
	// server; the host has an unreachable route for it, so nothing can dial it off the machine.
	ServiceSubnet    = "169.254.124.0/24"
	KubernetesSvcIP  = "169.254.124.1"
	APIServerPort    = 6443
	MinIOPort        = 9000
	EtcdClientPort   = 22379
	EtcdPeerPort     = 22380
	KubeletPort      = 10250
	KubeletHealthz   = 10248
	ControllerPort   = 10257
	SchedulerPort    = 10259
	VeleroMetrics    = 18085
	VeleroProfiler   = 16060
	NodeName         = "localhost" // resolves to 127.0.0.1, where the kubelet listens
	VeleroNamespace  = "velero"
	S3Region         = "us-east-1"
	S3Bucket         = "styrmin-sandbox"
	DefaultBSLPrefix = "sandbox-default"
	// IptablesComment tags every rule the stack adds, so teardown and its test can find them.
	IptablesComment = "styrmin-sandbox"
)

// Layout is where one stack keeps its files: Dir (the repository's .sandbox) holds state, logs and
// the env file; CacheDir (outside the repository) holds builds keyed by pinned version.
type Layout struct {
	RepoDir  string
	Dir      string
	CacheDir string
}

// NewLayout resolves the stack's directories for the repository at repoDir.
// STYRMIN_CACHE_DIR overrides the cache location.
func NewLayout(repoDir string) (Layout, error) {
	repo, err := filepath.Abs(repoDir)
	if err != nil {
		return Layout{}, err
	}
	if _, err := os.Stat(filepath.Join(repo, "go.mod")); err != nil {
		return Layout{}, fmt.Errorf("%s is not the repository root (no go.mod): %w", repo, err)
	}
	cache := os.Getenv("STYRMIN_CACHE_DIR")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return Layout{}, fmt.Errorf("no cache directory: set STYRMIN_CACHE_DIR: %w", err)
		}
		cache = filepath.Join(base, "styrmin-sandbox")
	}
	return Layout{RepoDir: repo, Dir: filepath.Join(repo, ".sandbox"), CacheDir: cache}, nil
}

func (l Layout) LogsDir() string  { return filepath.Join(l.Dir, "logs") }
func (l Layout) RunDir() string   { return filepath.Join(l.Dir, "run") }
func (l Layout) StateDir() string { return filepath.Join(l.Dir, "state") }
func (l Layout) PKIDir() string   { return filepath.Join(l.Dir, "pki") }
func (l Layout) BinDir() string   { return filepath.Join(l.Dir, "bin") }
func (l Layout) EnvFile() string  { return filepath.Join(l.Dir, "env") }

// Kubeconfig is the admin kubeconfig every client of the stack uses.
func (l Layout) Kubeconfig() string { return filepath.Join(l.Dir, "kubeconfig") }

// TeardownRecord is written by Down and read by the test that proves nothing was left behind.
func (l Layout) TeardownRecord() string { return filepath.Join(l.Dir, "teardown.json") }

func (l Layout) LogFile(component string) string {
	return filepath.Join(l.LogsDir(), component+".log")
}

func (l Layout) state(parts ...string) string {
	return filepath.Join(append([]string{l.StateDir()}, parts...)...)
}

func (l Layout) ContainerdSocket() string { return filepath.Join(l.RunDir(), "containerd.sock") }
func (l Layout) KubeletRootDir() string   { return l.state("kubelet") }

// ProviderBinDir is where `make build` puts terraform-provider-styrmin; the CLI config's
// dev_overrides point there.
func (l Layout) ProviderBinDir() string { return filepath.Join(l.RepoDir, "bin") }

func (l Layout) ensureDirs() error {
	for _, d := range []string{l.LogsDir(), l.RunDir(), l.StateDir(), l.PKIDir(), l.BinDir(), l.CacheDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return os.Chmod(l.PKIDir(), 0o700)
}
