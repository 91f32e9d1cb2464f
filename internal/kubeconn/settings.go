// Package kubeconn turns the provider's Kubernetes connection settings into a
// *rest.Config, and provides the pieces needed to talk to the cluster safely:
// log masking for HTTP traffic and friendly classification of connection
// errors.
//
// The settings and their KUBE_* environment variables follow the
// hashicorp/kubernetes provider, so that existing configurations and CI
// environments carry over unchanged. Like that provider, nothing here reads
// ~/.kube/config or KUBECONFIG implicitly.
package kubeconn

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Environment variables read by FromEnv, named as in the hashicorp/kubernetes
// provider.
const (
	EnvConfigPath            = "KUBE_CONFIG_PATH"
	EnvConfigPaths           = "KUBE_CONFIG_PATHS"
	EnvConfigContext         = "KUBE_CTX"
	EnvConfigContextAuthInfo = "KUBE_CTX_AUTH_INFO"
	EnvConfigContextCluster  = "KUBE_CTX_CLUSTER"
	EnvHost                  = "KUBE_HOST"
	EnvUsername              = "KUBE_USER"
	EnvPassword              = "KUBE_PASSWORD"
	EnvToken                 = "KUBE_TOKEN"
	EnvInsecure              = "KUBE_INSECURE"
	EnvTLSServerName         = "KUBE_TLS_SERVER_NAME"
	EnvClientCertificate     = "KUBE_CLIENT_CERT_DATA"
	EnvClientKey             = "KUBE_CLIENT_KEY_DATA"
	EnvClusterCACertificate  = "KUBE_CLUSTER_CA_CERT_DATA"
	EnvProxyURL              = "KUBE_PROXY_URL"
)

// Settings are the Kubernetes connection settings of the provider. The zero
// value means "not set" for every field.
type Settings struct {
	// ConfigPath is a kubeconfig file. Mutually exclusive with ConfigPaths.
	ConfigPath string
	// ConfigPaths are kubeconfig files merged like KUBECONFIG: for each
	// value, the first file that sets it wins.
	ConfigPaths []string

	// ConfigContext selects a context of the kubeconfig instead of its
	// current-context.
	ConfigContext string
	// ConfigContextAuthInfo replaces the user of the selected context.
	ConfigContextAuthInfo string
	// ConfigContextCluster replaces the cluster of the selected context.
	ConfigContextCluster string

	// Host is the API server address. It overrides the kubeconfig's server;
	// without a scheme, https is assumed.
	Host string

	// Username and Password are for HTTP basic authentication.
	Username string
	Password string
	// Token is a bearer token.
	Token string

	// Insecure skips verification of the server certificate. It is a
	// pointer so that an explicit false can override a kubeconfig's true.
	Insecure *bool
	// TLSServerName is the name checked against the server certificate
	// (and sent as SNI) instead of the host name.
	TLSServerName string

	// ClientCertificate and ClientKey are PEM-encoded, for TLS client
	// authentication.
	ClientCertificate string
	ClientKey         string
	// ClusterCACertificate is a PEM-encoded bundle of root certificates for
	// verifying the server.
	ClusterCACertificate string

	// ProxyURL is an http, https or socks5 proxy for all API requests.
	ProxyURL string

	// Exec runs a credential plugin, as the exec section of a kubeconfig
	// user does.
	Exec *ExecSettings
}

// ExecSettings configure a client-go credential plugin.
type ExecSettings struct {
	// APIVersion is the client.authentication.k8s.io version the plugin
	// speaks, e.g. "client.authentication.k8s.io/v1beta1".
	APIVersion string
	Command    string
	Args       []string
	// Env is added to the plugin's environment.
	Env map[string]string
}

// FromEnv returns s with every unset field filled from its KUBE_* environment
// variable. Values set in s always win; an empty variable counts as unset.
//
// config_path and config_paths are treated as one setting: the environment is
// consulted only when neither is set, and KUBE_CONFIG_PATH wins over
// KUBE_CONFIG_PATHS, so a half-configured mix of file and environment never
// happens.
func FromEnv(s Settings) (Settings, error) {
	return fromLookup(s, os.LookupEnv)
}

func fromLookup(s Settings, lookup func(string) (string, bool)) (Settings, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	fill := func(field *string, name string) {
		if *field == "" {
			*field = get(name)
		}
	}

	s = s.clone()

	if s.ConfigPath == "" && len(s.ConfigPaths) == 0 {
		s.ConfigPath = get(EnvConfigPath)
		if s.ConfigPath == "" {
			s.ConfigPaths = splitPathList(get(EnvConfigPaths))
		}
	}
	fill(&s.ConfigContext, EnvConfigContext)
	fill(&s.ConfigContextAuthInfo, EnvConfigContextAuthInfo)
	fill(&s.ConfigContextCluster, EnvConfigContextCluster)
	fill(&s.Host, EnvHost)
	fill(&s.Username, EnvUsername)
	fill(&s.Password, EnvPassword)
	fill(&s.Token, EnvToken)
	fill(&s.TLSServerName, EnvTLSServerName)
	fill(&s.ClientCertificate, EnvClientCertificate)
	fill(&s.ClientKey, EnvClientKey)
	fill(&s.ClusterCACertificate, EnvClusterCACertificate)
	fill(&s.ProxyURL, EnvProxyURL)

	if s.Insecure == nil {
		if v := get(EnvInsecure); v != "" {
			insecure, err := strconv.ParseBool(v)
			if err != nil {
				return s, fmt.Errorf("%s %q is not a boolean: use true or false", EnvInsecure, v)
			}
			s.Insecure = &insecure
		}
	}

	return s, nil
}

// splitPathList splits a KUBECONFIG-style list, dropping empty entries that
// stray separators leave behind.
func splitPathList(list string) []string {
	var paths []string
	for _, p := range filepath.SplitList(list) {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// Secrets returns the values of s that must never appear in logs, for
// registering with a Redactor.
func (s Settings) Secrets() []string {
	var secrets []string
	for _, v := range []string{s.Token, s.Password, s.ClientKey} {
		if v != "" {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// clone copies s deeply enough that callers can modify the result without
// touching the slices and maps of the original.
func (s Settings) clone() Settings {
	s.ConfigPaths = slices.Clone(s.ConfigPaths)
	if s.Insecure != nil {
		insecure := *s.Insecure
		s.Insecure = &insecure
	}
	if s.Exec != nil {
		exec := *s.Exec
		exec.Args = slices.Clone(exec.Args)
		exec.Env = maps.Clone(exec.Env)
		s.Exec = &exec
	}
	return s
}
