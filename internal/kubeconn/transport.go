package kubeconn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

const (
	// maxCapturedBody bounds how much of a body is held in memory for
	// logging; larger bodies are passed through untouched and not logged,
	// since they cannot be parsed for Secret data.
	maxCapturedBody = 1 << 20
	// maxLoggedBody bounds a body in the log after redaction.
	maxLoggedBody = 64 << 10
)

// Log messages of the logging transport.
const (
	MessageRequest  = "Sending Kubernetes API request"
	MessageResponse = "Received Kubernetes API response"
	MessageFailure  = "Kubernetes API request failed"
)

// LogFunc writes one log entry, e.g. tflog.Trace or a tflog subsystem.
type LogFunc func(ctx context.Context, msg string, fields map[string]any)

// WrapTransport returns a rest.Config.WrapTransport function that logs every
// request and response through log, with secrets masked: Authorization and
// similar headers, the data and stringData of Secrets in JSON bodies, and
// everything registered with redactor (which may be nil).
//
// Request entries carry method, url, request_headers and request_body;
// response entries method, url, status_code, duration_ms and response_body;
// failures method, url, duration_ms and error. Streams (watches, log
// follows, upgrades) are passed through without logging their bodies.
//
// Parsing bodies costs time: install the transport only when TRACE logging is
// enabled.
func WrapTransport(log LogFunc, redactor *Redactor) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return &loggingTransport{next: next, log: log, redactor: redactor}
	}
}

type loggingTransport struct {
	next     http.RoundTripper
	log      LogFunc
	redactor *Redactor
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	secretsEndpoint := isSecretsEndpoint(req.URL)
	redactedURL := t.redactor.Redact(req.URL.String())

	req, requestBody, err := captureRequestBody(req)
	if err != nil {
		return nil, err
	}
	requestFields := map[string]any{
		"method":          req.Method,
		"url":             redactedURL,
		"request_headers": t.redactHeaders(req.Header),
	}
	if requestBody != nil {
		requestFields["request_body"] = t.formatBody(requestBody, req.Header.Get("Content-Type"), secretsEndpoint)
	}
	t.log(ctx, MessageRequest, requestFields)

	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	duration := time.Since(start)
	if err != nil {
		t.log(ctx, MessageFailure, map[string]any{
			"method":      req.Method,
			"url":         redactedURL,
			"duration_ms": duration.Milliseconds(),
			"error":       t.redactor.Redact(err.Error()),
		})
		return nil, err
	}

	responseFields := map[string]any{
		"method":      req.Method,
		"url":         redactedURL,
		"status_code": resp.StatusCode,
		"duration_ms": duration.Milliseconds(),
	}
	if isStream(req, resp) {
		responseFields["response_body"] = "(stream, not logged)"
	} else if responseBody := captureResponseBody(resp); len(responseBody) > 0 {
		responseFields["response_body"] = t.formatBody(responseBody, resp.Header.Get("Content-Type"), secretsEndpoint)
	}
	t.log(ctx, MessageResponse, responseFields)
	return resp, nil
}

// captureRequestBody returns up to maxCapturedBody+1 bytes of the request
// body, and a request that still sends the whole body. It never changes the
// caller's request, as RoundTrip must not.
func captureRequestBody(req *http.Request) (*http.Request, []byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil, nil
	}
	if req.GetBody != nil {
		// client-go bodies are replayable: read a copy, leave the original.
		body, err := req.GetBody()
		if err != nil {
			return req, nil, nil
		}
		defer body.Close()
		captured, _ := io.ReadAll(io.LimitReader(body, maxCapturedBody+1))
		return req, captured, nil
	}

	captured, err := io.ReadAll(io.LimitReader(req.Body, maxCapturedBody+1))
	if err != nil {
		req.Body.Close()
		return nil, nil, err
	}
	clone := req.Clone(req.Context())
	clone.Body = replayBody(captured, req.Body, nil)
	return clone, captured, nil
}

// captureResponseBody reads up to maxCapturedBody+1 bytes of the response
// body and puts them back in front of the rest, so the caller sees the body
// unchanged, read errors included.
func captureResponseBody(resp *http.Response) []byte {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	captured, err := io.ReadAll(io.LimitReader(resp.Body, maxCapturedBody+1))
	resp.Body = replayBody(captured, resp.Body, err)
	return captured
}

type replayedBody struct {
	io.Reader
	io.Closer
}

func replayBody(captured []byte, rest io.ReadCloser, readErr error) io.ReadCloser {
	tail := io.Reader(rest)
	if readErr != nil {
		tail = errorReader{readErr}
	}
	return replayedBody{Reader: io.MultiReader(bytes.NewReader(captured), tail), Closer: rest}
}

type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// isStream reports whether the response body may never end, so reading it
// ahead of the caller would block.
func isStream(req *http.Request, resp *http.Response) bool {
	query := req.URL.Query()
	return resp.StatusCode == http.StatusSwitchingProtocols ||
		req.Header.Get("Upgrade") != "" ||
		query.Get("watch") == "true" || query.Get("watch") == "1" ||
		query.Get("follow") == "true" ||
		strings.Contains(resp.Header.Get("Content-Type"), "stream=watch")
}

func (t *loggingTransport) formatBody(body []byte, contentType string, secretsEndpoint bool) string {
	if len(body) > maxCapturedBody {
		return fmt.Sprintf("(more than %d bytes, not logged)", maxCapturedBody)
	}
	if masked, ok := redactSecretData(body, secretsEndpoint); ok {
		return truncate(t.redactor.Redact(string(masked)))
	}
	if secretsEndpoint {
		// Protobuf or YAML Secret data cannot be masked field by field.
		return fmt.Sprintf("(%d bytes of %q on a secrets endpoint, not logged)", len(body), contentType)
	}
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		return fmt.Sprintf("(%d bytes of %q, not logged)", len(body), contentType)
	}
	return truncate(t.redactor.Redact(string(body)))
}

func truncate(s string) string {
	if len(s) <= maxLoggedBody {
		return s
	}
	cut := maxLoggedBody
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in total)", s[:cut], len(s))
}

// credentialHeaders are masked whole; only an auth scheme stays visible.
var credentialHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
}

func (t *loggingTransport) redactHeaders(header http.Header) map[string]string {
	redacted := make(map[string]string, len(header))
	for name, values := range header {
		value := strings.Join(values, ", ")
		if credentialHeaders[http.CanonicalHeaderKey(name)] {
			// "Bearer ***" still tells which kind of credential was sent.
			scheme, _, hasScheme := strings.Cut(value, " ")
			if hasScheme && (scheme == "Bearer" || scheme == "Basic") {
				value = scheme + " " + Mask
			} else {
				value = Mask
			}
		}
		redacted[name] = t.redactor.Redact(value)
	}
	return redacted
}

// SilenceKlog discards everything client-go logs through klog. klog writes
// to stderr by itself, past the provider's log masking and into Terraform's
// output. Call it once at startup, before any client is created: klog's
// logger setting is not safe for concurrent use.
func SilenceKlog() {
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	// Without a logger, klog still copies errors to stderr (-stderrthreshold).
	klog.SetLogger(logr.Discard())
}
