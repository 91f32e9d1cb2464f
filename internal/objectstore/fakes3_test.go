package objectstore

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeS3 answers HeadBucket and ListObjectsV2 (path style) the way MinIO and AWS do: a HEAD
// error has a status and headers but no body, a GET error has an XML <Error> body. Answers can
// be forced per method to play a failure.
type fakeS3 struct {
	bucket string
	keys   []string
	// pageSize is how many keys and folders one ListObjectsV2 page holds, to exercise paging.
	pageSize int
	// headAnswer and listAnswer, when set, replace the normal answer to HEAD and GET.
	headAnswer *fakeAnswer
	listAnswer *fakeAnswer

	mu       sync.Mutex
	requests []*http.Request
}

type fakeAnswer struct {
	status int
	header map[string]string
	code   string
	// message defaults to a text like the one MinIO sends for code.
	message string
	// noBody sends the status without an XML body, as a proxy or a bare 403 would.
	noBody bool
}

var minioMessages = map[string]string{
	"SignatureDoesNotMatch":        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
	"InvalidAccessKeyId":           "The Access Key Id you provided does not exist in our records.",
	"NoSuchBucket":                 "The specified bucket does not exist",
	"AccessDenied":                 "Access Denied.",
	"AuthorizationHeaderMalformed": "The authorization header is malformed; the region is wrong; expecting 'eu-central-1'.",
	"PermanentRedirect":            "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
	"InternalError":                "We encountered an internal error, please try again.",
}

func newFakeS3(t *testing.T, keys ...string) (*fakeS3, *httptest.Server) {
	t.Helper()
	fake := &fakeS3{bucket: testBucket, keys: keys, pageSize: 1000}
	server := httptest.NewServer(fake)
	t.Cleanup(server.Close)
	return fake, server
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(r.Context()))
	headAnswer, listAnswer := f.headAnswer, f.listAnswer
	f.mu.Unlock()

	w.Header().Set("Server", "MinIO")
	bucket := strings.Trim(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodHead && headAnswer != nil:
		f.answer(w, r, *headAnswer)
	case r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" && listAnswer != nil:
		f.answer(w, r, *listAnswer)
	case bucket != f.bucket:
		f.answer(w, r, fakeAnswer{status: http.StatusNotFound, code: "NoSuchBucket"})
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		f.list(w, r)
	default:
		f.answer(w, r, fakeAnswer{status: http.StatusNotImplemented, code: "NotImplemented", message: "the fake only lists"})
	}
}

func (f *fakeS3) answer(w http.ResponseWriter, r *http.Request, a fakeAnswer) {
	for name, value := range a.header {
		w.Header().Set(name, value)
	}
	if r.Method == http.MethodHead || a.noBody {
		w.WriteHeader(a.status)
		return
	}
	message := a.message
	if message == "" {
		message = minioMessages[a.code]
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(a.status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><BucketName>%s</BucketName><Resource>%s</Resource><RequestId>1853F4B1E2B6C0A1</RequestId><HostId>dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8</HostId></Error>`,
		a.code, xmlEscape(message), xmlEscape(strings.Trim(r.URL.Path, "/")), xmlEscape(r.URL.Path))
}

// list implements ListObjectsV2 with prefix, delimiter and continuation tokens.
func (f *fakeS3) list(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	prefix, delimiter := query.Get("prefix"), query.Get("delimiter")
	pageSize := f.pageSize
	if maxKeys, err := strconv.Atoi(query.Get("max-keys")); err == nil && maxKeys < pageSize {
		pageSize = maxKeys
	}

	type entry struct {
		name   string
		folder bool
	}
	var entries []entry
	seen := map[string]bool{}
	keys := append([]string(nil), f.keys...)
	sort.Strings(keys)
	for _, key := range keys {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		rest := strings.TrimPrefix(key, prefix)
		if i := strings.Index(rest, delimiter); delimiter != "" && i >= 0 {
			folder := prefix + rest[:i+len(delimiter)]
			if !seen[folder] {
				seen[folder] = true
				entries = append(entries, entry{name: folder, folder: true})
			}
			continue
		}
		entries = append(entries, entry{name: key})
	}

	start, _ := strconv.Atoi(query.Get("continuation-token"))
	end := min(start+pageSize, len(entries))
	var body strings.Builder
	fmt.Fprintf(&body, `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys><Delimiter>%s</Delimiter><IsTruncated>%t</IsTruncated>`,
		f.bucket, xmlEscape(prefix), end-start, pageSize, xmlEscape(delimiter), end < len(entries))
	if end < len(entries) {
		fmt.Fprintf(&body, "<NextContinuationToken>%d</NextContinuationToken>", end)
	}
	for _, e := range entries[start:end] {
		if e.folder {
			fmt.Fprintf(&body, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>", xmlEscape(e.name))
		} else {
			fmt.Fprintf(&body, `<Contents><Key>%s</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>`, xmlEscape(e.name))
		}
	}
	body.WriteString("</ListBucketResult>")
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(body.String()))
}

func (f *fakeS3) recorded() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

// methods lists the requests as "METHOD path", in order.
func (f *fakeS3) methods() []string {
	var out []string
	for _, r := range f.recorded() {
		out = append(out, r.Method+" "+r.URL.Path)
	}
	return out
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
