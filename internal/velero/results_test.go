package velero

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
)

func TestStore(t *testing.T) {
	ctx := context.Background()
	results := `{"errors":{"velero":["pod volume backup failed"],"namespaces":{"shop":["b: hook failed"],"app":["a: timed out"]}},` +
		`"warnings":{"cluster":["ignored"]}}`
	log := strings.Join([]string{
		`level=info msg="running hook" pod=app/db-0`,
		`level=info msg="backing up item" pod=app/db-0`,
		`level=error msg="Error executing hook" pod=app/db-0`,
		`level=info msg="hook done" pod=app/db-1`,
	}, "\n")

	t.Run("Results reads the gzipped results file under the location's prefix with its credentials", func(t *testing.T) {
		bucket := newFakeBucket(t, map[string][]byte{"env/a/backups/b1/b1-results.gz": gzipped(t, results)})
		store := openFakeStore(t, bucket)
		got, err := store.Results(ctx, BackupResultsKey("b1"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"velero: pod volume backup failed", "namespace app: a: timed out", "namespace shop: b: hook failed"}
		if diff := cmp.Diff(want, got.Errors.Lines()); diff != "" {
			t.Errorf("error lines (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"cluster: ignored"}, got.Warnings.Lines()); diff != "" {
			t.Errorf("warning lines (-want +got):\n%s", diff)
		}
		// Path style, the location's prefix without its slashes, signed with the location's key.
		req := bucket.lastRequest(t)
		if req.path != "/backups/env/a/backups/b1/b1-results.gz" || !strings.Contains(req.auth, "Credential=AKID/") {
			t.Errorf("request = %s, Authorization %q", req.path, req.auth)
		}
	})

	t.Run("LogLines keeps the lines asked for, at most max", func(t *testing.T) {
		bucket := newFakeBucket(t, map[string][]byte{"env/a/restores/r1/restore-r1-logs.gz": gzipped(t, log)})
		store := openFakeStore(t, bucket)
		hooks := func(line string) bool { return strings.Contains(line, "hook") }
		got, err := store.LogLines(ctx, RestoreLogKey("r1"), hooks, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !strings.Contains(got[1], "Error executing hook") {
			t.Errorf("LogLines = %q", got)
		}
		got, err = store.LogLines(ctx, RestoreLogKey("r1"), hooks, 2)
		if err != nil || len(got) != 2 {
			t.Errorf("LogLines with max 2 = %q, %v", got, err)
		}
	})

	t.Run("a missing file names the object looked for", func(t *testing.T) {
		store := openFakeStore(t, newFakeBucket(t, nil))
		_, err := store.Results(ctx, RestoreResultsKey("r1"))
		kubetest.ErrorContains(t, err, "s3://backups/env/a/restores/r1/restore-r1-results.gz is gone from the bucket")
		var missing *MissingError
		if !errors.As(err, &missing) {
			t.Errorf("error %T, want *MissingError", err)
		}
	})

	t.Run("Missing names the files the bucket does not hold", func(t *testing.T) {
		store := openFakeStore(t, newFakeBucket(t, map[string][]byte{"env/a/backups/b1/velero-backup.json": []byte("{}")}))
		missing, err := store.Missing(ctx, BackupMetadataKey("b1"), BackupLogKey("b1"))
		if err != nil || len(missing) != 1 {
			t.Fatalf("Missing = %v, %v; want only the log", missing, err)
		}
		kubetest.ErrorContains(t, missing[0], "s3://backups/env/a/backups/b1/b1-logs.gz is gone from the bucket")
	})

	t.Run("a file that is not gzipped names the object", func(t *testing.T) {
		store := openFakeStore(t, newFakeBucket(t, map[string][]byte{"env/a/backups/b1/b1-logs.gz": []byte("plain text")}))
		_, err := store.LogLines(ctx, BackupLogKey("b1"), func(string) bool { return true }, 10)
		kubetest.ErrorContains(t, err, "read s3://backups/env/a/backups/b1/b1-logs.gz:", "gzip: invalid header")
	})

	t.Run("a results file that is not JSON names the key", func(t *testing.T) {
		store := openFakeStore(t, newFakeBucket(t, map[string][]byte{"env/a/backups/b1/b1-results.gz": gzipped(t, "<html>")}))
		_, err := store.Results(ctx, BackupResultsKey("b1"))
		kubetest.ErrorContains(t, err, "decode backups/b1/b1-results.gz:")
	})

	t.Run("OpenStore of a missing location names it", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		_, err := l.OpenStore(ctx, "nope")
		kubetest.ErrorContains(t, err, "backup storage location nope: not found")
	})
}

// --- helpers ---

// fakeBucket answers S3 path-style GetObject for one bucket: the object's bytes, or a
// NoSuchKey error as S3 sends it.
type fakeBucket struct {
	*httptest.Server
	objects map[string][]byte

	mu       sync.Mutex
	requests []fakeRequest
}

type fakeRequest struct{ path, auth string }

func newFakeBucket(t *testing.T, objects map[string][]byte) *fakeBucket {
	t.Helper()
	b := &fakeBucket{objects: objects}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.requests = append(b.requests, fakeRequest{path: r.URL.Path, auth: r.Header.Get("Authorization")})
		b.mu.Unlock()
		body, ok := b.objects[strings.TrimPrefix(r.URL.Path, "/backups/")]
		if r.Method == http.MethodHead && ok {
			return
		}
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/backups/") || !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *fakeBucket) lastRequest(t *testing.T) fakeRequest {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		t.Fatal("the bucket got no request")
	}
	return b.requests[len(b.requests)-1]
}

// openFakeStore creates a location for the fake bucket (prefix written with slashes, as a user
// might) and opens its store.
func openFakeStore(t *testing.T, bucket *fakeBucket) *Store {
	t.Helper()
	l, _, _ := newFakeLocations(t)
	if err := l.Create(context.Background(), Location{
		Name: "primary", Bucket: "backups", Prefix: "/env/a/", Region: "us-east-1", Endpoint: bucket.URL,
		ForcePathStyle: true, AccessKeyID: "AKID", SecretAccessKey: "SECRET",
	}); err != nil {
		t.Fatal(err)
	}
	store, err := l.OpenStore(context.Background(), "primary")
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
