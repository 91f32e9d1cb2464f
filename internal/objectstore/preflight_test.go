package objectstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	testBucket = "velero"
	testRegion = "us-east-1"
)

func testLocation(endpoint string) Location {
	return Location{
		Endpoint:        endpoint,
		Region:          testRegion,
		Bucket:          testBucket,
		Prefix:          "cluster-1",
		ForcePathStyle:  true,
		AccessKeyID:     "AKIAPREFLIGHTTEST",
		SecretAccessKey: "preflight-test-secret",
	}
}

func runPreflight(t *testing.T, loc Location) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Preflight(ctx, loc)
}

// requireCheck fails unless err is a *CheckError of check naming field.
func requireCheck(t *testing.T, err error, check, field string) {
	t.Helper()
	_ = requireCheckError(t, err, check, field)
}

// requireCheckError is requireCheck for a test that goes on to look into the *CheckError.
func requireCheckError(t *testing.T, err error, check, field string) *CheckError {
	t.Helper()
	var checkErr *CheckError
	if !errors.As(err, &checkErr) {
		t.Fatalf("want a *CheckError of check %q, got %T: %v", check, err, err)
	}
	if checkErr.Check != check || checkErr.Field != field {
		t.Fatalf("want check %q on field %q, got check %q on field %q: %v", check, field, checkErr.Check, checkErr.Field, err)
	}
	t.Log(err)
	return checkErr
}

func requireContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error should contain %q, got: %v", part, err)
		}
	}
}

func TestPreflightAcceptsVeleroLayout(t *testing.T) {
	fake, server := newFakeS3(t,
		"cluster-1/backups/nightly/velero-backup.json",
		"cluster-1/kopia/default/kopia.repository",
		"cluster-1/metadata/revision",
		"cluster-1/plugins/vsphere/x",
		"cluster-1/restic/default/config",
		"cluster-1/restores/nightly-1/restore-nightly-1-results.gz",
		"cluster-1/README.txt", // loose files do not bother Velero
		"cluster-2/foreign/x",  // outside the prefix
		"unrelated/x",
	)
	fake.pageSize = 2 // the listing takes several pages

	for _, prefix := range []string{"cluster-1", "/cluster-1/", "cluster-1/"} {
		loc := testLocation(server.URL)
		loc.Prefix = prefix
		if err := runPreflight(t, loc); err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
	}

	for _, r := range fake.recorded() {
		if r.Method != http.MethodHead && r.Method != http.MethodGet {
			t.Errorf("preflight must only read, it sent %s %s", r.Method, r.URL)
		}
		if r.URL.Path != "/"+testBucket {
			t.Errorf("want path-style requests to /%s, got %s", testBucket, r.URL.Path)
		}
		if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIAPREFLIGHTTEST/") || !strings.Contains(auth, "/"+testRegion+"/s3/aws4_request") {
			t.Errorf("want a SigV4 signature for the key and region, got Authorization %q", auth)
		}
		if r.Method == http.MethodGet {
			query := r.URL.Query()
			if query.Get("prefix") != "cluster-1/" || query.Get("delimiter") != "/" {
				t.Errorf("want listing of prefix %q with delimiter %q, got %s", "cluster-1/", "/", r.URL.RawQuery)
			}
		}
	}
}

func TestPreflightAcceptsEmptyAndMissingPrefix(t *testing.T) {
	_, server := newFakeS3(t)
	loc := testLocation(server.URL)
	loc.Prefix = "never-used"
	if err := runPreflight(t, loc); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightRejectsForeignFoldersUnderPrefix(t *testing.T) {
	_, server := newFakeS3(t,
		"cluster-1/backups/nightly/velero-backup.json",
		"cluster-1/data/dump.sql",
		"cluster-1/logs/app.log",
		"cluster-1/loose.txt",
	)
	err := runPreflight(t, testLocation(server.URL))
	checkErr := requireCheckError(t, err, CheckPrefix, FieldPrefix)
	if want := []string{"data/", "logs/"}; !reflect.DeepEqual(checkErr.Foreign, want) {
		t.Errorf("want foreign folders %q, got %q", want, checkErr.Foreign)
	}
	want := `Prefix "cluster-1" of bucket "velero" already holds folders that are not Velero's: "data/", "logs/". ` +
		"Velero marks a location Unavailable when its prefix holds folders other than backups/, kopia/, metadata/, plugins/, " +
		"restic/ and restores/ (loose files are fine): set prefix to a new or empty folder, or to one only Velero has used."
	if err.Error() != want {
		t.Errorf("want error\n%s\ngot\n%s", want, err)
	}
}

func TestPreflightListsAtMostTenForeignFolders(t *testing.T) {
	var keys []string
	for i := range 25 {
		keys = append(keys, "cluster-1/dir"+string(rune('a'+i))+"/x")
	}
	fake, server := newFakeS3(t, keys...)
	fake.pageSize = 3
	err := runPreflight(t, testLocation(server.URL))
	checkErr := requireCheckError(t, err, CheckPrefix, FieldPrefix)
	requireContains(t, err, `"dira/"`, `"dirj/"`, "and more")
	if strings.Contains(err.Error(), `"dirk/"`) {
		t.Errorf("error should name at most ten folders: %v", err)
	}
	// The listing stops once the error is certain instead of walking the whole prefix.
	if len(checkErr.Foreign) > 12 {
		t.Errorf("want the listing to stop early, it collected %d folders", len(checkErr.Foreign))
	}
}

// Velero lists the bucket root when the prefix is empty and, as under a prefix, only folders
// count: loose objects at the root are fine.
func TestPreflightBucketRoot(t *testing.T) {
	t.Run("only Velero's folders and loose files", func(t *testing.T) {
		_, server := newFakeS3(t, "backups/b/velero-backup.json", "kopia/x", "index.html")
		loc := testLocation(server.URL)
		loc.Prefix = ""
		if err := runPreflight(t, loc); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("foreign folder", func(t *testing.T) {
		_, server := newFakeS3(t, "backups/b/velero-backup.json", "website/index.html")
		loc := testLocation(server.URL)
		loc.Prefix = "/"
		err := runPreflight(t, loc)
		requireCheck(t, err, CheckPrefix, FieldPrefix)
		requireContains(t, err, `The root of bucket "velero" already holds folders that are not Velero's: "website/"`,
			"Without a prefix", `set prefix to a new folder, such as "velero"`)
	})
	t.Run("folder with an empty name", func(t *testing.T) {
		// "//x" lists as the folder "/", which Velero also rejects.
		_, server := newFakeS3(t, "//x")
		loc := testLocation(server.URL)
		loc.Prefix = ""
		requireCheck(t, runPreflight(t, loc), CheckPrefix, FieldPrefix)
	})
}

func TestPreflightFailures(t *testing.T) {
	bodyless403 := &fakeAnswer{status: http.StatusForbidden}
	bodyless400 := &fakeAnswer{status: http.StatusBadRequest}
	tests := []struct {
		name       string
		head, list *fakeAnswer
		bucket     string
		check      string
		field      string
		contains   []string
		// requests are the requests preflight should send, in order.
		requests []string
	}{
		{
			name:     "bad secret, MinIO",
			head:     bodyless403,
			list:     &fakeAnswer{status: http.StatusForbidden, code: "SignatureDoesNotMatch"},
			check:    CheckCredentials,
			field:    FieldSecretAccessKey,
			contains: []string{"secret_access_key is not the secret of the key in access_key_id", "ListObjectsV2 answered HTTP 403 SignatureDoesNotMatch"},
			requests: []string{"HEAD /velero", "GET /velero"},
		},
		{
			name:     "unknown access key, MinIO",
			head:     bodyless403,
			list:     &fakeAnswer{status: http.StatusForbidden, code: "InvalidAccessKeyId"},
			check:    CheckCredentials,
			field:    FieldAccessKeyID,
			contains: []string{"does not know the access key in access_key_id", "Set access_key_id and secret_access_key"},
		},
		{
			name:     "missing bucket, HEAD 404 without body",
			bucket:   "no-such-bucket",
			check:    CheckBucket,
			field:    FieldBucket,
			contains: []string{`Bucket "no-such-bucket" does not exist at endpoint`, "Create the bucket first", "HeadBucket answered HTTP 404 NotFound"},
			requests: []string{"HEAD /no-such-bucket"},
		},
		{
			name:     "missing bucket hidden behind a HEAD 403",
			head:     bodyless403,
			list:     &fakeAnswer{status: http.StatusNotFound, code: "NoSuchBucket"},
			check:    CheckBucket,
			field:    FieldBucket,
			contains: []string{"ListObjectsV2 answered HTTP 404 NoSuchBucket: The specified bucket does not exist"},
		},
		{
			name:     "access denied",
			head:     bodyless403,
			list:     &fakeAnswer{status: http.StatusForbidden, code: "AccessDenied"},
			check:    CheckAccess,
			field:    FieldAccessKeyID,
			contains: []string{`may not list bucket "velero" (access denied)`, "s3:ListBucket"},
		},
		{
			name:     "access denied without any body",
			head:     bodyless403,
			list:     &fakeAnswer{status: http.StatusForbidden, noBody: true},
			check:    CheckAccess,
			field:    FieldAccessKeyID,
			contains: []string{"did not say why", "ListObjectsV2 answered HTTP 403 Forbidden"},
		},
		{
			name:     "wrong region, AWS HEAD 301",
			head:     &fakeAnswer{status: http.StatusMovedPermanently, header: map[string]string{"x-amz-bucket-region": "eu-west-1"}},
			check:    CheckRegion,
			field:    FieldRegion,
			contains: []string{`Bucket "velero" is in region "eu-west-1", not "us-east-1"`, `Set region = "eu-west-1"`},
			requests: []string{"HEAD /velero"},
		},
		{
			name:     "wrong region, AWS HEAD 400",
			head:     &fakeAnswer{status: http.StatusBadRequest, header: map[string]string{"x-amz-bucket-region": "ap-south-1"}},
			check:    CheckRegion,
			field:    FieldRegion,
			contains: []string{`is in region "ap-south-1", not "us-east-1"`},
			requests: []string{"HEAD /velero"},
		},
		{
			name:     "wrong region, MinIO AuthorizationHeaderMalformed",
			head:     bodyless400,
			list:     &fakeAnswer{status: http.StatusBadRequest, code: "AuthorizationHeaderMalformed"},
			check:    CheckRegion,
			field:    FieldRegion,
			contains: []string{`is in region "eu-central-1", not "us-east-1"`},
		},
		{
			name: "wrong region, AWS PermanentRedirect",
			head: &fakeAnswer{status: http.StatusMovedPermanently},
			list: &fakeAnswer{status: http.StatusMovedPermanently, code: "PermanentRedirect",
				header: map[string]string{"x-amz-bucket-region": "us-west-2"}},
			check:    CheckRegion,
			field:    FieldRegion,
			contains: []string{`is in region "us-west-2"`},
		},
		{
			name:     "wrong region, store does not say which",
			head:     bodyless400,
			list:     &fakeAnswer{status: http.StatusBadRequest, code: "AuthorizationHeaderMalformed", message: "The authorization header is malformed."},
			check:    CheckRegion,
			field:    FieldRegion,
			contains: []string{`is not in region "us-east-1" (the store did not say which region it is in)`},
		},
		{
			name:     "proxy redirects to https",
			head:     &fakeAnswer{status: http.StatusMovedPermanently, header: map[string]string{"Location": "https://minio.example.com/velero"}},
			list:     &fakeAnswer{status: http.StatusMovedPermanently, header: map[string]string{"Location": "https://minio.example.com/velero"}, noBody: true},
			check:    CheckEndpoint,
			field:    FieldEndpoint,
			contains: []string{"redirects requests", `"https://minio.example.com/velero"`},
		},
		{
			name:     "server error, retried once only",
			head:     &fakeAnswer{status: http.StatusInternalServerError},
			list:     &fakeAnswer{status: http.StatusInternalServerError, code: "InternalError"},
			check:    CheckUnexpected,
			field:    FieldEndpoint,
			contains: []string{"answered a request for bucket \"velero\" with HTTP 500", "ListObjectsV2 answered HTTP 500 InternalError"},
			requests: []string{"HEAD /velero", "HEAD /velero", "GET /velero", "GET /velero"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, server := newFakeS3(t)
			fake.headAnswer, fake.listAnswer = tt.head, tt.list
			loc := testLocation(server.URL)
			if tt.bucket != "" {
				loc.Bucket = tt.bucket
			}
			err := runPreflight(t, loc)
			requireCheck(t, err, tt.check, tt.field)
			requireContains(t, err, tt.contains...)
			if strings.Contains(err.Error(), loc.SecretAccessKey) {
				t.Errorf("the error must not show the secret: %v", err)
			}
			if tt.requests != nil && !reflect.DeepEqual(fake.methods(), tt.requests) {
				t.Errorf("want requests %q, got %q", tt.requests, fake.methods())
			}
		})
	}
}

// Velero validates a location by listing it, never with HeadBucket: a store that refuses HEAD
// but allows listing is fine.
func TestPreflightToleratesRefusedHeadBucket(t *testing.T) {
	fake, server := newFakeS3(t, "cluster-1/backups/b/velero-backup.json")
	fake.headAnswer = &fakeAnswer{status: http.StatusForbidden}
	if err := runPreflight(t, testLocation(server.URL)); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightPrefixListingDenied(t *testing.T) {
	fake, server := newFakeS3(t)
	fake.listAnswer = &fakeAnswer{status: http.StatusForbidden, code: "AccessDenied"}
	err := runPreflight(t, testLocation(server.URL))
	requireCheck(t, err, CheckAccess, FieldAccessKeyID)
	requireContains(t, err, `may not list prefix "cluster-1" of bucket "velero"`)
}

func TestPreflightUnreachableEndpoint(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	listener.Close()

	started := time.Now()
	err = runPreflight(t, testLocation("http://"+address))
	requireCheck(t, err, CheckEndpoint, FieldEndpoint)
	requireContains(t, err, "Nothing accepts connections at "+address, "Check the host and port in endpoint", "connection refused")
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Errorf("a refused connection should fail fast, it took %s", elapsed)
	}
}

func TestPreflightEndpointTimeout(t *testing.T) {
	defer func(previous time.Duration) { callTimeout = previous }(callTimeout)
	callTimeout = 300 * time.Millisecond

	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer server.Close()
	defer close(release)

	err := runPreflight(t, testLocation(server.URL))
	requireCheck(t, err, CheckEndpoint, FieldEndpoint)
	requireContains(t, err, "did not answer within 300ms")
}

func TestPreflightTLS(t *testing.T) {
	fake := &fakeS3{bucket: testBucket, pageSize: 1000}
	server := httptest.NewUnstartedServer(fake)
	server.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point here
	var connections atomic.Int32
	server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			connections.Add(1)
		}
	}
	server.StartTLS()
	defer server.Close()
	serverCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})

	t.Run("unknown authority", func(t *testing.T) {
		err := runPreflight(t, testLocation(server.URL))
		requireCheck(t, err, CheckEndpoint, FieldCACert)
		requireContains(t, err, "signed by a CA this machine does not trust", "Set ca_cert")
		if n := connections.Load(); n != 1 {
			t.Errorf("a certificate that does not verify is not worth a retry, want 1 connection, got %d", n)
		}
	})
	t.Run("ca_cert trusts the store", func(t *testing.T) {
		loc := testLocation(server.URL)
		loc.CACertPEM = serverCA
		if err := runPreflight(t, loc); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ca_cert holds another CA", func(t *testing.T) {
		loc := testLocation(server.URL)
		loc.CACertPEM = otherCAPEM(t)
		err := runPreflight(t, loc)
		requireCheck(t, err, CheckEndpoint, FieldCACert)
		requireContains(t, err, "not signed by the CA in ca_cert")
	})
	t.Run("host not in the certificate", func(t *testing.T) {
		serverURL, _ := url.Parse(server.URL)
		loc := testLocation("https://localhost:" + serverURL.Port())
		loc.CACertPEM = serverCA
		err := runPreflight(t, loc)
		requireCheck(t, err, CheckEndpoint, FieldEndpoint)
		requireContains(t, err, `is not valid for host "localhost"`)
	})
	t.Run("https endpoint on a plain HTTP store", func(t *testing.T) {
		_, plain := newFakeS3(t)
		err := runPreflight(t, testLocation(strings.Replace(plain.URL, "http://", "https://", 1)))
		requireCheck(t, err, CheckEndpoint, FieldEndpoint)
		requireContains(t, err, "speaks plain HTTP, not HTTPS", "Use an http:// URL")
	})
}

func TestPreflightArguments(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Location)
		field    string
		contains string
	}{
		{"endpoint without scheme", func(l *Location) { l.Endpoint = "minio:9000" }, FieldEndpoint, "is not an http:// or https:// URL"},
		{"endpoint with path", func(l *Location) { l.Endpoint = "http://127.0.0.1:9000/velero" }, FieldEndpoint, "kopia uploader rejects"},
		{"no region", func(l *Location) { l.Region = "" }, FieldRegion, "No region is set"},
		{"no bucket", func(l *Location) { l.Bucket = "/" }, FieldBucket, "No bucket is set"},
		{"bucket with folder", func(l *Location) { l.Bucket = "velero/cluster-1" }, FieldBucket, `set bucket = "velero" and prefix = "cluster-1"`},
		{"no access key", func(l *Location) { l.AccessKeyID = "" }, FieldAccessKeyID, "No access_key_id is set"},
		{"no secret", func(l *Location) { l.SecretAccessKey = "" }, FieldSecretAccessKey, "No secret_access_key is set"},
		{"unknown checksum", func(l *Location) { l.ChecksumAlgorithm = "MD5" }, FieldChecksumAlgorithm, `"MD5" is not one Velero's aws plugin accepts`},
		{"ca_cert without PEM", func(l *Location) { l.CACertPEM = []byte("not a certificate") }, FieldCACert, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, server := newFakeS3(t)
			loc := testLocation(server.URL)
			tt.edit(&loc)
			err := runPreflight(t, loc)
			requireCheck(t, err, CheckArguments, tt.field)
			requireContains(t, err, tt.contains)
			if requests := fake.methods(); len(requests) != 0 {
				t.Errorf("invalid arguments must fail before any request, got %q", requests)
			}
		})
	}
}

func TestPreflightAcceptsEndpointWithTrailingSlashAndChecksum(t *testing.T) {
	_, server := newFakeS3(t)
	loc := testLocation(server.URL + "/")
	loc.ChecksumAlgorithm = "CRC32"
	if err := runPreflight(t, loc); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightInterrupted(t *testing.T) {
	_, server := newFakeS3(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Preflight(ctx, testLocation(server.URL))
	var checkErr *CheckError
	if errors.As(err, &checkErr) || !errors.Is(err, context.Canceled) {
		t.Fatalf("an interrupted preflight is no verdict on the bucket, want context.Canceled, got %v", err)
	}
}

// DNS failures cannot be produced against loopback, so the classification is checked on the
// error the SDK returns for them.
func TestClassifyDNSFailure(t *testing.T) {
	dnsFailure := func(host string) error {
		return &smithy.OperationError{ServiceID: "S3", OperationName: "HeadBucket", Err: &smithyhttp.RequestSendError{
			Err: &url.Error{Op: "Head", URL: "http://" + host + ":9000/", Err: &net.OpError{
				Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true},
			}},
		}}
	}
	loc := testLocation("http://minio.internal:9000")

	err := classify(loc, dnsFailure("minio.internal"), "", "bucket")
	requireCheck(t, err, CheckEndpoint, FieldEndpoint)
	requireContains(t, err, `Host "minio.internal" of endpoint "http://minio.internal:9000" does not resolve`, "HeadBucket: dial tcp: lookup minio.internal: no such host")

	loc.ForcePathStyle = false
	err = classify(loc, dnsFailure("velero.minio.internal"), "", "bucket")
	requireCheck(t, err, CheckEndpoint, FieldForcePathStyle)
	requireContains(t, err, "Set force_path_style = true")
}

func TestNewClientKeepsGivenHTTPClient(t *testing.T) {
	_, server := newFakeS3(t)
	var sent int
	httpClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return http.DefaultTransport.RoundTrip(r)
	})}
	client, err := NewClient(testLocation(server.URL), httpClient)
	if err != nil {
		t.Fatal(err)
	}
	if err := preflight(context.Background(), client, testLocation(server.URL)); err != nil {
		t.Fatal(err)
	}
	if sent == 0 {
		t.Error("the given HTTP client was not used")
	}

	loc := testLocation(server.URL)
	loc.CACertPEM = otherCAPEM(t)
	if _, err := NewClient(loc, httpClient); err == nil {
		t.Error("ca_cert with a client whose transport is not an *http.Transport should be an error")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// otherCAPEM returns a fresh self-signed CA that signed nothing the tests serve.
func otherCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "unrelated test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
