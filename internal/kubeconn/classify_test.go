package kubeconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// firstRequest does what the provider does after configuring: one cheap
// request that proves the connection.
func firstRequest(t *testing.T, settings Settings) (host string, err error) {
	t.Helper()
	config, err := RESTConfig(settings, WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	_, err = clientset.CoreV1().Namespaces().Get(context.Background(), "velero", metav1.GetOptions{})
	if err == nil {
		t.Fatal("expected the first request to fail")
	}
	return config.Host, err
}

func statusServer(t *testing.T, code int, reason, message string) *httptest.Server {
	t.Helper()
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
			`"message":%q,"reason":%q,"code":%d}`, message, reason, code)
	}))
	t.Cleanup(server.Close)
	return server
}

func TestClassify_connectionRefused(t *testing.T) {
	t.Parallel()

	address := closedLoopbackAddress(t)
	host, err := firstRequest(t, Settings{Host: "https://" + address, Token: "t", Insecure: boolPointer(true)})

	classified := Classify(err, host)
	expected := "cannot reach the Kubernetes API server at https://" + address + ": connection refused"
	if !strings.HasPrefix(classified.Error(), expected) {
		t.Errorf("expected a message starting with %q, got %q", expected, classified)
	}
	if !strings.HasSuffix(classified.Error(), "check host/config_path and that the cluster is running") {
		t.Errorf("expected a hint, got %q", classified)
	}
	if !errors.Is(classified, syscall.ECONNREFUSED) {
		t.Error("expected the original error to stay reachable through errors.Is")
	}
}

func TestClassify_unauthorized(t *testing.T) {
	t.Parallel()

	server := statusServer(t, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
	host, err := firstRequest(t, Settings{Host: server.URL, Token: "expired", Insecure: boolPointer(true)})

	classified := Classify(err, host)
	expected := "the Kubernetes API server at " + server.URL +
		" rejected the credentials (401 Unauthorized): check token/client_certificate/exec"
	if !strings.HasPrefix(classified.Error(), expected) {
		t.Errorf("expected a message starting with %q, got %q", expected, classified)
	}
}

func TestClassify_forbidden(t *testing.T) {
	t.Parallel()

	const apiMessage = `namespaces "velero" is forbidden: User "bob" cannot get resource "namespaces" in API group "" in the namespace "velero"`
	server := statusServer(t, http.StatusForbidden, "Forbidden", apiMessage)
	host, err := firstRequest(t, Settings{Host: server.URL, Token: "bob", Insecure: boolPointer(true)})

	classified := Classify(err, host).Error()
	for _, part := range []string{"is not allowed to do this", "(403 Forbidden)", apiMessage, "RBAC"} {
		if !strings.Contains(classified, part) {
			t.Errorf("expected %q in %q", part, classified)
		}
	}
}

func TestClassify_unknownCertificateAuthority(t *testing.T) {
	t.Parallel()

	server := statusServer(t, http.StatusOK, "", "")
	// No CA and no insecure: the test server's certificate is unknown.
	host, err := firstRequest(t, Settings{Host: server.URL, Token: "t"})

	classified := Classify(err, host).Error()
	if !strings.HasPrefix(classified, "cannot verify the TLS certificate of the Kubernetes API server at "+server.URL) ||
		!strings.Contains(classified, "check cluster_ca_certificate") {
		t.Errorf("unexpected message %q", classified)
	}
}

func TestClassify_constructedErrors(t *testing.T) {
	t.Parallel()

	const host = "https://kube.example:6443"
	urlError := func(err error) error {
		return &url.Error{Op: "Get", URL: host + "/api/v1/namespaces/velero", Err: err}
	}
	alreadyClassified := Classify(urlError(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), host)
	unrelated := errors.New("something else")

	testCases := map[string]struct {
		err      error
		expected string // prefix; empty means unchanged
	}{
		"host not found": {
			err:      urlError(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "kube.example", Err: "no such host", IsNotFound: true}}),
			expected: `cannot reach the Kubernetes API server at https://kube.example:6443: host name "kube.example" not found`,
		},
		"timeout": {
			err:      urlError(context.DeadlineExceeded),
			expected: "cannot reach the Kubernetes API server at https://kube.example:6443: timed out",
		},
		"network unreachable": {
			err:      urlError(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ENETUNREACH}),
			expected: "cannot reach the Kubernetes API server at https://kube.example:6443: ",
		},
		"exec plugin": {
			err:      urlError(errors.New("getting credentials: exec: executable aws not found")),
			expected: "the exec credential plugin failed for the Kubernetes API server at https://kube.example:6443",
		},
		"cancelled": {
			err: urlError(context.Canceled),
		},
		"unrelated": {
			err: unrelated,
		},
		"already classified": {
			err: alreadyClassified,
		},
	}

	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			got := Classify(testCase.err, host)
			if testCase.expected == "" {
				if got != testCase.err {
					t.Errorf("expected the error unchanged, got %q", got)
				}
				return
			}
			if !strings.HasPrefix(got.Error(), testCase.expected) {
				t.Errorf("expected a message starting with %q, got %q", testCase.expected, got)
			}
			if !errors.Is(got, testCase.err) {
				t.Error("expected the original error to stay reachable through errors.Is")
			}
		})
	}

	if Classify(nil, host) != nil {
		t.Error("expected nil for nil")
	}
	if errors.Is(Classify(unrelated, host), io.EOF) {
		t.Error("unexpected match")
	}
}
