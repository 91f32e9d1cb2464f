package kubeconn

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/discovery"
)

// fakePluginEnv makes the test binary act as an exec credential plugin.
const fakePluginEnv = "KUBECONN_TEST_ACT_AS_EXEC_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(fakePluginEnv) == "1" {
		os.Exit(runFakeExecPlugin())
	}
	os.Exit(m.Run())
}

// runFakeExecPlugin answers like a credential plugin, with the token from its
// environment, so the test proves that exec.env reaches the plugin.
func runFakeExecPlugin() int {
	if os.Getenv("KUBERNETES_EXEC_INFO") == "" {
		fmt.Fprintln(os.Stderr, "KUBERNETES_EXEC_INFO is not set: not started by client-go")
		return 1
	}
	credential := map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1",
		"kind":       "ExecCredential",
		"status":     map[string]any{"token": os.Getenv("FAKE_PLUGIN_TOKEN")},
	}
	if err := json.NewEncoder(os.Stdout).Encode(credential); err != nil {
		return 1
	}
	return 0
}

func TestRESTConfig_execPluginEndToEnd(t *testing.T) {
	t.Parallel()

	const pluginToken = "token-from-the-exec-plugin"
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+pluginToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"major":"1","minor":"33","gitVersion":"v1.33.0"}`)
	}))
	t.Cleanup(server.Close)

	testBinary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	settings := Settings{
		Host:                 server.URL,
		ClusterCACertificate: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})),
		Exec: &ExecSettings{
			APIVersion: "client.authentication.k8s.io/v1",
			Command:    testBinary,
			Args:       []string{"-test.run=^$"},
			Env:        map[string]string{fakePluginEnv: "1", "FAKE_PLUGIN_TOKEN": pluginToken},
		},
	}

	logs := &capturedLog{}
	config, err := RESTConfig(settings, WithWrapTransport(WrapTransport(logs.log, NewRedactor(settings.Secrets()...))))
	if err != nil {
		t.Fatal(err)
	}
	client, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	version, err := client.ServerVersion()
	if err != nil {
		t.Fatalf("request with the exec plugin's token failed: %s", Classify(err, config.Host))
	}
	if version.GitVersion != "v1.33.0" {
		t.Errorf("unexpected server version %q", version.GitVersion)
	}

	// The plugin's token is unknown to the Redactor; the header mask alone
	// must keep it out of the log.
	logs.assertNoLeak(t, pluginToken)
	headers, _ := logs.find(t, MessageRequest, "/version")["request_headers"].(map[string]string)
	if !strings.HasPrefix(headers["Authorization"], "Bearer ") {
		t.Errorf("expected a masked bearer header, got %q", headers["Authorization"])
	}
}
