package kubeconn

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func boolPointer(b bool) *bool { return &b }

func TestFromEnv_precedence(t *testing.T) {
	t.Parallel()

	allEnv := map[string]string{
		EnvConfigPath:            "/env/config",
		EnvConfigContext:         "env-ctx",
		EnvConfigContextAuthInfo: "env-user",
		EnvConfigContextCluster:  "env-cluster",
		EnvHost:                  "https://env.example:6443",
		EnvUsername:              "env-username",
		EnvPassword:              "env-password",
		EnvToken:                 "env-token",
		EnvInsecure:              "true",
		EnvTLSServerName:         "env.server.name",
		EnvClientCertificate:     "env-cert",
		EnvClientKey:             "env-key",
		EnvClusterCACertificate:  "env-ca",
		EnvProxyURL:              "http://env-proxy:3128",
	}
	pathList := strings.Join([]string{"/a", "", "/b"}, string(os.PathListSeparator))

	testCases := map[string]struct {
		settings Settings
		env      map[string]string
		expected Settings
		err      string
	}{
		"nothing set": {},
		"all from env": {
			env: allEnv,
			expected: Settings{
				ConfigPath:            "/env/config",
				ConfigContext:         "env-ctx",
				ConfigContextAuthInfo: "env-user",
				ConfigContextCluster:  "env-cluster",
				Host:                  "https://env.example:6443",
				Username:              "env-username",
				Password:              "env-password",
				Token:                 "env-token",
				Insecure:              boolPointer(true),
				TLSServerName:         "env.server.name",
				ClientCertificate:     "env-cert",
				ClientKey:             "env-key",
				ClusterCACertificate:  "env-ca",
				ProxyURL:              "http://env-proxy:3128",
			},
		},
		"explicit settings win": {
			settings: Settings{
				ConfigPath:            "/explicit/config",
				ConfigContext:         "ctx",
				ConfigContextAuthInfo: "user",
				ConfigContextCluster:  "cluster",
				Host:                  "https://explicit.example",
				Username:              "username",
				Password:              "password",
				Token:                 "token",
				Insecure:              boolPointer(false),
				TLSServerName:         "server.name",
				ClientCertificate:     "cert",
				ClientKey:             "key",
				ClusterCACertificate:  "ca",
				ProxyURL:              "http://proxy:3128",
			},
			env: allEnv,
			expected: Settings{
				ConfigPath:            "/explicit/config",
				ConfigContext:         "ctx",
				ConfigContextAuthInfo: "user",
				ConfigContextCluster:  "cluster",
				Host:                  "https://explicit.example",
				Username:              "username",
				Password:              "password",
				Token:                 "token",
				Insecure:              boolPointer(false),
				TLSServerName:         "server.name",
				ClientCertificate:     "cert",
				ClientKey:             "key",
				ClusterCACertificate:  "ca",
				ProxyURL:              "http://proxy:3128",
			},
		},
		"config paths split on the path list separator": {
			env:      map[string]string{EnvConfigPaths: pathList},
			expected: Settings{ConfigPaths: []string{"/a", "/b"}},
		},
		"KUBE_CONFIG_PATH wins over KUBE_CONFIG_PATHS": {
			env:      map[string]string{EnvConfigPath: "/one", EnvConfigPaths: pathList},
			expected: Settings{ConfigPath: "/one"},
		},
		"explicit config_paths keeps KUBE_CONFIG_PATH out": {
			settings: Settings{ConfigPaths: []string{"/explicit"}},
			env:      map[string]string{EnvConfigPath: "/env"},
			expected: Settings{ConfigPaths: []string{"/explicit"}},
		},
		"explicit config_path keeps KUBE_CONFIG_PATHS out": {
			settings: Settings{ConfigPath: "/explicit"},
			env:      map[string]string{EnvConfigPaths: pathList},
			expected: Settings{ConfigPath: "/explicit"},
		},
		"empty variables count as unset": {
			env:      map[string]string{EnvHost: "", EnvInsecure: ""},
			expected: Settings{},
		},
		"KUBE_INSECURE false": {
			env:      map[string]string{EnvInsecure: "0"},
			expected: Settings{Insecure: boolPointer(false)},
		},
		"KUBE_INSECURE not a boolean": {
			env: map[string]string{EnvInsecure: "maybe"},
			err: `KUBE_INSECURE "maybe" is not a boolean`,
		},
		"exec is kept": {
			settings: Settings{Exec: &ExecSettings{Command: "aws", Args: []string{"eks"}}},
			env:      map[string]string{EnvHost: "https://h"},
			expected: Settings{Host: "https://h", Exec: &ExecSettings{Command: "aws", Args: []string{"eks"}}},
		},
	}

	for name, testCase := range testCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			lookup := func(key string) (string, bool) {
				v, ok := testCase.env[key]
				return v, ok
			}
			got, err := fromLookup(testCase.settings, lookup)
			if testCase.err != "" {
				if err == nil || !strings.Contains(err.Error(), testCase.err) {
					t.Fatalf("expected error containing %q, got %v", testCase.err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %s", err)
			}
			if diff := cmp.Diff(testCase.expected, got); diff != "" {
				t.Errorf("unexpected settings (-expected +got):\n%s", diff)
			}
		})
	}
}

func TestFromEnv_doesNotShareInput(t *testing.T) {
	t.Parallel()

	input := Settings{
		ConfigPaths: []string{"/a"},
		Insecure:    boolPointer(true),
		Exec:        &ExecSettings{Args: []string{"x"}, Env: map[string]string{"K": "V"}},
	}
	got, err := fromLookup(input, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	got.ConfigPaths[0] = "/changed"
	*got.Insecure = false
	got.Exec.Args[0] = "changed"
	got.Exec.Env["K"] = "changed"

	if input.ConfigPaths[0] != "/a" || !*input.Insecure || input.Exec.Args[0] != "x" || input.Exec.Env["K"] != "V" {
		t.Errorf("FromEnv result shares memory with its input: %+v %+v", input, *input.Exec)
	}
}

// Not parallel: it sets process environment variables.
func TestFromEnv_readsProcessEnvironment(t *testing.T) {
	// The stack's environment (KUBE_CONFIG_PATH, ...) must not leak into the expectation.
	for _, name := range []string{EnvConfigPath, EnvConfigPaths, EnvConfigContext, EnvConfigContextAuthInfo,
		EnvConfigContextCluster, EnvUsername, EnvPassword, EnvTLSServerName, EnvClientCertificate, EnvClientKey,
		EnvClusterCACertificate, EnvProxyURL} {
		t.Setenv(name, "")
	}
	t.Setenv(EnvHost, "https://from-env.example")
	t.Setenv(EnvToken, "from-env-token")
	t.Setenv(EnvInsecure, "true")

	got, err := FromEnv(Settings{Token: "explicit-token"})
	if err != nil {
		t.Fatal(err)
	}
	expected := Settings{Host: "https://from-env.example", Token: "explicit-token", Insecure: boolPointer(true)}
	if diff := cmp.Diff(expected, got); diff != "" {
		t.Errorf("unexpected settings (-expected +got):\n%s", diff)
	}
}

func TestSettings_Secrets(t *testing.T) {
	t.Parallel()

	s := Settings{Token: "t", Password: "p", ClientKey: "k", Username: "not-secret"}
	if diff := cmp.Diff([]string{"t", "p", "k"}, s.Secrets()); diff != "" {
		t.Errorf("unexpected secrets (-expected +got):\n%s", diff)
	}
	if got := (Settings{}).Secrets(); len(got) != 0 {
		t.Errorf("expected no secrets, got %q", got)
	}
}
