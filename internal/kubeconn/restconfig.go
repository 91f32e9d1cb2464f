package kubeconn

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// DefaultQPS and DefaultBurst replace client-go's 5 QPS / 10 burst, which
	// would stretch a refresh of a few hundred objects into minutes.
	DefaultQPS   = 50
	DefaultBurst = 100

	// DefaultTimeout bounds each API request, so that an unresponsive server
	// fails a request instead of hanging it until Terraform's own timeout.
	// Watches need a copy of the config with Timeout 0.
	DefaultTimeout = 60 * time.Second

	userAgentProduct = "terraform-provider-styrmin"

	// assembledName names the single context that RESTConfig hands to
	// clientcmd after applying the settings, and its cluster and user when
	// no kubeconfig named them.
	assembledName = "terraform-provider-styrmin"
)

// supportedExecAPIVersions are the credential plugin versions client-go
// still accepts; v1alpha1 was removed in Kubernetes 1.24.
var supportedExecAPIVersions = []string{
	"client.authentication.k8s.io/v1",
	"client.authentication.k8s.io/v1beta1",
}

// ErrNotConfigured is returned by RESTConfig when the settings name neither a
// kubeconfig nor a host.
var ErrNotConfigured = errors.New("no Kubernetes connection is configured: set config_path " +
	"(or " + EnvConfigPath + ") to a kubeconfig file, or host (or " + EnvHost + ") with credentials; " +
	"~/.kube/config and KUBECONFIG are not read implicitly")

// Option adjusts the *rest.Config that RESTConfig returns.
type Option func(*options)

type options struct {
	version       string
	qps           float32
	burst         int
	timeout       time.Duration
	wrapTransport func(http.RoundTripper) http.RoundTripper
}

// WithVersion sets the provider version reported in the User-Agent header,
// "terraform-provider-styrmin/<version>". The default is "dev".
func WithVersion(version string) Option {
	return func(o *options) { o.version = version }
}

// WithRateLimit replaces DefaultQPS and DefaultBurst.
func WithRateLimit(qps float32, burst int) Option {
	return func(o *options) { o.qps, o.burst = qps, burst }
}

// WithTimeout replaces DefaultTimeout; 0 means no per-request timeout.
func WithTimeout(timeout time.Duration) Option {
	return func(o *options) { o.timeout = timeout }
}

// WithWrapTransport sets rest.Config.WrapTransport, e.g. to WrapTransport's
// logging transport.
func WithWrapTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.wrapTransport = wrap }
}

// RESTConfig builds the client configuration described by s. Call FromEnv
// first to honour the KUBE_* environment variables.
//
// Kubeconfig files are loaded and merged like kubectl does, and then the
// explicit settings override them: host, cluster_ca_certificate, insecure,
// tls_server_name and proxy_url replace the values of the selected cluster,
// and any explicit credential (token, username/password, client certificate,
// exec) replaces the selected user's credentials as a whole, so that a file's
// credential never mixes with an explicit one.
//
// Errors name the setting to fix.
func RESTConfig(s Settings, opts ...Option) (*rest.Config, error) {
	o := options{version: "dev", qps: DefaultQPS, burst: DefaultBurst, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}

	if err := s.validate(); err != nil {
		return nil, err
	}

	kubeconfig, sources, err := s.loadKubeconfig()
	if err != nil {
		return nil, err
	}
	assembled, err := s.assemble(kubeconfig, sources)
	if err != nil {
		return nil, err
	}

	config, err := clientcmd.NewNonInteractiveClientConfig(*assembled, assembledName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		if sources != "" {
			return nil, fmt.Errorf("kubeconfig %s: %w", sources, err)
		}
		return nil, fmt.Errorf("invalid Kubernetes connection settings: %w", err)
	}

	config.QPS = o.qps
	config.Burst = o.burst
	config.Timeout = o.timeout
	config.UserAgent = userAgentProduct + "/" + o.version
	// client-go's typed clients default to protobuf, which the logging
	// transport cannot mask field by field; JSON keeps Secret data maskable
	// and TRACE logs readable, at a cost no provider will notice.
	config.ContentType = "application/json"
	config.AcceptContentTypes = "application/json"
	if o.wrapTransport != nil {
		config.WrapTransport = o.wrapTransport
	}
	return config, nil
}

// validate catches mistakes whose client-go error would not name the
// setting, or would only surface at the first request.
func (s Settings) validate() error {
	if s.ConfigPath != "" && len(s.ConfigPaths) > 0 {
		return errors.New("config_path and config_paths are mutually exclusive: set only one of them")
	}
	if !s.hasKubeconfig() {
		for _, setting := range []struct{ name, value string }{
			{"config_context", s.ConfigContext},
			{"config_context_auth_info", s.ConfigContextAuthInfo},
			{"config_context_cluster", s.ConfigContextCluster},
		} {
			if setting.value != "" {
				return fmt.Errorf("%s %q is set, but there is no kubeconfig to select it from: set config_path (or %s)",
					setting.name, setting.value, EnvConfigPath)
			}
		}
		if s.Host == "" {
			return ErrNotConfigured
		}
	}

	if s.Host != "" {
		host, err := normalizeHost(s.Host)
		if err != nil {
			return err
		}
		if strings.HasPrefix(host, "http://") && s.hasCredentials() {
			// client-go silently drops credentials on plain HTTP.
			return fmt.Errorf("host %q uses http, over which no credentials are sent: use https", s.Host)
		}
	}

	if s.Insecure != nil && *s.Insecure && s.ClusterCACertificate != "" {
		return errors.New("insecure = true and cluster_ca_certificate are mutually exclusive: " +
			"keep cluster_ca_certificate and drop insecure")
	}
	if s.ClusterCACertificate != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(s.ClusterCACertificate)) {
		return errors.New("cluster_ca_certificate holds no PEM-encoded certificate")
	}

	switch {
	case s.ClientCertificate != "" && s.ClientKey == "":
		return errors.New("client_certificate is set but client_key is not: set both")
	case s.ClientKey != "" && s.ClientCertificate == "":
		return errors.New("client_key is set but client_certificate is not: set both")
	case s.ClientCertificate != "":
		if _, err := tls.X509KeyPair([]byte(s.ClientCertificate), []byte(s.ClientKey)); err != nil {
			return fmt.Errorf("client_certificate and client_key do not form a valid PEM key pair: %w", err)
		}
	}

	if s.Token != "" && (s.Username != "" || s.Password != "") {
		return errors.New("token and username/password are mutually exclusive: set only one of them")
	}

	if s.ProxyURL != "" {
		u, err := url.Parse(s.ProxyURL)
		if err != nil {
			return fmt.Errorf("proxy_url %q is not a URL: %w", s.ProxyURL, err)
		}
		if !slices.Contains([]string{"http", "https", "socks5"}, u.Scheme) || u.Host == "" {
			return fmt.Errorf("proxy_url %q must look like http://host:port, https://host:port or socks5://host:port", s.ProxyURL)
		}
	}

	if s.Exec != nil {
		if s.Exec.Command == "" {
			return errors.New("exec.command must be set")
		}
		if !slices.Contains(supportedExecAPIVersions, s.Exec.APIVersion) {
			return fmt.Errorf("exec.api_version %q is not supported: use one of %s",
				s.Exec.APIVersion, strings.Join(supportedExecAPIVersions, ", "))
		}
		for name := range s.Exec.Env {
			if name == "" {
				return errors.New("exec.env has an empty variable name")
			}
		}
	}
	return nil
}

func (s Settings) hasKubeconfig() bool {
	return s.ConfigPath != "" || len(s.ConfigPaths) > 0
}

func (s Settings) hasCredentials() bool {
	return s.Token != "" || s.Username != "" || s.Password != "" ||
		s.ClientCertificate != "" || s.ClientKey != "" || s.Exec != nil
}

// normalizeHost adds the https scheme to a bare host[:port]. Without it,
// client-go would assume plain HTTP and send no credentials at all.
func normalizeHost(host string) (string, error) {
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return "", fmt.Errorf("host %q is not a URL: %w", host, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("host %q must use https (or http)", host)
	}
	if u.Host == "" {
		return "", fmt.Errorf("host %q has no host name", host)
	}
	return host, nil
}

// loadKubeconfig reads and merges the configured kubeconfig files. It returns
// an empty config when there are none, and the file names for messages.
func (s Settings) loadKubeconfig() (*clientcmdapi.Config, string, error) {
	type namedPath struct{ setting, path string }
	var configured []namedPath
	if s.ConfigPath != "" {
		configured = append(configured, namedPath{"config_path", s.ConfigPath})
	}
	for i, p := range s.ConfigPaths {
		configured = append(configured, namedPath{fmt.Sprintf("config_paths[%d]", i), p})
	}
	if len(configured) == 0 {
		return clientcmdapi.NewConfig(), "", nil
	}

	var paths []string
	for _, c := range configured {
		path, err := expandHome(c.path)
		if err != nil {
			return nil, "", fmt.Errorf("%s %q: %w", c.setting, c.path, err)
		}
		// client-go skips missing files of a list silently; a path someone
		// wrote down is expected to exist.
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("%s %q: no such file", c.setting, c.path)
		case err != nil:
			return nil, "", fmt.Errorf("%s %q: %w", c.setting, c.path, err)
		case info.IsDir():
			return nil, "", fmt.Errorf("%s %q is a directory, not a kubeconfig file", c.setting, c.path)
		}
		paths = append(paths, path)
	}

	rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
	kubeconfig, err := rules.Load()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", configured[0].setting, err)
	}
	return kubeconfig, strings.Join(paths, ", "), nil
}

// expandHome expands a leading ~, as a shell would, since Terraform passes
// paths through verbatim.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") && !strings.HasPrefix(path, "~"+string(filepath.Separator)) {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand ~: %w", err)
	}
	return filepath.Join(home, path[1:]), nil
}

// assemble picks the context, cluster and user from kubeconfig, applies the
// explicit settings on top, and returns a config holding just that one
// context. sources names the files for messages.
func (s Settings) assemble(kubeconfig *clientcmdapi.Config, sources string) (*clientcmdapi.Config, error) {
	kubeContext := clientcmdapi.NewContext()
	contextName := s.ConfigContext
	if contextName == "" {
		contextName = kubeconfig.CurrentContext
	}
	switch {
	case contextName != "":
		found, ok := kubeconfig.Contexts[contextName]
		if !ok {
			setting := "config_context"
			if s.ConfigContext == "" {
				setting = "current-context"
			}
			return nil, fmt.Errorf("%s %q not found in %s; contexts: %s",
				setting, contextName, sources, listNames(kubeconfig.Contexts))
		}
		kubeContext = found.DeepCopy()
	case sources != "" && s.ConfigContextCluster == "" && s.Host == "":
		return nil, fmt.Errorf("%s has no current-context: set config_context to one of: %s",
			sources, listNames(kubeconfig.Contexts))
	}

	if s.ConfigContextAuthInfo != "" {
		if _, ok := kubeconfig.AuthInfos[s.ConfigContextAuthInfo]; !ok {
			return nil, fmt.Errorf("config_context_auth_info %q not found in %s; users: %s",
				s.ConfigContextAuthInfo, sources, listNames(kubeconfig.AuthInfos))
		}
		kubeContext.AuthInfo = s.ConfigContextAuthInfo
	}
	if s.ConfigContextCluster != "" {
		if _, ok := kubeconfig.Clusters[s.ConfigContextCluster]; !ok {
			return nil, fmt.Errorf("config_context_cluster %q not found in %s; clusters: %s",
				s.ConfigContextCluster, sources, listNames(kubeconfig.Clusters))
		}
		kubeContext.Cluster = s.ConfigContextCluster
	}

	cluster := clientcmdapi.NewCluster()
	if kubeContext.Cluster != "" {
		found, ok := kubeconfig.Clusters[kubeContext.Cluster]
		if !ok {
			return nil, fmt.Errorf("context %q of %s refers to cluster %q, which is not defined there; clusters: %s",
				contextName, sources, kubeContext.Cluster, listNames(kubeconfig.Clusters))
		}
		cluster = found.DeepCopy()
	}
	authInfo := clientcmdapi.NewAuthInfo()
	if kubeContext.AuthInfo != "" {
		found, ok := kubeconfig.AuthInfos[kubeContext.AuthInfo]
		if !ok {
			return nil, fmt.Errorf("context %q of %s refers to user %q, which is not defined there; users: %s",
				contextName, sources, kubeContext.AuthInfo, listNames(kubeconfig.AuthInfos))
		}
		authInfo = found.DeepCopy()
	}

	if err := s.applyToCluster(cluster); err != nil {
		return nil, err
	}
	authInfo = s.applyToAuthInfo(authInfo)

	// The file's own names, where there are any, keep client-go's messages
	// recognisable.
	clusterName := cmp.Or(kubeContext.Cluster, assembledName)
	authInfoName := cmp.Or(kubeContext.AuthInfo, assembledName)
	assembled := clientcmdapi.NewConfig()
	assembled.Clusters[clusterName] = cluster
	assembled.AuthInfos[authInfoName] = authInfo
	assembled.Contexts[assembledName] = &clientcmdapi.Context{
		Cluster:   clusterName,
		AuthInfo:  authInfoName,
		Namespace: kubeContext.Namespace,
	}
	assembled.CurrentContext = assembledName
	return assembled, nil
}

func (s Settings) applyToCluster(cluster *clientcmdapi.Cluster) error {
	if s.Host != "" {
		host, err := normalizeHost(s.Host)
		if err != nil {
			return err
		}
		cluster.Server = host
	}
	if s.ClusterCACertificate != "" {
		// An explicit CA means "verify against this", whatever the file says.
		cluster.CertificateAuthorityData = []byte(s.ClusterCACertificate)
		cluster.CertificateAuthority = ""
		cluster.InsecureSkipTLSVerify = false
	}
	if s.Insecure != nil {
		cluster.InsecureSkipTLSVerify = *s.Insecure
		if *s.Insecure {
			// client-go refuses a CA together with insecure, like kubectl's
			// --insecure-skip-tls-verify the override drops the file's CA.
			cluster.CertificateAuthorityData = nil
			cluster.CertificateAuthority = ""
		}
	}
	if s.TLSServerName != "" {
		cluster.TLSServerName = s.TLSServerName
	}
	if s.ProxyURL != "" {
		cluster.ProxyURL = s.ProxyURL
	}
	return nil
}

func (s Settings) applyToAuthInfo(fromFile *clientcmdapi.AuthInfo) *clientcmdapi.AuthInfo {
	if !s.hasCredentials() {
		return fromFile
	}

	authInfo := clientcmdapi.NewAuthInfo()
	// Impersonation says who to act as, not how to log in: keep it.
	authInfo.Impersonate = fromFile.Impersonate
	authInfo.ImpersonateUID = fromFile.ImpersonateUID
	authInfo.ImpersonateGroups = fromFile.ImpersonateGroups
	authInfo.ImpersonateUserExtra = fromFile.ImpersonateUserExtra

	authInfo.Token = s.Token
	authInfo.Username = s.Username
	authInfo.Password = s.Password
	if s.ClientCertificate != "" {
		authInfo.ClientCertificateData = []byte(s.ClientCertificate)
		authInfo.ClientKeyData = []byte(s.ClientKey)
	}
	if s.Exec != nil {
		authInfo.Exec = s.Exec.execConfig()
	}
	return authInfo
}

func (e *ExecSettings) execConfig() *clientcmdapi.ExecConfig {
	exec := &clientcmdapi.ExecConfig{
		APIVersion: e.APIVersion,
		Command:    e.Command,
		Args:       slices.Clone(e.Args),
		// Terraform owns the terminal; a plugin that prompts would hang.
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		InstallHint: fmt.Sprintf("The provider's exec block runs %q: install it, or fix exec.command.",
			e.Command),
	}
	// Sorted, so that equal settings yield equal configs.
	for _, name := range slices.Sorted(maps.Keys(e.Env)) {
		exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: name, Value: e.Env[name]})
	}
	return exec
}

func listNames[V any](entries map[string]V) string {
	if len(entries) == 0 {
		return "(none)"
	}
	return strings.Join(slices.Sorted(maps.Keys(entries)), ", ")
}
