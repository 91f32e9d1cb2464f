package kubeconn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

type logEntry struct {
	message string
	fields  map[string]any
}

// capturedLog records what the logging transport writes.
type capturedLog struct {
	mu      sync.Mutex
	entries []logEntry
}

func (c *capturedLog) log(_ context.Context, message string, fields map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, logEntry{message: message, fields: fields})
}

func (c *capturedLog) all() []logEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logEntry(nil), c.entries...)
}

// lines renders every entry twice, as text and as JSON, the forms a log
// backend may use.
func (c *capturedLog) lines(t *testing.T) []string {
	t.Helper()
	var lines []string
	for _, entry := range c.all() {
		encoded, err := json.Marshal(entry.fields)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %v", entry.message, entry.fields), entry.message+" "+string(encoded))
	}
	return lines
}

func (c *capturedLog) assertNoLeak(t *testing.T, secrets ...string) {
	t.Helper()
	for _, line := range c.lines(t) {
		for _, secret := range secrets {
			if strings.Contains(line, secret) {
				t.Errorf("log line leaks %q:\n%s", secret, line)
			}
		}
	}
}

func (c *capturedLog) find(t *testing.T, message, path string) map[string]any {
	t.Helper()
	for _, entry := range c.all() {
		if entry.message == message && strings.Contains(fmt.Sprint(entry.fields["url"]), path) {
			return entry.fields
		}
	}
	t.Fatalf("no %q entry for %s in %v", message, path, c.all())
	return nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestWrapTransport_redactsSecrets(t *testing.T) {
	t.Parallel()

	const (
		token    = "bearer-token-0123456789"
		s3Secret = "s3-secret-access-key-abcdef"
	)
	credentialsFile := "[default]\naws_secret_access_key=" + s3Secret + "\n"
	secretJSON := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"cloud-credentials","namespace":"velero"},` +
		`"data":{"cloud":"` + b64(credentialsFile) + `"},"type":"Opaque"}`

	var received sync.Map
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "the transport changed the Authorization header", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		received.Store(r.URL.Path, string(body))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/secrets/cloud-credentials"):
			_, _ = io.WriteString(w, secretJSON)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(server.Close)

	logs := &capturedLog{}
	redactor := NewRedactor(token)
	client := &http.Client{Transport: WrapTransport(logs.log, redactor)(http.DefaultTransport)}
	// Registered after the transport was built, as apply-time secrets are.
	redactor.Add(s3Secret)

	do := func(method, path string, body io.Reader) string {
		t.Helper()
		request, err := http.NewRequest(method, server.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		request.Header.Set("Authorization", "Bearer "+token)
		request.Header.Set("Content-Type", "application/json")
		response, err := client.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		defer response.Body.Close()
		got, err := io.ReadAll(response.Body)
		if err != nil {
			t.Fatal(err)
		}
		if response.StatusCode >= 300 {
			t.Fatalf("%s %s: status %d: %s", method, path, response.StatusCode, got)
		}
		return string(got)
	}

	// A Secret in a response.
	got := do(http.MethodGet, "/api/v1/namespaces/velero/secrets/cloud-credentials", nil)
	if got != secretJSON {
		t.Errorf("the caller got a changed response body:\n%s", got)
	}

	// A Secret in a request, sent as a replayable body.
	postedSecret := `{"kind":"Secret","metadata":{"name":"new"},"stringData":{"cloud":"` +
		strings.ReplaceAll(credentialsFile, "\n", `\n`) + `"}}`
	do(http.MethodPost, "/api/v1/namespaces/velero/secrets", strings.NewReader(postedSecret))

	// A registered secret inside a non-Secret object, sent as a one-shot
	// body that the transport must hand on intact.
	configMap := `{"kind":"ConfigMap","metadata":{"name":"notes"},"data":{"note":"the key is ` + s3Secret + `"}}`
	do(http.MethodPost, "/api/v1/namespaces/velero/configmaps", io.MultiReader(strings.NewReader(configMap)))
	if body, _ := received.Load("/api/v1/namespaces/velero/configmaps"); body != configMap {
		t.Errorf("the server got a changed request body:\n%v", body)
	}
	if body, _ := received.Load("/api/v1/namespaces/velero/secrets"); body != postedSecret {
		t.Errorf("the server got a changed request body:\n%v", body)
	}

	logs.assertNoLeak(t, token, s3Secret, b64(s3Secret), b64(credentialsFile), "aws_secret_access_key")

	request := logs.find(t, MessageRequest, "/secrets/cloud-credentials")
	if request["method"] != http.MethodGet {
		t.Errorf("expected method GET, got %v", request["method"])
	}
	headers, _ := request["request_headers"].(map[string]string)
	if headers["Authorization"] != "Bearer ***" {
		t.Errorf("expected a masked Authorization header, got %q", headers["Authorization"])
	}
	response := logs.find(t, MessageResponse, "/secrets/cloud-credentials")
	if response["status_code"] != http.StatusOK {
		t.Errorf("expected status 200, got %v", response["status_code"])
	}
	if _, ok := response["duration_ms"].(int64); !ok {
		t.Errorf("expected duration_ms, got %v", response["duration_ms"])
	}
	if body := fmt.Sprint(response["response_body"]); !strings.Contains(body, `"cloud":"***"`) {
		t.Errorf("expected the Secret data to be masked in the logged body, got %s", body)
	}
	posted := logs.find(t, MessageRequest, "/configmaps")
	if body := fmt.Sprint(posted["request_body"]); !strings.Contains(body, "the key is ***") {
		t.Errorf("expected the registered secret masked and the rest kept, got %s", body)
	}
}

func TestWrapTransport_clientGo(t *testing.T) {
	t.Parallel()

	const (
		token       = "client-go-token-42"
		secretValue = "velero-repo-password-xyz"
	)
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	t.Cleanup(server.Close)

	settings := Settings{
		Host:                 server.URL,
		Token:                token,
		ClusterCACertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})),
	}
	logs := &capturedLog{}
	config, err := RESTConfig(settings, WithWrapTransport(WrapTransport(logs.log, NewRedactor(settings.Secrets()...))))
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}

	created, err := clientset.CoreV1().Secrets("velero").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "repo"},
		Data:       map[string][]byte{"password": []byte(secretValue)},
		StringData: map[string]string{"again": secretValue},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(created.Data["password"]) != secretValue {
		t.Errorf("client-go got a changed body: %q", created.Data["password"])
	}

	logs.assertNoLeak(t, token, secretValue, b64(secretValue))
	request := logs.find(t, MessageRequest, "/api/v1/namespaces/velero/secrets")
	headers, _ := request["request_headers"].(map[string]string)
	if headers["Authorization"] != "Bearer ***" {
		t.Errorf("expected client-go's Authorization header to reach the transport masked, got %q", headers["Authorization"])
	}
	if headers["User-Agent"] != "terraform-provider-styrmin/dev" {
		t.Errorf("unexpected User-Agent %q", headers["User-Agent"])
	}
	if status := logs.find(t, MessageResponse, "/secrets")["status_code"]; status != http.StatusCreated {
		t.Errorf("expected status 201, got %v", status)
	}
}

func TestWrapTransport_streamsAreNotBuffered(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;stream=watch")
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{"kind":"Secret","data":{"k":"`+b64("hidden")+`"}}}`+"\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush the watch event: %v", err)
		}
		<-release // the watch stays open
	}))
	t.Cleanup(server.Close)
	t.Cleanup(func() { close(release) }) // runs before server.Close

	logs := &capturedLog{}
	client := &http.Client{Transport: WrapTransport(logs.log, nil)(http.DefaultTransport)}

	done := make(chan error, 1)
	go func() {
		response, err := client.Get(server.URL + "/api/v1/namespaces/velero/secrets?watch=true")
		if err == nil {
			defer response.Body.Close()
			line := make([]byte, 16)
			_, err = io.ReadFull(response.Body, line)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the transport blocked on a watch stream")
	}

	response := logs.find(t, MessageResponse, "watch=true")
	if response["response_body"] != "(stream, not logged)" {
		t.Errorf("expected the stream body not to be logged, got %v", response["response_body"])
	}
	logs.assertNoLeak(t, b64("hidden"))
}

func TestWrapTransport_largeAndBinaryBodies(t *testing.T) {
	t.Parallel()

	large := bytes.Repeat([]byte("x"), maxCapturedBody+100)
	binary := []byte{0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/large":
			_, _ = w.Write(large)
		case "/binary":
			w.Header().Set("Content-Type", "application/vnd.kubernetes.protobuf")
			_, _ = w.Write(binary)
		case "/api/v1/namespaces/velero/secrets/yaml":
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = io.WriteString(w, "kind: Secret\nstringData:\n  k: hidden-yaml\n")
		}
	}))
	t.Cleanup(server.Close)

	logs := &capturedLog{}
	client := &http.Client{Transport: WrapTransport(logs.log, nil)(http.DefaultTransport)}
	get := func(path string) []byte {
		t.Helper()
		response, err := client.Get(server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer response.Body.Close()
		body, err := io.ReadAll(response.Body)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}

	if got := get("/large"); !bytes.Equal(got, large) {
		t.Errorf("large body changed: %d bytes instead of %d", len(got), len(large))
	}
	if got := get("/binary"); !bytes.Equal(got, binary) {
		t.Errorf("binary body changed: %q", got)
	}
	get("/api/v1/namespaces/velero/secrets/yaml")

	if body := fmt.Sprint(logs.find(t, MessageResponse, "/large")["response_body"]); !strings.HasPrefix(body, "(more than") {
		t.Errorf("expected the large body not to be logged, got %.80s", body)
	}
	if body := fmt.Sprint(logs.find(t, MessageResponse, "/binary")["response_body"]); !strings.Contains(body, "not logged") {
		t.Errorf("expected the binary body not to be logged, got %q", body)
	}
	logs.assertNoLeak(t, "hidden-yaml")
}

func TestWrapTransport_failure(t *testing.T) {
	t.Parallel()

	address := closedLoopbackAddress(t)
	logs := &capturedLog{}
	client := &http.Client{Transport: WrapTransport(logs.log, NewRedactor())(http.DefaultTransport)}

	_, err := client.Get("http://" + address + "/version")
	if err == nil {
		t.Fatal("expected a connection error")
	}
	failure := logs.find(t, MessageFailure, "/version")
	if !strings.Contains(fmt.Sprint(failure["error"]), "refused") {
		t.Errorf("expected the error in the log, got %v", failure["error"])
	}
}

// closedLoopbackAddress returns a loopback address on which nothing listens.
func closedLoopbackAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatal(err)
	}
	return address
}

// Not parallel: it swaps os.Stderr and changes klog's global state.
func TestSilenceKlog(t *testing.T) {
	reader, writer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = writer
	t.Cleanup(func() { os.Stderr = stderr })

	SilenceKlog()
	klog.Error("an error that must not reach stderr")
	klog.InfoS("a structured message", "token", "leak")
	klog.Flush()

	os.Stderr = stderr
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	written, err := io.ReadAll(reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) > 0 {
		t.Errorf("klog still writes to stderr: %q", written)
	}
}
