// Package objectstore talks to the S3-compatible bucket behind a Velero backup storage location:
// it builds a client from the location's settings and checks, before the location is created,
// that Velero will be able to use the bucket.
package objectstore

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Location is where a backup storage location keeps its data and how to reach it. The fields
// mirror the provider's arguments and Velero's BSL (objectStorage and the aws plugin's config).
type Location struct {
	// Endpoint is the store's base URL (Velero's s3Url); empty means AWS S3 itself.
	Endpoint string
	Region   string
	Bucket   string
	// Prefix is the folder inside the bucket; leading and trailing slashes are ignored, as
	// Velero ignores them.
	Prefix         string
	ForcePathStyle bool
	// CACertPEM is trusted in addition to the system roots, as Velero's aws plugin does.
	CACertPEM       []byte
	AccessKeyID     string
	SecretAccessKey string
	// ChecksumAlgorithm is the aws plugin's checksumAlgorithm: CRC32, CRC32C, SHA1, SHA256, or ""
	// to send checksums only when an operation requires them (what many non-AWS stores need).
	ChecksumAlgorithm string
}

// Terraform arguments a CheckError can point at.
const (
	FieldEndpoint          = "endpoint"
	FieldRegion            = "region"
	FieldBucket            = "bucket"
	FieldPrefix            = "prefix"
	FieldForcePathStyle    = "force_path_style"
	FieldCACert            = "ca_cert"
	FieldAccessKeyID       = "access_key_id"
	FieldSecretAccessKey   = "secret_access_key"
	FieldChecksumAlgorithm = "checksum_algorithm"
)

// Limits that make a wrong endpoint fail within seconds instead of retrying for minutes. They
// are variables so tests can shorten them.
var (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 5 * time.Second
	responseHeaderTimeout = 15 * time.Second
	// callTimeout bounds each preflight request, retries included.
	callTimeout = 15 * time.Second
)

const (
	maxAttempts = 2
	maxBackoff  = time.Second
)

// checksumAlgorithms are the values Velero's aws plugin accepts for checksumAlgorithm; anything
// else makes its object store fail to initialise and the location Unavailable.
var checksumAlgorithms = []string{"CRC32", "CRC32C", "SHA1", "SHA256", ""}

// NewClient returns an S3 client for loc with static credentials, at most two attempts per call
// and short connection timeouts. It reads no AWS config files or AWS_* variables and never asks
// the instance metadata service; HTTPS_PROXY and NO_PROXY apply as to any Go HTTP client.
// httpClient may be nil; a given client is used as is, except that CACertPEM is added to a copy
// of its *http.Transport. Invalid arguments return a *CheckError of CheckArguments.
func NewClient(loc Location, httpClient *http.Client) (*s3.Client, error) {
	if err := validate(loc); err != nil {
		return nil, err
	}
	roots, err := rootCAs(loc.CACertPEM)
	if err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = defaultHTTPClient(roots)
	} else if roots != nil {
		if httpClient, err = withRootCAs(httpClient, roots); err != nil {
			return nil, err
		}
	}

	opts := s3.Options{
		Region:       loc.Region,
		UsePathStyle: loc.ForcePathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(loc.AccessKeyID, loc.SecretAccessKey, ""),
		HTTPClient:   httpClient,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = maxBackoff
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(notRetryable)}, o.Retryables...)
		}),
	}
	if loc.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(loc.Endpoint, "/"))
	}
	if loc.ChecksumAlgorithm == "" {
		// Stores that reject the SDK's default CRC32 trailers still work with "".
		opts.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		opts.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	return s3.New(opts), nil
}

// validate rejects what no request can fix, before anything goes over the network.
func validate(loc Location) *CheckError {
	argumentError := func(field, problem, fix string) *CheckError {
		return &CheckError{Check: CheckArguments, Field: field, Problem: problem, Fix: fix}
	}
	if loc.Endpoint != "" {
		u, err := url.Parse(loc.Endpoint)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return argumentError(FieldEndpoint,
				fmt.Sprintf("The endpoint %q is not an http:// or https:// URL", loc.Endpoint),
				`Set endpoint to the store's base URL, such as "https://minio.example.com:9000", or leave it unset for AWS S3`)
		case strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
			return argumentError(FieldEndpoint,
				fmt.Sprintf("The endpoint %q has a path or query", loc.Endpoint),
				"Velero's kopia uploader rejects an S3 URL with a path: keep only scheme, host and port in endpoint, "+
					"and put the bucket name in bucket and any folder in prefix")
		}
	}
	if loc.Region == "" {
		return argumentError(FieldRegion, "No region is set",
			`Set region to the bucket's region (MinIO accepts "us-east-1" unless it was configured with another region)`)
	}
	bucket := strings.Trim(loc.Bucket, "/")
	switch {
	case bucket == "":
		return argumentError(FieldBucket, "No bucket is set", "Set bucket to the name of an existing bucket")
	case strings.Contains(bucket, "/"):
		name, folder, _ := strings.Cut(bucket, "/")
		return argumentError(FieldBucket, fmt.Sprintf("The bucket name %q contains a slash", loc.Bucket),
			fmt.Sprintf("Velero rejects such a bucket name: set bucket = %q and prefix = %q", name, folder))
	}
	if loc.AccessKeyID == "" {
		return argumentError(FieldAccessKeyID, "No access_key_id is set", "Set access_key_id and secret_access_key to a key pair of the store")
	}
	if loc.SecretAccessKey == "" {
		return argumentError(FieldSecretAccessKey, "No secret_access_key is set", "Set secret_access_key to the secret of access_key_id")
	}
	if !validChecksumAlgorithm(loc.ChecksumAlgorithm) {
		return argumentError(FieldChecksumAlgorithm,
			fmt.Sprintf("The checksum_algorithm %q is not one Velero's aws plugin accepts", loc.ChecksumAlgorithm),
			`Use "CRC32", "CRC32C", "SHA1", "SHA256", or "" to send no checksums (many non-AWS stores need "")`)
	}
	return nil
}

func validChecksumAlgorithm(algorithm string) bool {
	for _, valid := range checksumAlgorithms {
		if algorithm == valid {
			return true
		}
	}
	return false
}

// rootCAs returns the system roots plus caCertPEM, or nil when caCertPEM is empty so that the
// transport keeps Go's default verification.
func rootCAs(caCertPEM []byte) (*x509.CertPool, error) {
	if len(strings.TrimSpace(string(caCertPEM))) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(caCertPEM) {
		return nil, &CheckError{Check: CheckArguments, Field: FieldCACert,
			Problem: "The ca_cert holds no PEM certificate",
			Fix:     `Set ca_cert to the PEM-encoded certificate ("-----BEGIN CERTIFICATE-----…") of the CA that signed the endpoint's certificate`}
	}
	return pool, nil
}

func defaultHTTPClient(roots *x509.CertPool) *http.Client {
	// http.DefaultTransport's settings (proxy from the environment, idle connection limits), unless
	// something has replaced it with a RoundTripper of another type.
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		base = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	transport := base.Clone()
	transport.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	transport.TLSHandshakeTimeout = tlsHandshakeTimeout
	transport.ResponseHeaderTimeout = responseHeaderTimeout
	if roots != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: transport,
		// A signed request must not follow a redirect to another host: S3 answers a wrong region
		// with 301/307, and the SDK has to see that answer to report it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func withRootCAs(client *http.Client, roots *x509.CertPool) (*http.Client, error) {
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	transport, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("ca_cert needs an *http.Transport to add the CA to, the given HTTP client has a %T", base)
	}
	transport = transport.Clone()
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	transport.TLSClientConfig.RootCAs = roots
	copied := *client
	copied.Transport = transport
	return &copied, nil
}

// notRetryable stops retries of failures that a second attempt cannot cure: a certificate
// that does not verify, or a plain HTTP server behind an https:// endpoint.
func notRetryable(err error) aws.Ternary {
	var certErr *tls.CertificateVerificationError
	var notTLS tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &notTLS) || strings.Contains(err.Error(), errHTTPResponseToHTTPS) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}
