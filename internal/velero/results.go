package velero

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/objectstore"
)

// Velero keeps the reasons for a failed backup or restore in the bucket, not in the object's
// status (which holds counts only). These readers fetch them so an error can say what failed.

// Messages is one half of a results file (errors or warnings), in Velero's layout.
type Messages struct {
	Velero     []string            `json:"velero,omitempty"`
	Cluster    []string            `json:"cluster,omitempty"`
	Namespaces map[string][]string `json:"namespaces,omitempty"`
}

// Lines flattens the messages, each prefixed with where it belongs, in a stable order.
func (m Messages) Lines() []string {
	var lines []string
	for _, s := range m.Velero {
		lines = append(lines, "velero: "+s)
	}
	for _, s := range m.Cluster {
		lines = append(lines, "cluster: "+s)
	}
	namespaces := make([]string, 0, len(m.Namespaces))
	for ns := range m.Namespaces {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		for _, s := range m.Namespaces[ns] {
			lines = append(lines, "namespace "+ns+": "+s)
		}
	}
	return lines
}

// Results is a backup's or restore's results file.
type Results struct {
	Errors   Messages `json:"errors"`
	Warnings Messages `json:"warnings"`
}

// Object keys, relative to a location's prefix, of what Velero writes for a backup or restore.
func BackupResultsKey(backup string) string {
	return path.Join("backups", backup, backup+"-results.gz")
}
func BackupLogKey(backup string) string { return path.Join("backups", backup, backup+"-logs.gz") }
func RestoreResultsKey(restore string) string {
	return path.Join("restores", restore, "restore-"+restore+"-results.gz")
}
func RestoreLogKey(restore string) string {
	return path.Join("restores", restore, "restore-"+restore+"-logs.gz")
}

// Store is a location's bucket, opened once with the location's own credentials (the ones
// Velero uses) for reading several of its files.
type Store struct {
	client *s3.Client
	bucket string
	prefix string
}

// OpenStore reads the location and the credentials Velero uses for it (the server's own for a
// location without any) and makes an S3 client for its bucket.
func (l Locations) OpenStore(ctx context.Context, location string) (*Store, error) {
	settings, err := l.readerSettings(ctx, location)
	if err != nil {
		return nil, err
	}
	client, err := objectstore.NewClient(settings, nil)
	if err != nil {
		return nil, err
	}
	return &Store{client: client, bucket: settings.Bucket, prefix: strings.Trim(settings.Prefix, "/")}, nil
}

// CheckStore checks that the location's bucket can be read from here with the credentials Velero
// uses for it; the error (an *objectstore.CheckError when the store answered wrongly or not at
// all) names the endpoint.
func (l Locations) CheckStore(ctx context.Context, location string) error {
	settings, err := l.readerSettings(ctx, location)
	if err != nil {
		return err
	}
	return objectstore.Reachable(ctx, settings)
}

// readerSettings are the object store settings for reading a location's files.
func (l Locations) readerSettings(ctx context.Context, location string) (objectstore.Location, error) {
	loc, _, err := l.read(ctx, location, true)
	if err != nil {
		return objectstore.Location{}, fmt.Errorf("backup storage location %s: %w", location, err)
	}
	settings := loc.ObjectStore()
	// Reading Velero's files needs no checksums, whatever the location writes with: "" asks for
	// them only where an operation requires them.
	settings.ChecksumAlgorithm = ""
	return settings, nil
}

// Results reads a gzipped results file.
func (s *Store) Results(ctx context.Context, key string) (*Results, error) {
	body, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var r Results
	if err := json.NewDecoder(body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return &r, nil
}

// LogLines returns up to limit lines of a gzipped log that keep reports true for.
func (s *Store) LogLines(ctx context.Context, key string, keep func(string) bool, limit int) ([]string, error) {
	body, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var lines []string
	scanner := bufio.NewScanner(body)
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() && len(lines) < limit {
		if line := scanner.Text(); keep(line) {
			lines = append(lines, line)
		}
	}
	return lines, scanner.Err()
}

// BackupResourceListKey is the list of what a backup holds, by API version and kind
// ("v1/Pod": ["namespace/name", ...]).
func BackupResourceListKey(backup string) string {
	return path.Join("backups", backup, backup+"-resource-list.json.gz")
}

// ResourceList reads a backup's list of what it holds, by API version and kind.
func (s *Store) ResourceList(ctx context.Context, backup string) (map[string][]string, error) {
	body, err := s.open(ctx, BackupResourceListKey(backup))
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var list map[string][]string
	if err := json.NewDecoder(body).Decode(&list); err != nil {
		return nil, fmt.Errorf("decode %s: %w", BackupResourceListKey(backup), err)
	}
	return list, nil
}

// BackupMetadataKey and BackupContentsKey are the files Velero cannot restore a backup without.
func BackupMetadataKey(backup string) string {
	return path.Join("backups", backup, "velero-backup.json")
}
func BackupContentsKey(backup string) string { return path.Join("backups", backup, backup+".tar.gz") }

// MissingError is a file of Velero's that the bucket no longer holds: deleted outside Velero,
// or by a lifecycle rule of the bucket.
type MissingError struct {
	Bucket, Key string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("s3://%s/%s is gone from the bucket (deleted outside Velero, or by a lifecycle rule of the bucket)", e.Bucket, e.Key)
}

// Missing returns, of the given files, those the bucket does not hold, as *MissingError.
func (s *Store) Missing(ctx context.Context, keys ...string) ([]error, error) {
	var missing []error
	for _, key := range keys {
		full := s.key(key)
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(full)})
		switch {
		case isNotFound(err):
			missing = append(missing, &MissingError{Bucket: s.bucket, Key: full})
		case err != nil:
			return nil, fmt.Errorf("look for s3://%s/%s: %w", s.bucket, full, err)
		}
	}
	return missing, nil
}

func (s *Store) key(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// isNotFound reports S3's "no such key" (GET) or a bare 404 (HEAD has no body to name it).
func isNotFound(err error) bool {
	var noKey *s3types.NoSuchKey
	var notFound *s3types.NotFound
	return errors.As(err, &noKey) || errors.As(err, &notFound)
}

// open opens a gzipped object under the location's prefix.
func (s *Store) open(ctx context.Context, key string) (io.ReadCloser, error) {
	full := s.key(key)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(full)})
	if isNotFound(err) {
		return nil, &MissingError{Bucket: s.bucket, Key: full}
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.bucket, full, err)
	}
	gz, err := gzip.NewReader(out.Body)
	if err != nil {
		out.Body.Close()
		return nil, fmt.Errorf("read s3://%s/%s: %w", s.bucket, full, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{gz, out.Body}, nil
}
