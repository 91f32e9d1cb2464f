package kubeconn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// classifiedError keeps the original error for errors.Is and errors.As while
// leading with what to fix.
type classifiedError struct {
	message string
	err     error
}

func (e *classifiedError) Error() string { return e.message }
func (e *classifiedError) Unwrap() error { return e.err }

// Classify rewrites the error of a first request to the API server at host
// (typically rest.Config.Host) into one that says which setting to check:
// unreachable server, untrusted certificate, failing exec plugin, rejected
// (401) or insufficient (403) credentials. Other errors, nil and
// cancellations are returned unchanged, as are errors already classified.
func Classify(err error, host string) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var already *classifiedError
	if errors.As(err, &already) {
		return err
	}

	classified := func(format string, args ...any) error {
		return &classifiedError{message: fmt.Sprintf(format, args...), err: err}
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostnameMismatch x509.HostnameError
		dnsError         *net.DNSError
		netError         net.Error
		opError          *net.OpError
	)
	switch {
	case apierrors.IsUnauthorized(err):
		return classified("the Kubernetes API server at %s rejected the credentials (401 Unauthorized): "+
			"check token/client_certificate/exec, or the user of the kubeconfig context: %v", host, err)
	case apierrors.IsForbidden(err):
		return classified("the Kubernetes user is not allowed to do this at %s (403 Forbidden): %v; "+
			"grant it the missing RBAC permissions or use other credentials", host, err)
	case strings.Contains(err.Error(), "getting credentials: "):
		// client-go flattens exec plugin errors into text under this prefix.
		return classified("the exec credential plugin failed for the Kubernetes API server at %s: %v; "+
			"check exec (command, args, env) or the exec section of the kubeconfig user", host, err)
	case errors.As(err, &unknownAuthority):
		return classified("cannot verify the TLS certificate of the Kubernetes API server at %s: %v; "+
			"check cluster_ca_certificate (or the kubeconfig's certificate-authority)", host, err)
	case errors.As(err, &hostnameMismatch):
		return classified("the TLS certificate of the Kubernetes API server at %s is not valid for that name: %v; "+
			"check host or tls_server_name", host, err)
	case errors.As(err, &dnsError):
		return classified("cannot reach the Kubernetes API server at %s: host name %q not found: %v; "+
			"check host/config_path", host, dnsError.Name, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return classified("cannot reach the Kubernetes API server at %s: connection refused: %v; "+
			"check host/config_path and that the cluster is running", host, err)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netError) && netError.Timeout()):
		return classified("cannot reach the Kubernetes API server at %s: timed out: %v; "+
			"check host/config_path/proxy_url and the network", host, err)
	case errors.As(err, &opError):
		return classified("cannot reach the Kubernetes API server at %s: %v; check host/config_path", host, err)
	}
	return err
}
