package objectstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Checks, in the order Preflight runs them; CheckError.Check holds one of them.
const (
	// CheckArguments fails on arguments no request can fix (a bucket with a slash, no region…).
	CheckArguments   = "arguments"
	CheckEndpoint    = "endpoint"
	CheckCredentials = "credentials"
	CheckBucket      = "bucket"
	CheckAccess      = "access"
	CheckRegion      = "region"
	CheckPrefix      = "prefix"
	// CheckUnexpected is an answer none of the checks explains, such as a 500.
	CheckUnexpected = "unexpected answer"
)

// CheckError is a failed check of a location (its arguments, or its bucket in Preflight): it
// says which check failed, which Terraform argument to change, and how.
type CheckError struct {
	// Check is one of the Check constants.
	Check string
	// Field is the Terraform argument most likely to need a change, one of the Field constants.
	Field string
	// Problem says what is wrong and Fix what to do about it; both are sentences without the
	// final period.
	Problem string
	Fix     string
	// Foreign lists, for CheckPrefix, the folders under the prefix that are not Velero's.
	Foreign []string
	// Err is the S3 or network error behind the failure, if any.
	Err error
}

func (e *CheckError) Error() string {
	message := e.Problem + ". " + e.Fix + "."
	if e.Err != nil {
		message += " Details: " + strings.TrimSuffix(describe(e.Err), ".") + "."
	}
	return message
}

func (e *CheckError) Unwrap() error { return e.Err }

// errHTTPResponseToHTTPS is how net/http reports a plain HTTP answer to a TLS handshake; it
// has no error type of its own.
const errHTTPResponseToHTTPS = "server gave HTTP response to HTTPS client"

// S3 error codes that mean the key pair itself is wrong, whatever the bucket.
const (
	codeInvalidAccessKeyID    = "InvalidAccessKeyId"
	codeSignatureDoesNotMatch = "SignatureDoesNotMatch"
)

// S3 error codes that mean the request went to the wrong region.
var regionCodes = []string{"AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"}

// expectedRegion finds the bucket's region in AuthorizationHeaderMalformed messages, as AWS
// ("the region 'us-east-1' is wrong; expecting 'eu-west-1'") and MinIO ("the region is wrong;
// expecting 'us-east-1'.") write them.
var expectedRegion = regexp.MustCompile(`expecting '([A-Za-z0-9-]+)'`)

// response is what an S3 error answer tells beyond its error code. HEAD answers carry no body,
// so for them the status and headers are all there is.
type response struct {
	status int
	// region is the x-amz-bucket-region header that AWS (and MinIO, when configured with a
	// region) sets on bucket answers.
	region   string
	location string
}

func (r response) redirect() bool { return r.status >= 300 && r.status < 400 }

func (r response) redirectOrBadRequest() bool {
	return r.redirect() || r.status == http.StatusBadRequest
}

func responseOf(err error) (response, bool) {
	// The SDK wraps a failed send in a ResponseError too, with an empty response.
	var sendErr *smithyhttp.RequestSendError
	var responseErr *smithyhttp.ResponseError
	if errors.As(err, &sendErr) || !errors.As(err, &responseErr) || responseErr.Response == nil || responseErr.HTTPStatusCode() == 0 {
		return response{}, false
	}
	header := responseErr.Response.Header
	return response{
		status:   responseErr.HTTPStatusCode(),
		region:   header.Get("x-amz-bucket-region"),
		location: header.Get("Location"),
	}, true
}

func errorCodeAndMessage(err error) (string, string) {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return "", ""
	}
	return apiErr.ErrorCode(), apiErr.ErrorMessage()
}

// classify turns the failure of a request about target into the check that failed. knownRegion
// is the bucket's region from an earlier answer, used when this answer does not say.
func classify(loc Location, err error, knownRegion, target string) *CheckError {
	answer, ok := responseOf(err)
	if !ok {
		return unreachable(loc, err)
	}
	code, message := errorCodeAndMessage(err)
	region := firstNonEmpty(answer.region, knownRegion, regionInMessage(message))

	switch {
	case strings.EqualFold(code, codeInvalidAccessKeyID):
		return &CheckError{Check: CheckCredentials, Field: FieldAccessKeyID, Err: err,
			Problem: fmt.Sprintf("The store at %s does not know the access key in access_key_id", endpointName(loc)),
			Fix:     "Set access_key_id and secret_access_key to a key pair that exists on this store"}

	case strings.EqualFold(code, codeSignatureDoesNotMatch):
		return &CheckError{Check: CheckCredentials, Field: FieldSecretAccessKey, Err: err,
			Problem: fmt.Sprintf("The store at %s rejected the request signature: secret_access_key is not the secret of the key in access_key_id", endpointName(loc)),
			Fix:     "Set secret_access_key to the secret that belongs to access_key_id"}

	case strings.EqualFold(code, "NoSuchBucket") || answer.status == http.StatusNotFound:
		return &CheckError{Check: CheckBucket, Field: FieldBucket, Err: err,
			Problem: fmt.Sprintf("Bucket %q does not exist at %s", strings.Trim(loc.Bucket, "/"), endpointName(loc)),
			Fix:     "Create the bucket first, or correct bucket (or endpoint, if it points at another store)"}

	case strings.EqualFold(code, "AccessDenied") || answer.status == http.StatusForbidden:
		fix := "Grant that key s3:ListBucket on the bucket and s3:GetObject, s3:PutObject and s3:DeleteObject on its objects " +
			"(Velero needs all four), or use a key that has them"
		if !strings.EqualFold(code, "AccessDenied") {
			fix += "; the store did not say why it refused, so also check that access_key_id and secret_access_key are right"
		}
		return &CheckError{Check: CheckAccess, Field: FieldAccessKeyID, Err: err,
			Problem: fmt.Sprintf("The key in access_key_id may not list %s (access denied)", target), Fix: fix}

	case region != loc.Region && (containsFold(regionCodes, code) || (answer.redirectOrBadRequest() && region != "")):
		if region == "" {
			return &CheckError{Check: CheckRegion, Field: FieldRegion, Err: err,
				Problem: fmt.Sprintf("Bucket %q is not in region %q (the store did not say which region it is in)", strings.Trim(loc.Bucket, "/"), loc.Region),
				Fix:     "Set region to the bucket's region"}
		}
		return &CheckError{Check: CheckRegion, Field: FieldRegion, Err: err,
			Problem: fmt.Sprintf("Bucket %q is in region %q, not %q", strings.Trim(loc.Bucket, "/"), region, loc.Region),
			Fix:     fmt.Sprintf("Set region = %q", region)}

	case answer.redirect():
		// Not S3 speaking: typically a proxy that sends http to https.
		fix := "Set endpoint to the URL the store answers on itself"
		if answer.location != "" {
			fix = fmt.Sprintf("Set endpoint to the URL the store answers on itself (the answer pointed to %q)", answer.location)
		}
		return &CheckError{Check: CheckEndpoint, Field: FieldEndpoint, Err: err,
			Problem: fmt.Sprintf("The %s redirects requests for %s elsewhere", endpointName(loc), target), Fix: fix}
	}
	return &CheckError{Check: CheckUnexpected, Field: FieldEndpoint, Err: err,
		Problem: fmt.Sprintf("The store at %s answered a request for %s with HTTP %d", endpointName(loc), target, answer.status),
		Fix:     "Check that endpoint points at an S3-compatible store and that the store is healthy"}
}

// unreachable explains an error that came without an answer: DNS, TCP, TLS or a timeout.
func unreachable(loc Location, err error) *CheckError {
	fail := func(field, problem, fix string) *CheckError {
		return &CheckError{Check: CheckEndpoint, Field: field, Problem: problem, Fix: fix, Err: err}
	}
	name := endpointName(loc)
	var (
		unknownAuthority x509.UnknownAuthorityError
		wrongHost        x509.HostnameError
		invalidCert      x509.CertificateInvalidError
		unverified       *tls.CertificateVerificationError
		notTLS           tls.RecordHeaderError
		dnsErr           *net.DNSError
		dialErr          *net.OpError
	)
	switch {
	case errors.As(err, &unknownAuthority):
		if len(loc.CACertPEM) > 0 {
			return fail(FieldCACert, fmt.Sprintf("The TLS certificate of %s is not signed by the CA in ca_cert, nor by a CA this machine trusts", name),
				"Set ca_cert to the PEM certificate of the CA that signed the store's certificate")
		}
		return fail(FieldCACert, fmt.Sprintf("The TLS certificate of %s is signed by a CA this machine does not trust", name),
			"Set ca_cert to the PEM certificate of the CA that signed the store's certificate")

	case errors.As(err, &wrongHost):
		return fail(FieldEndpoint, fmt.Sprintf("The TLS certificate of %s is not valid for host %q", name, wrongHost.Host),
			"Use in endpoint a host name the certificate names, or have the store's certificate name this host")

	case errors.As(err, &invalidCert):
		return fail(FieldEndpoint, fmt.Sprintf("The TLS certificate of %s is not valid (%v)", name, invalidCert),
			"Renew the store's certificate, or check this machine's clock")

	case errors.As(err, &unverified):
		return fail(FieldCACert, fmt.Sprintf("The TLS certificate of %s could not be verified", name),
			"Check that ca_cert holds the CA that signed the store's certificate")

	case errors.As(err, &notTLS) || strings.Contains(err.Error(), errHTTPResponseToHTTPS):
		return fail(FieldEndpoint, fmt.Sprintf("The %s speaks plain HTTP, not HTTPS", name),
			"Use an http:// URL in endpoint, or enable TLS on the store")

	case errors.As(err, &dnsErr):
		if !loc.ForcePathStyle && strings.HasPrefix(dnsErr.Name, strings.Trim(loc.Bucket, "/")+".") {
			return fail(FieldForcePathStyle, fmt.Sprintf("Host %q does not resolve: with force_path_style unset the bucket name becomes part of the host name of %s", dnsErr.Name, name),
				"Set force_path_style = true (MinIO and most S3-compatible stores need it)")
		}
		return fail(FieldEndpoint, fmt.Sprintf("Host %q of %s does not resolve", dnsErr.Name, name),
			"Check the host name in endpoint, and that this machine's DNS can resolve it")

	case errors.Is(err, syscall.ECONNREFUSED):
		address := endpointHost(loc)
		if errors.As(err, &dialErr) && dialErr.Addr != nil {
			address = dialErr.Addr.String()
		}
		return fail(FieldEndpoint, fmt.Sprintf("Nothing accepts connections at %s (%s)", address, name),
			"Check the host and port in endpoint, and that the store is running and reachable from where Terraform runs")

	case isTimeout(err):
		return fail(FieldEndpoint, fmt.Sprintf("The %s did not answer within %s", name, callTimeout),
			"Check the host and port in endpoint, and that no firewall drops the traffic between here and the store")
	}
	return fail(FieldEndpoint, fmt.Sprintf("Cannot reach %s", name),
		"Check endpoint, and that the store is running and reachable from where Terraform runs")
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// describe renders err briefly for the Details part of a CheckError: the operation and the
// store's answer, or the network error, without the SDK's request IDs.
func describe(err error) string {
	operation := "request"
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		operation = opErr.OperationName
	}
	if answer, ok := responseOf(err); ok {
		code, message := errorCodeAndMessage(err)
		text := fmt.Sprintf("%s answered HTTP %d", operation, answer.status)
		if code != "" {
			text += " " + code
		}
		if message != "" && message != code && message != http.StatusText(answer.status) {
			text += ": " + message
		}
		if answer.region != "" {
			text += fmt.Sprintf(" (x-amz-bucket-region: %s)", answer.region)
		}
		return text
	}
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return operation + ": no answer before the deadline"
	case errors.As(err, &urlErr):
		return operation + ": " + urlErr.Err.Error()
	}
	return err.Error()
}

func endpointName(loc Location) string {
	if loc.Endpoint == "" {
		return fmt.Sprintf("AWS S3 endpoint for region %q", loc.Region)
	}
	return fmt.Sprintf("endpoint %q", loc.Endpoint)
}

func endpointHost(loc Location) string {
	if u, err := url.Parse(loc.Endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return endpointName(loc)
}

func regionInMessage(message string) string {
	if match := expectedRegion.FindStringSubmatch(message); match != nil {
		return match[1]
	}
	return ""
}

func firstNonEmpty(values ...string) string {
	for _, value := range values {
		if value != "" {
			return value
		}
	}
	return ""
}

func containsFold(values []string, value string) bool {
	for _, candidate := range values {
		if strings.EqualFold(candidate, value) {
			return true
		}
	}
	return false
}
