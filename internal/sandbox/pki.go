package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the stack's credentials: a CA, the API server's serving certificate, the service-account
// signing key and one admin bearer token. Generated once per .sandbox and reused by later starts.
type pki struct {
	dir string
}

func (l Layout) pki() pki { return pki{dir: l.PKIDir()} }

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }
func (p pki) CACert() string          { return p.path("ca.crt") }
func (p pki) ServingCert() string     { return p.path("apiserver.crt") }
func (p pki) ServingKey() string      { return p.path("apiserver.key") }
func (p pki) ServiceAccountKey() string {
	return p.path("sa.key")
}
func (p pki) ServiceAccountPub() string { return p.path("sa.pub") }
func (p pki) TokenFile() string         { return p.path("tokens.csv") }
func (p pki) AdminTokenFile() string    { return p.path("admin.token") }

// ensure creates whatever is missing. Existing material is kept so a restarted stack keeps
// trusting the clients it already configured.
func (p pki) ensure() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	if !exists(p.CACert()) || !exists(p.ServingCert()) {
		if err := p.writeCertificates(); err != nil {
			return err
		}
	}
	if !exists(p.ServiceAccountKey()) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(p.ServiceAccountPub(), "PUBLIC KEY", pub); err != nil {
			return err
		}
		if err := writePEM(p.ServiceAccountKey(), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
			return err
		}
	}
	if !exists(p.AdminTokenFile()) {
		token := randomHex(24)
		// Static token file: token,user,uid,"groups". system:masters bypasses RBAC.
		line := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", token)
		if err := os.WriteFile(p.TokenFile(), []byte(line), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(p.AdminTokenFile(), []byte(token), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (p pki) AdminToken() (string, error) {
	b, err := os.ReadFile(p.AdminTokenFile())
	return string(b), err
}

func (p pki) writeCertificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "styrmin-sandbox-ca"},
		NotBefore:             now,
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses:  []net.IP{net.ParseIP(BridgeAddress), net.ParseIP("127.0.0.1"), net.ParseIP(KubernetesSvcIP)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return errors.Join(
		writePEM(p.CACert(), "CERTIFICATE", caDER),
		writePEM(p.ServingCert(), "CERTIFICATE", der),
		writePEM(p.ServingKey(), "EC PRIVATE KEY", keyDER),
	)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
