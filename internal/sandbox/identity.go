package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderRBACFile holds the permissions the provider needs, as the RBAC guide gives them to
// users; the stack applies it and the acceptance tests run the provider with its ServiceAccount.
const ProviderRBACFile = "examples/rbac/styrmin-provider.yaml"

// providerAccount is the ServiceAccount ProviderRBACFile binds.
const providerAccount = "styrmin-provider"

// providerTokenLifetime outlives any stack session; a new `up` issues a new token.
const providerTokenLifetime = 7 * 24 * 60 * 60

// ProviderKubeconfig is the provider's kubeconfig: the ServiceAccount's token, no admin rights.
func (l Layout) ProviderKubeconfig() string { return filepath.Join(l.Dir, "provider.kubeconfig") }

// grantProvider applies the provider's RBAC and writes a kubeconfig with a token of its
// ServiceAccount, so that the tests find out when a rule is missing.
func (l Layout) grantProvider(ctx context.Context, c *clients) error {
	manifests, err := os.ReadFile(filepath.Join(l.RepoDir, ProviderRBACFile))
	if err != nil {
		return err
	}
	if err := c.apply(ctx, manifests, VeleroNamespace); err != nil {
		return fmt.Errorf("apply %s: %w", ProviderRBACFile, err)
	}
	lifetime := int64(providerTokenLifetime)
	token, err := c.core.CoreV1().ServiceAccounts(VeleroNamespace).CreateToken(ctx, providerAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &lifetime}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("issue a token for ServiceAccount %s/%s: %w", VeleroNamespace, providerAccount, err)
	}
	ca, err := os.ReadFile(l.pki().CACert())
	if err != nil {
		return err
	}
	return os.WriteFile(l.ProviderKubeconfig(), kubeconfig(l.apiServerURL(), ca, providerAccount, token.Status.Token), 0o600)
}
