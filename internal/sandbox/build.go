package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

// recipe builds third-party binaries from a wrapper module under tools/, which pins their versions
// and keeps them out of the provider's go.mod.
type recipe struct {
	Name     string
	Version  string
	Module   string // directory under tools/
	Packages []string
	// Sources are the module's own files the binaries are built from (hashed into the cache key).
	Sources  []string
	Tags     string
	Ldflags  string
	Binaries []string
}

var kubeLdflags = func() string {
	minor := strings.Split(KubernetesVersion, ".")[1]
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X "+pkg+".gitVersion="+KubernetesVersion,
			"-X "+pkg+".gitMajor=1",
			"-X "+pkg+".gitMinor="+minor,
			"-X "+pkg+".gitTreeState=clean",
			"-X "+pkg+".buildDate=2026-01-01T00:00:00Z")
	}
	return strings.Join(flags, " ")
}()

var recipes = []recipe{
	{
		// The tags are Kubernetes' own release build tags.
		Name: "kube", Version: KubernetesVersion, Module: "kube", Tags: "selinux,notest,grpcnotrace", Ldflags: kubeLdflags,
		Packages: []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
			"k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kubectl"},
		Binaries: []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"},
	},
	{
		Name: "velero", Version: VeleroVersion, Module: "velero",
		Ldflags:  "-X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=" + VeleroVersion + " -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean",
		Packages: []string{"github.com/vmware-tanzu/velero/cmd/velero", "github.com/vmware-tanzu/velero/cmd/velero-restore-helper"},
		Binaries: []string{"velero", "velero-restore-helper"},
	},
	{
		Name: "velero-plugin-for-aws", Version: VeleroAWSVersion, Module: "velero-aws",
		Packages: []string{"github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws"},
		Binaries: []string{"velero-plugin-for-aws"},
	},
	{
		Name: "local-path-provisioner", Version: LocalPathVersion, Module: "local-path",
		Ldflags:  "-s -w -X main.VERSION=" + LocalPathVersion,
		Packages: []string{"github.com/rancher/local-path-provisioner"},
		Binaries: []string{"local-path-provisioner"},
	},
	{
		Name: "minio", Module: "minio",
		Packages: []string{"github.com/minio/minio"},
		Binaries: []string{"minio"},
	},
	{
		// The project's own command, built with the MinIO module's admin client: it makes the
		// test environment's key, which may do less than the root key.
		Name: "minio-iam", Module: "minio",
		Packages: []string{"./minio-iam"},
		Sources:  []string{"minio-iam/main.go"},
		Binaries: []string{"minio-iam"},
	},
}

// Binaries are the paths of everything the stack runs that the project builds.
type Binaries map[string]string

func (b Binaries) Path(name string) string {
	if p, ok := b[name]; ok {
		return p
	}
	panic("sandbox: no binary " + name)
}

// buildAll builds (or finds in the cache) every recipe. A recipe's cache key covers its pinned
// version, its wrapper module's go.mod and go.sum, its own Sources, its flags and the Go version, so any change
// rebuilds it and nothing else.
func (l Layout) buildAll(ctx context.Context, log io.Writer) (Binaries, error) {
	return l.buildRecipes(ctx, log, recipes)
}

// buildRecipes builds (or finds in the cache) the given recipes.
func (l Layout) buildRecipes(ctx context.Context, log io.Writer, rs []recipe) (Binaries, error) {
	bins := Binaries{}
	for _, r := range rs {
		dir, err := l.build(ctx, r, log)
		if err != nil {
			return nil, err
		}
		for _, b := range r.Binaries {
			bins[b] = filepath.Join(dir, b)
		}
	}
	return bins, nil
}

func (l Layout) build(ctx context.Context, r recipe, log io.Writer) (string, error) {
	modDir := filepath.Join(l.RepoDir, "tools", r.Module)
	h := sha256.New()
	for _, f := range append([]string{"go.mod", "go.sum"}, r.Sources...) {
		data, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return "", fmt.Errorf("build %s: %w", r.Name, err)
		}
		h.Write(data)
	}
	fmt.Fprintf(h, "%s|%s|%s|%s|%s", r.Version, r.Tags, r.Ldflags, strings.Join(r.Packages, ","), runtime.Version())
	key := hex.EncodeToString(h.Sum(nil))[:12]
	out := filepath.Join(l.CacheDir, "bin", fmt.Sprintf("%s-%s", r.Name, key))
	if complete(out, r.Binaries) {
		return out, nil
	}
	fmt.Fprintf(log, "building %s %s (cached afterwards in %s; takes minutes the first time)\n", r.Name, r.Version, out)
	start := time.Now()
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-o", tmp + "/"}
	if r.Tags != "" {
		args = append(args, "-tags", r.Tags)
	}
	if r.Ldflags != "" {
		args = append(args, "-ldflags", r.Ldflags)
	}
	args = append(args, r.Packages...)
	if err := l.goCommand(ctx, modDir, args...); err != nil {
		return "", fmt.Errorf("build %s: %w (log: %s)", r.Name, err, l.LogFile("build"))
	}
	_ = os.RemoveAll(out)
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "built %s in %s\n", r.Name, time.Since(start).Round(time.Second))
	return out, nil
}

// goCommand runs the go tool with static linking; its output goes to the build log.
func (l Layout) goCommand(ctx context.Context, dir string, args ...string) error {
	logFile, err := os.OpenFile(l.LogFile("build"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "==== %s (in %s): go %s\n", time.Now().Format(time.RFC3339), dir, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, images.GoTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", args[0], err)
	}
	return nil
}

func complete(dir string, binaries []string) bool {
	for _, b := range binaries {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.Size() == 0 {
			return false
		}
	}
	return true
}

// terraformBinary returns a terraform >= MinTerraform: the one on PATH if it is recent enough,
// otherwise one built into the cache from the module proxy (HashiCorp's download servers are not
// reachable from here; v1.8.5 is the newest release that `go install` can build).
func (l Layout) terraformBinary(ctx context.Context, log io.Writer) (string, error) {
	if p, err := exec.LookPath("terraform"); err == nil {
		if v, err := terraformVersion(ctx, p); err == nil && versionAtLeast(v, MinTerraform) {
			return p, nil
		}
	}
	dir := filepath.Join(l.CacheDir, "bin", "terraform-"+TerraformFallback+"-"+runtime.Version())
	bin := filepath.Join(dir, "terraform")
	if complete(dir, []string{"terraform"}) {
		return bin, nil
	}
	fmt.Fprintf(log, "no terraform >= %s on PATH: building terraform %s into %s\n", MinTerraform, TerraformFallback, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, images.GoTool(), "install", "github.com/hashicorp/terraform@"+TerraformFallback)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build terraform %s: %w: %s", TerraformFallback, err, out)
	}
	return bin, nil
}

func terraformVersion(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "version", "-json").Output()
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// versionAtLeast compares dotted numeric versions ("1.11.4" >= "1.8.0"); suffixes are ignored.
func versionAtLeast(have, want string) bool {
	h, w := versionParts(have), versionParts(want)
	for i := range w {
		if h[i] != w[i] {
			return h[i] > w[i]
		}
	}
	return true
}

func versionParts(v string) [3]int {
	var parts [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, s := range strings.SplitN(v, ".", 3) {
		parts[i], _ = strconv.Atoi(s)
	}
	return parts
}
