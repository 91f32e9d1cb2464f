package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox/images"
)

// The test environment of the clone guide, in the stack's one cluster: a second Velero install
// with its own namespace, server, node-agent and key. It reads production's prefix through a
// ReadOnly location that the guide's clone configuration creates. Velero keeps everything of an
// install in its namespace (the node-agent finds its DaemonSet and pods there, the restore helper
// image comes from the namespace's velero Deployment), so two installs share a node without
// seeing each other's objects.
const (
	// TestEnvNamespace is the test environment's Velero namespace.
	TestEnvNamespace = "velero-test"
	// ProductionPrefix is the bucket prefix of the guide's production location, the only one the
	// test environment's key may read.
	ProductionPrefix = "production"
	// TestEnvLocation is the name the guide gives production's location in both environments.
	TestEnvLocation = "production"
)

// TestEnvironment is what a configuration of the test environment needs.
type TestEnvironment struct {
	Namespace string
	// Key reads the bucket's ProductionPrefix and writes only under its restores/, where Velero
	// keeps each restore's log and results.
	Key S3Credentials
}

// TestEnvKeyPolicy is the test environment key's IAM policy: list and read production's prefix,
// write and delete only the restores' logs and results.
func TestEnvKeyPolicy(bucket, prefix string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["s3:GetBucketLocation"],"Resource":["arn:aws:s3:::%[1]s"]},
 {"Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s"],"Condition":{"StringLike":{"s3:prefix":["%[2]s/*"]}}},
 {"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%[1]s/%[2]s/*"]},
 {"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::%[1]s/%[2]s/restores/*"]}
]}`, bucket, prefix)
}

// UpTestEnvironment starts the test environment on the running stack, or finds it running.
func (l Layout) UpTestEnvironment(ctx context.Context, out io.Writer) (TestEnvironment, error) {
	env := TestEnvironment{Namespace: TestEnvNamespace}
	bins, err := l.binaries(ctx, out, "velero-plugin-for-aws", "minio-iam")
	if err != nil {
		return env, err
	}
	if env.Key, err = l.keyFile("velero-test-s3.json", "velerotest"); err != nil {
		return env, err
	}
	if err := l.grantTestEnvKey(ctx, bins, env.Key); err != nil {
		return env, err
	}
	c, err := l.clients()
	if err != nil {
		return env, err
	}
	kubeconfig, err := os.ReadFile(l.Kubeconfig())
	if err != nil {
		return env, err
	}
	install := veleroInstall{Namespace: env.Namespace, Kubeconfig: string(kubeconfig), Credentials: env.Key.AWSIni(),
		Image: images.VeleroImage, HostPods: filepath.Join(l.KubeletRootDir(), "pods"), PluginDir: l.veleroPluginDir(bins),
		ServerArgs: []string{"--namespace=" + env.Namespace, "--kubeconfig=/kube/config", "--plugin-dir=/plugins",
			"--uploader-type=kopia", "--default-backup-storage-location=" + TestEnvLocation,
			fmt.Sprintf("--item-block-worker-count=%d", VeleroParallelism), "--log-level=info"},
		Parallelism: VeleroParallelism,
	}
	if err := c.apply(ctx, install.manifests(), env.Namespace); err != nil {
		return env, fmt.Errorf("test environment: %w", err)
	}
	if err := l.grantProviderIn(ctx, c, env.Namespace); err != nil {
		return env, err
	}
	for _, selector := range []string{"deploy=velero", "name=node-agent"} {
		if err := waitPodRunning(ctx, c, env.Namespace, selector, 3*time.Minute); err != nil {
			return env, fmt.Errorf("test environment: %w", err)
		}
	}
	return env, nil
}

// DownTestEnvironment deletes the test environment's namespace. Its restores go first, while
// its server still runs to remove their finalizers (and their files under restores/).
func (l Layout) DownTestEnvironment(ctx context.Context) error {
	c, err := l.clients()
	if err != nil {
		return err
	}
	restores := c.dyn.Resource(schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "restores"}).Namespace(TestEnvNamespace)
	if err := restores.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the test environment's restores: %w", err)
	}
	gone := func(list func() (int, error)) bool {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
			if n, err := list(); err == nil && n == 0 {
				return true
			}
		}
		return false
	}
	if !gone(func() (int, error) {
		l, err := restores.List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		return len(l.Items), nil
	}) {
		// The server is gone or stuck: nothing else will remove the finalizers.
		list, _ := restores.List(ctx, metav1.ListOptions{})
		for _, r := range list.Items {
			_, _ = restores.Patch(ctx, r.GetName(), "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		}
	}
	zero := int64(0)
	err = c.core.CoreV1().Namespaces().Delete(ctx, TestEnvNamespace, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !gone(func() (int, error) {
		_, err := c.core.CoreV1().Namespaces().Get(ctx, TestEnvNamespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 1, err
	}) {
		return fmt.Errorf("namespace %s still terminating after a minute", TestEnvNamespace)
	}
	return nil
}

// grantTestEnvKey makes the test environment's key a MinIO user with TestEnvKeyPolicy.
func (l Layout) grantTestEnvKey(ctx context.Context, bins Binaries, key S3Credentials) error {
	root, err := l.s3Credentials()
	if err != nil {
		return err
	}
	policy := filepath.Join(l.StateDir(), "velero-test-policy.json")
	if err := os.WriteFile(policy, []byte(TestEnvKeyPolicy(S3Bucket, ProductionPrefix)), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bins.Path("minio-iam"), "-endpoint", strings.TrimPrefix(S3Endpoint(), "http://"), "-user", key.AccessKeyID, "-policy-file", policy)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+root.AccessKeyID, "MINIO_ROOT_PASSWORD="+root.SecretAccessKey, "MINIO_IAM_SECRET="+key.SecretAccessKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the test environment's key: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// grantProviderIn gives the provider's ServiceAccount, in namespace, the namespaced rules
// ProviderRBACFile gives it in Velero's: the test environment's provider is bound as a user's is.
func (l Layout) grantProviderIn(ctx context.Context, c *clients, namespace string) error {
	manifests, err := os.ReadFile(filepath.Join(l.RepoDir, ProviderRBACFile))
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", ProviderRBACFile, err)
		}
		if kind := obj.GetKind(); kind != "Role" && kind != "RoleBinding" {
			continue
		}
		obj.SetNamespace(namespace)
		if err := c.applyOne(ctx, &obj, namespace); err != nil {
			return fmt.Errorf("%s in %s: %w", ProviderRBACFile, namespace, err)
		}
	}
}

// binaries finds (or builds) the named recipes' binaries.
func (l Layout) binaries(ctx context.Context, out io.Writer, names ...string) (Binaries, error) {
	var named []recipe
	for _, r := range recipes {
		if slices.Contains(names, r.Name) {
			named = append(named, r)
		}
	}
	return l.buildRecipes(ctx, out, named)
}
