package kubeconn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// testKeyPair returns a self-signed PEM certificate and its key.
func testKeyPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kubeconn-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return certPEM, keyPEM
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// twoContextKubeconfig writes a kubeconfig with contexts alpha (current,
// token, insecure) and beta (basic auth, CA data).
func twoContextKubeconfig(t *testing.T, caPEM string) string {
	t.Helper()
	return writeFile(t, "config", fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: alpha-cluster
  cluster:
    server: https://alpha.example:6443
    insecure-skip-tls-verify: true
- name: beta-cluster
  cluster:
    server: https://beta.example:6443
    certificate-authority-data: %s
contexts:
- name: alpha
  context:
    cluster: alpha-cluster
    user: alpha-user
- name: beta
  context:
    cluster: beta-cluster
    user: beta-user
    namespace: apps
users:
- name: alpha-user
  user:
    token: alpha-token
- name: beta-user
  user:
    username: beta
    password: beta-password
`, base64.StdEncoding.EncodeToString([]byte(caPEM))))
}

func TestRESTConfig_kubeconfig(t *testing.T) {
	t.Parallel()

	caPEM, _ := testKeyPair(t)
	path := twoContextKubeconfig(t, caPEM)

	type expectation struct {
		Host, BearerToken, Username, Password string
		Insecure                              bool
		CAData                                string
	}
	alpha := expectation{Host: "https://alpha.example:6443", BearerToken: "alpha-token", Insecure: true}
	beta := expectation{Host: "https://beta.example:6443", Username: "beta", Password: "beta-password", CAData: caPEM}

	testCases := map[string]struct {
		settings Settings
		expected expectation
	}{
		"current context": {
			settings: Settings{ConfigPath: path},
			expected: alpha,
		},
		"config_context selects another context": {
			settings: Settings{ConfigPath: path, ConfigContext: "beta"},
			expected: beta,
		},
		"config_context_auth_info replaces the user": {
			settings: Settings{ConfigPath: path, ConfigContextAuthInfo: "beta-user"},
			expected: expectation{Host: alpha.Host, Insecure: true, Username: "beta", Password: "beta-password"},
		},
		"config_context_cluster replaces the cluster": {
			settings: Settings{ConfigPath: path, ConfigContextCluster: "beta-cluster"},
			expected: expectation{Host: beta.Host, CAData: caPEM, BearerToken: "alpha-token"},
		},
		"explicit host and token override the file": {
			settings: Settings{ConfigPath: path, Host: "https://override.example:443", Token: "explicit-token"},
			expected: expectation{Host: "https://override.example:443", BearerToken: "explicit-token", Insecure: true},
		},
		"explicit token replaces the file's basic auth": {
			settings: Settings{ConfigPath: path, ConfigContext: "beta", Token: "explicit-token"},
			expected: expectation{Host: beta.Host, CAData: caPEM, BearerToken: "explicit-token"},
		},
		"explicit insecure false overrides the file's true": {
			settings: Settings{ConfigPath: path, Insecure: boolPointer(false)},
			expected: expectation{Host: alpha.Host, BearerToken: "alpha-token"},
		},
		"explicit insecure true drops the file's CA": {
			settings: Settings{ConfigPath: path, ConfigContext: "beta", Insecure: boolPointer(true)},
			expected: expectation{Host: beta.Host, Username: "beta", Password: "beta-password", Insecure: true},
		},
		"explicit CA turns verification back on": {
			settings: Settings{ConfigPath: path, ClusterCACertificate: caPEM},
			expected: expectation{Host: alpha.Host, BearerToken: "alpha-token", CAData: caPEM},
		},
		"config_paths with one file": {
			settings: Settings{ConfigPaths: []string{path}, ConfigContext: "beta"},
			expected: beta,
		},
	}

	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			config, err := RESTConfig(testCase.settings)
			if err != nil {
				t.Fatalf("unexpected error: %s", err)
			}
			got := expectation{
				Host:        config.Host,
				BearerToken: config.BearerToken,
				Username:    config.Username,
				Password:    config.Password,
				Insecure:    config.Insecure,
				CAData:      string(config.CAData),
			}
			if diff := cmp.Diff(testCase.expected, got); diff != "" {
				t.Errorf("unexpected config (-expected +got):\n%s", diff)
			}
		})
	}
}

func TestRESTConfig_mergesConfigPaths(t *testing.T) {
	t.Parallel()

	caPEM, _ := testKeyPair(t)
	first := twoContextKubeconfig(t, caPEM)
	second := writeFile(t, "second", `apiVersion: v1
kind: Config
current-context: gamma
clusters:
- name: gamma-cluster
  cluster:
    server: https://gamma.example
contexts:
- name: gamma
  context:
    cluster: gamma-cluster
    user: gamma-user
users:
- name: gamma-user
  user:
    token: gamma-token
`)

	// The first file's current-context wins, the second adds its contexts.
	config, err := RESTConfig(Settings{ConfigPaths: []string{first, second}})
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != "https://alpha.example:6443" {
		t.Errorf("expected the first file's current context, got host %q", config.Host)
	}
	config, err = RESTConfig(Settings{ConfigPaths: []string{first, second}, ConfigContext: "gamma"})
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != "https://gamma.example" || config.BearerToken != "gamma-token" {
		t.Errorf("expected context gamma of the second file, got host %q token %q", config.Host, config.BearerToken)
	}
}

func TestRESTConfig_errors(t *testing.T) {
	t.Parallel()

	certPEM, keyPEM := testKeyPair(t)
	path := twoContextKubeconfig(t, certPEM)
	missing := filepath.Join(t.TempDir(), "missing")
	noCurrentContext := writeFile(t, "no-current", `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://c.example
contexts:
- name: one
  context:
    cluster: c
- name: two
  context:
    cluster: c
`)
	notYAML := writeFile(t, "broken", "{{{ not a kubeconfig")

	testCases := map[string]struct {
		settings Settings
		err      string
	}{
		"missing context": {
			settings: Settings{ConfigPath: path, ConfigContext: "gamma"},
			err:      fmt.Sprintf(`config_context "gamma" not found in %s; contexts: alpha, beta`, path),
		},
		"missing auth info": {
			settings: Settings{ConfigPath: path, ConfigContextAuthInfo: "nobody"},
			err:      fmt.Sprintf(`config_context_auth_info "nobody" not found in %s; users: alpha-user, beta-user`, path),
		},
		"missing cluster": {
			settings: Settings{ConfigPath: path, ConfigContextCluster: "nowhere"},
			err:      fmt.Sprintf(`config_context_cluster "nowhere" not found in %s; clusters: alpha-cluster, beta-cluster`, path),
		},
		"missing file": {
			settings: Settings{ConfigPath: missing},
			err:      fmt.Sprintf(`config_path %q: no such file`, missing),
		},
		"missing file in config_paths": {
			settings: Settings{ConfigPaths: []string{path, missing}},
			err:      fmt.Sprintf(`config_paths[1] %q: no such file`, missing),
		},
		"directory": {
			settings: Settings{ConfigPath: filepath.Dir(path)},
			err:      "is a directory, not a kubeconfig file",
		},
		"not a kubeconfig": {
			settings: Settings{ConfigPath: notYAML},
			err:      "config_path: ",
		},
		"no current context": {
			settings: Settings{ConfigPath: noCurrentContext},
			err:      "has no current-context: set config_context to one of: one, two",
		},
		"config_path and config_paths": {
			settings: Settings{ConfigPath: path, ConfigPaths: []string{path}},
			err:      "config_path and config_paths are mutually exclusive",
		},
		"context without kubeconfig": {
			settings: Settings{Host: "https://h.example", ConfigContext: "alpha"},
			err:      `config_context "alpha" is set, but there is no kubeconfig to select it from: set config_path`,
		},
		"http host with credentials": {
			settings: Settings{Host: "http://h.example", Token: "t"},
			err:      "uses http, over which no credentials are sent",
		},
		"host with another scheme": {
			settings: Settings{Host: "ftp://h.example"},
			err:      `host "ftp://h.example" must use https`,
		},
		"insecure with CA": {
			settings: Settings{Host: "h.example", Insecure: boolPointer(true), ClusterCACertificate: certPEM},
			err:      "insecure = true and cluster_ca_certificate are mutually exclusive",
		},
		"CA not PEM": {
			settings: Settings{Host: "h.example", ClusterCACertificate: "not pem"},
			err:      "cluster_ca_certificate holds no PEM-encoded certificate",
		},
		"certificate without key": {
			settings: Settings{Host: "h.example", ClientCertificate: certPEM},
			err:      "client_certificate is set but client_key is not",
		},
		"key without certificate": {
			settings: Settings{Host: "h.example", ClientKey: keyPEM},
			err:      "client_key is set but client_certificate is not",
		},
		"key does not match": {
			settings: Settings{Host: "h.example", ClientCertificate: certPEM, ClientKey: "junk"},
			err:      "client_certificate and client_key do not form a valid PEM key pair",
		},
		"token and basic auth": {
			settings: Settings{Host: "h.example", Token: "t", Username: "u", Password: "p"},
			err:      "token and username/password are mutually exclusive",
		},
		"bad proxy": {
			settings: Settings{Host: "h.example", ProxyURL: "proxy.example:3128"},
			err:      `proxy_url "proxy.example:3128" must look like http://host:port`,
		},
		"exec without command": {
			settings: Settings{Host: "h.example", Exec: &ExecSettings{APIVersion: "client.authentication.k8s.io/v1"}},
			err:      "exec.command must be set",
		},
		"exec with removed api version": {
			settings: Settings{Host: "h.example", Exec: &ExecSettings{APIVersion: "client.authentication.k8s.io/v1alpha1", Command: "x"}},
			err:      `exec.api_version "client.authentication.k8s.io/v1alpha1" is not supported`,
		},
	}

	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			_, err := RESTConfig(testCase.settings)
			if err == nil || !strings.Contains(err.Error(), testCase.err) {
				t.Fatalf("expected error containing %q, got %v", testCase.err, err)
			}
		})
	}
}

// Not parallel: it points HOME and KUBECONFIG at a temporary kubeconfig.
func TestRESTConfig_neverReadsDefaultKubeconfig(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	defaultPath := filepath.Join(home, ".kube", "config")
	caPEM, _ := testKeyPair(t)
	content, err := os.ReadFile(twoContextKubeconfig(t, caPEM))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(defaultPath, content, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", defaultPath)

	_, err = RESTConfig(Settings{})
	if !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("expected ErrNotConfigured, got %v", err)
	}
	for _, hint := range []string{"config_path", EnvConfigPath, "host", EnvHost} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}

	// A leading ~ in config_path is expanded, though.
	config, err := RESTConfig(Settings{ConfigPath: "~/.kube/config", ConfigContext: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	if config.Host != "https://beta.example:6443" {
		t.Errorf("expected host of context beta, got %q", config.Host)
	}
}

func TestRESTConfig_hostOnly(t *testing.T) {
	t.Parallel()

	certPEM, keyPEM := testKeyPair(t)
	config, err := RESTConfig(Settings{
		Host:                 "kube.example:6443",
		Token:                "host-token",
		TLSServerName:        "kubernetes.default",
		ClusterCACertificate: certPEM,
		ClientCertificate:    certPEM,
		ClientKey:            keyPEM,
		ProxyURL:             "http://127.0.0.1:3128",
	})
	if err != nil {
		t.Fatal(err)
	}

	// A bare host gets https; with http client-go would drop the token.
	if config.Host != "https://kube.example:6443" {
		t.Errorf("expected https host, got %q", config.Host)
	}
	if config.BearerToken != "host-token" {
		t.Errorf("expected the token to be kept, got %q", config.BearerToken)
	}
	if config.ServerName != "kubernetes.default" {
		t.Errorf("expected TLS server name, got %q", config.ServerName)
	}
	if string(config.CAData) != certPEM || string(config.CertData) != certPEM || string(config.KeyData) != keyPEM {
		t.Errorf("expected CA, certificate and key data to be wired")
	}
	if config.Proxy == nil {
		t.Fatal("expected a proxy function")
	}
	request, _ := http.NewRequest(http.MethodGet, config.Host, nil)
	proxy, err := config.Proxy(request)
	if err != nil || proxy == nil || proxy.String() != "http://127.0.0.1:3128" {
		t.Errorf("expected proxy http://127.0.0.1:3128, got %v (%v)", proxy, err)
	}
}

func TestRESTConfig_defaultsAndOptions(t *testing.T) {
	t.Parallel()

	config, err := RESTConfig(Settings{Host: "https://kube.example"})
	if err != nil {
		t.Fatal(err)
	}
	if config.QPS != DefaultQPS || config.Burst != DefaultBurst {
		t.Errorf("expected QPS %d burst %d, got %v %d", DefaultQPS, DefaultBurst, config.QPS, config.Burst)
	}
	if config.Timeout != DefaultTimeout {
		t.Errorf("expected timeout %s, got %s", DefaultTimeout, config.Timeout)
	}
	if config.UserAgent != "terraform-provider-styrmin/dev" {
		t.Errorf("unexpected user agent %q", config.UserAgent)
	}
	if config.WrapTransport != nil {
		t.Error("expected no transport wrapper by default")
	}
	if config.ContentType != "application/json" || config.AcceptContentTypes != "application/json" {
		t.Errorf("expected JSON, which the logging transport can mask, got %q / %q",
			config.ContentType, config.AcceptContentTypes)
	}

	wrapped := false
	config, err = RESTConfig(Settings{Host: "https://kube.example"},
		WithVersion("1.2.3"),
		WithRateLimit(200, 400),
		WithTimeout(0),
		WithWrapTransport(func(rt http.RoundTripper) http.RoundTripper {
			wrapped = true
			return rt
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if config.UserAgent != "terraform-provider-styrmin/1.2.3" || config.QPS != 200 || config.Burst != 400 || config.Timeout != 0 {
		t.Errorf("options not applied: user agent %q, QPS %v, burst %d, timeout %s",
			config.UserAgent, config.QPS, config.Burst, config.Timeout)
	}
	if config.WrapTransport == nil {
		t.Fatal("expected the transport wrapper to be set")
	}
	config.WrapTransport(http.DefaultTransport)
	if !wrapped {
		t.Error("expected the configured wrapper")
	}
}

func TestRESTConfig_exec(t *testing.T) {
	t.Parallel()

	caPEM, _ := testKeyPair(t)
	path := twoContextKubeconfig(t, caPEM)
	exec := &ExecSettings{
		APIVersion: "client.authentication.k8s.io/v1beta1",
		Command:    "aws",
		Args:       []string{"eks", "get-token", "--cluster-name", "prod"},
		Env:        map[string]string{"AWS_PROFILE": "prod", "AWS_REGION": "eu-north-1"},
	}

	config, err := RESTConfig(Settings{ConfigPath: path, ConfigContext: "beta", Exec: exec})
	if err != nil {
		t.Fatal(err)
	}
	if config.ExecProvider == nil {
		t.Fatal("expected an exec provider")
	}
	got := *config.ExecProvider
	got.InstallHint = ""
	expected := clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1beta1",
		Command:    "aws",
		Args:       []string{"eks", "get-token", "--cluster-name", "prod"},
		Env: []clientcmdapi.ExecEnvVar{
			{Name: "AWS_PROFILE", Value: "prod"},
			{Name: "AWS_REGION", Value: "eu-north-1"},
		},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
	if diff := cmp.Diff(expected, got); diff != "" {
		t.Errorf("unexpected exec config (-expected +got):\n%s", diff)
	}
	if !strings.Contains(config.ExecProvider.InstallHint, `"aws"`) {
		t.Errorf("expected an install hint naming the command, got %q", config.ExecProvider.InstallHint)
	}
	// Exec replaces the file's credentials instead of mixing with them.
	if config.Username != "" || config.Password != "" {
		t.Errorf("expected the file's basic auth to be dropped, got %q/%q", config.Username, config.Password)
	}
	if config.Host != "https://beta.example:6443" || string(config.CAData) != caPEM {
		t.Errorf("expected the cluster of context beta, got host %q", config.Host)
	}
}

func TestRESTConfig_clientGoValidationNamesFileEntries(t *testing.T) {
	t.Parallel()

	path := writeFile(t, "no-server", `apiVersion: v1
kind: Config
current-context: only
clusters:
- name: serverless
  cluster:
    insecure-skip-tls-verify: true
contexts:
- name: only
  context:
    cluster: serverless
users: []
`)
	_, err := RESTConfig(Settings{ConfigPath: path})
	if err == nil || !strings.Contains(err.Error(), "kubeconfig "+path) || !strings.Contains(err.Error(), `"serverless"`) {
		t.Fatalf("expected an error naming the file and cluster \"serverless\", got %v", err)
	}
}
