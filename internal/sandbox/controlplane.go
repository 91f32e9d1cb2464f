package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func (l Layout) apiServerURL() string {
	return fmt.Sprintf("https://%s:%d", BridgeAddress, APIServerPort)
}

// writeKubeconfig writes the admin kubeconfig (bearer token, CA pinned) that every component and
// client of the stack uses.
func (l Layout) writeKubeconfig() error {
	p := l.pki()
	ca, err := os.ReadFile(p.CACert())
	if err != nil {
		return err
	}
	token, err := p.AdminToken()
	if err != nil {
		return err
	}
	return os.WriteFile(l.Kubeconfig(), kubeconfig(l.apiServerURL(), ca, "admin", token), 0o600)
}

// kubeconfig is a kubeconfig for the stack's API server that authenticates user by token.
func kubeconfig(server string, ca []byte, user, token string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: styrmin-sandbox
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: styrmin-sandbox
  context:
    cluster: styrmin-sandbox
    user: %[3]s
current-context: styrmin-sandbox
`, server, base64.StdEncoding.EncodeToString(ca), user, token))
}

func (l Layout) etcd() daemon {
	client := fmt.Sprintf("http://127.0.0.1:%d", EtcdClientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", EtcdPeerPort)
	return daemon{Name: "etcd", Path: "/usr/bin/etcd", Args: []string{
		"--name", "sandbox",
		"--data-dir", l.state("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "sandbox=" + peer,
		"--log-level", "warn",
	}}
}

func (l Layout) apiServer(bins Binaries) daemon {
	p := l.pki()
	return daemon{Name: "kube-apiserver", Path: bins.Path("kube-apiserver"), Args: []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", EtcdClientPort),
		"--bind-address", BridgeAddress,
		"--advertise-address", BridgeAddress,
		"--secure-port", fmt.Sprint(APIServerPort),
		"--tls-cert-file", p.ServingCert(), "--tls-private-key-file", p.ServingKey(),
		"--client-ca-file", p.CACert(),
		"--token-auth-file", p.TokenFile(),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", p.ServiceAccountPub(),
		"--service-account-signing-key-file", p.ServiceAccountKey(),
		"--service-cluster-ip-range", ServiceSubnet,
		// No service-account tokens are mounted: every component gets an explicit kubeconfig.
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged=true", // Velero's node-agent is privileged
		// No kube-proxy: the "kubernetes" service is reached through the bridge DNAT rule instead.
		"--endpoint-reconciler-type", "none",
		"--kubelet-preferred-address-types", "Hostname,InternalIP",
		"--cert-dir", l.state("apiserver"),
		"--profiling=false",
		"--v", "1",
	}}
}

func (l Layout) controllerManager(bins Binaries) daemon {
	p := l.pki()
	return daemon{Name: "kube-controller-manager", Path: bins.Path("kube-controller-manager"), Args: []string{
		"--kubeconfig", l.Kubeconfig(),
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(ControllerPort),
		"--cert-dir", l.state("controller-manager"),
		"--leader-elect=false",
		"--root-ca-file", p.CACert(),
		"--service-account-private-key-file", p.ServiceAccountKey(),
		"--use-service-account-credentials=false",
		"--service-cluster-ip-range", ServiceSubnet,
		"--v", "1",
	}}
}

func (l Layout) scheduler(bins Binaries) daemon {
	return daemon{Name: "kube-scheduler", Path: bins.Path("kube-scheduler"), Args: []string{
		"--kubeconfig", l.Kubeconfig(),
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(SchedulerPort),
		"--cert-dir", l.state("scheduler"),
		"--leader-elect=false",
		"--v", "1",
	}}
}

// waitHTTP polls url until it answers 200 or the timeout passes; the error names the component and
// its log so the reader knows where to look.
func (l Layout) waitHTTP(ctx context.Context, component, url string, timeout time.Duration, header http.Header) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: l.tlsConfig(url),
		Proxy:           nil,
	}}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if _, ok := l.running(component); !ok {
			return l.componentError(component, "exited while starting")
		}
		if time.Now().After(deadline) {
			return l.componentError(component, fmt.Sprintf("not ready after %s (%s: %s)", timeout, url, last))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// tlsConfig trusts the stack's CA for the API server and skips verification for the
// self-signed health endpoints of the other components (loopback only).
func (l Layout) tlsConfig(url string) *tls.Config {
	if strings.Contains(url, fmt.Sprintf(":%d", APIServerPort)) {
		pool := x509.NewCertPool()
		if ca, err := os.ReadFile(l.pki().CACert()); err == nil {
			pool.AppendCertsFromPEM(ca)
		}
		return &tls.Config{RootCAs: pool}
	}
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback health checks of self-signed components
}

// componentError names the component, the problem and the last lines of its log.
func (l Layout) componentError(component, problem string) error {
	return fmt.Errorf("%s %s; log: %s\n%s", component, problem, l.LogFile(component), tail(l.LogFile(component), 15))
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "  | " + strings.Join(all, "\n  | ")
}

func (l Layout) startControlPlane(ctx context.Context, bins Binaries) error {
	if err := l.startAndWait(ctx, l.etcd(), fmt.Sprintf("http://127.0.0.1:%d/health", EtcdClientPort), time.Minute, nil); err != nil {
		return err
	}
	token, err := l.pki().AdminToken()
	if err != nil {
		return err
	}
	auth := http.Header{"Authorization": {"Bearer " + token}}
	if err := l.startAndWait(ctx, l.apiServer(bins), l.apiServerURL()+"/readyz", 2*time.Minute, auth); err != nil {
		return err
	}
	if err := l.startAndWait(ctx, l.controllerManager(bins), fmt.Sprintf("https://127.0.0.1:%d/healthz", ControllerPort), time.Minute, nil); err != nil {
		return err
	}
	return l.startAndWait(ctx, l.scheduler(bins), fmt.Sprintf("https://127.0.0.1:%d/healthz", SchedulerPort), time.Minute, nil)
}

func (l Layout) startAndWait(ctx context.Context, d daemon, healthURL string, timeout time.Duration, header http.Header) error {
	if _, err := l.start(d); err != nil {
		return err
	}
	return l.waitHTTP(ctx, d.Name, healthURL, timeout, header)
}
