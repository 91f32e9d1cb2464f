// Package sandboxtest gives tests a handle on the running local stack: Kubernetes and Velero
// clients, the object store, exec into pods and throwaway namespaces. A test that needs the stack
// skips without TF_ACC and fails (never skips) with it when the stack is not up.
package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubeconn"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// Stack is the running local stack as the environment of `. .sandbox/env` describes it.
type Stack struct {
	Config          *rest.Config
	Kube            kubernetes.Interface
	Dynamic         dynamic.Interface
	Velero          *velero.Client
	S3              *s3.Client
	Bucket          string
	VeleroNamespace string
}

// Connect returns the stack or an error that says how to start it.
func Connect() (*Stack, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if os.Getenv("SANDBOX_DIR") == "" || kubeconfig == "" {
		return nil, fmt.Errorf("these tests need the local stack: run `make test`, or `make sandbox-up` then `. .sandbox/env`")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kube.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("the local stack is not answering (%v): run `make sandbox-status`", err)
	}
	if _, err := os.Stat(ProviderKubeconfig()); ProviderKubeconfig() == "" || err != nil {
		return nil, fmt.Errorf("no kubeconfig for the provider's ServiceAccount (SANDBOX_PROVIDER_KUBECONFIG=%q): "+
			"the stack predates it, restart it with `make sandbox-down sandbox-up`", ProviderKubeconfig())
	}
	ns := os.Getenv("SANDBOX_VELERO_NAMESPACE")
	if _, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		return nil, fmt.Errorf("velero namespace %q: %w", ns, err)
	}
	creds := sandbox.S3Credentials{AccessKeyID: os.Getenv("SANDBOX_S3_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY")}
	return &Stack{
		Config: cfg, Kube: kube, Dynamic: dyn,
		Velero:          velero.NewClient(dyn, ns),
		S3:              sandbox.S3Client(creds),
		Bucket:          os.Getenv("SANDBOX_S3_BUCKET"),
		VeleroNamespace: ns,
	}, nil
}

// ProviderKubeconfig is the kubeconfig the provider under test uses: a ServiceAccount bound to
// exactly the rules of the RBAC guide (sandbox.ProviderRBACFile), never the stack's admin.
func ProviderKubeconfig() string { return os.Getenv("SANDBOX_PROVIDER_KUBECONFIG") }

// Require returns the running stack. Without TF_ACC it skips t (acctest.Gate); with it, a stack
// that does not answer fails t.
func Require(t testing.TB) *Stack {
	t.Helper()
	acctest.Gate(t)
	s, err := Connect()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Namespace creates a namespace named prefix-<random> and deletes it when the test ends.
func (s *Stack) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	created, err := s.Kube.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { s.DeleteNamespace(created.Name) })
	return created.Name
}

// DeleteNamespace removes a namespace (and so its pods) without waiting.
func (s *Stack) DeleteNamespace(name string) {
	zero := int64(0)
	_ = s.Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
}

// Apply server-side-applies manifests into namespace.
func (s *Stack) Apply(ctx context.Context, manifests []byte, namespace string) error {
	return sandbox.Apply(ctx, s.Config, manifests, namespace)
}

// WaitPodRunning waits until the pods matching selector in namespace are all Running and Ready and
// returns them; the error describes what the pods are waiting for.
func (s *Stack) WaitPodRunning(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	var last string
	for {
		pods, err := s.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil && len(pods.Items) > 0 {
			ready := true
			var states []string
			for _, p := range pods.Items {
				if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(&p) {
					ready = false
				}
				states = append(states, sandbox.DescribePod(&p))
			}
			if ready {
				return pods.Items, nil
			}
			last = strings.Join(states, " | ")
		} else if err != nil {
			last = err.Error()
		} else {
			last = "no pod matches " + selector
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pods %s/%s not running: %s", namespace, selector, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Exec runs command in a pod's container through the API server and returns stdout; a non-zero
// exit is an error that carries stderr.
func (s *Stack) Exec(ctx context.Context, namespace, pod, container string, command ...string) (string, error) {
	return kubeconn.PodExec{Config: s.Config, Kube: s.Kube}.Exec(ctx, namespace, pod, container, command...)
}

// Objects lists the bucket's objects under prefix: each key with its ETag.
func (s *Stack) Objects(ctx context.Context, prefix string) (map[string]string, error) {
	objects := map[string]string{}
	pages := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			objects[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return objects, nil
}

// RemovePrefix deletes every object of the bucket under prefix.
func (s *Stack) RemovePrefix(ctx context.Context, prefix string) error {
	objects, err := s.Objects(ctx, prefix)
	if err != nil {
		return err
	}
	for key := range objects {
		if _, err := s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}); err != nil {
			return err
		}
	}
	return nil
}

// IsNotFound reports a Kubernetes NotFound error.
func IsNotFound(err error) bool { return apierrors.IsNotFound(err) }

// RepoFile reads a file of the repository (the stack's .sandbox lives at its root).
func RepoFile(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join(filepath.Dir(os.Getenv("SANDBOX_DIR")), path))
}

// TestEnvironment starts the clone guide's test environment (sandbox.UpTestEnvironment) and
// deletes it when the test ends.
func (s *Stack) TestEnvironment(t testing.TB) sandbox.TestEnvironment {
	t.Helper()
	layout, err := sandbox.NewLayout(filepath.Dir(os.Getenv("SANDBOX_DIR")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := layout.DownTestEnvironment(ctx); err != nil {
			t.Errorf("test environment: %v", err)
		}
	})
	env, err := layout.UpTestEnvironment(ctx, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// DeploySampleApp applies every manifest of examples/sample-app into namespace.
func (s *Stack) DeploySampleApp(ctx context.Context, namespace string) error {
	dir := filepath.Join(filepath.Dir(os.Getenv("SANDBOX_DIR")), "examples", "sample-app", "manifests")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no sample app manifests in %s: %v", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := s.Apply(ctx, data, namespace); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
	}
	return nil
}
