package velero

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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

// BackupResults reads <prefix>/backups/<name>/<name>-results.gz from the location's bucket.
func (l Locations) BackupResults(ctx context.Context, location, backup string) (*Results, error) {
	return l.readResults(ctx, location, path.Join("backups", backup, backup+"-results.gz"))
}

// RestoreResults reads <prefix>/restores/<name>/restore-<name>-results.gz.
func (l Locations) RestoreResults(ctx context.Context, location, restore string) (*Results, error) {
	return l.readResults(ctx, location, path.Join("restores", restore, "restore-"+restore+"-results.gz"))
}

// BackupLogLines returns up to max lines of the backup's log that keep reports true for
// (hook output is logged there).
func (l Locations) BackupLogLines(ctx context.Context, location, backup string, keep func(string) bool, max int) ([]string, error) {
	return l.readLogLines(ctx, location, path.Join("backups", backup, backup+"-logs.gz"), keep, max)
}

// RestoreLogLines is BackupLogLines for a restore.
func (l Locations) RestoreLogLines(ctx context.Context, location, restore string, keep func(string) bool, max int) ([]string, error) {
	return l.readLogLines(ctx, location, path.Join("restores", restore, "restore-"+restore+"-logs.gz"), keep, max)
}

func (l Locations) readResults(ctx context.Context, location, key string) (*Results, error) {
	body, err := l.openObject(ctx, location, key)
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

func (l Locations) readLogLines(ctx context.Context, location, key string, keep func(string) bool, max int) ([]string, error) {
	body, err := l.openObject(ctx, location, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var lines []string
	scanner := bufio.NewScanner(body)
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() && len(lines) < max {
		if line := scanner.Text(); keep(line) {
			lines = append(lines, line)
		}
	}
	return lines, scanner.Err()
}

// openObject opens a gzipped object under the location's prefix with the location's own
// credentials (the ones Velero uses).
func (l Locations) openObject(ctx context.Context, location, key string) (io.ReadCloser, error) {
	loc, _, err := l.Read(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("backup storage location %s: %w", location, err)
	}
	client, err := objectstore.NewClient(objectstore.Location{
		Endpoint: loc.Endpoint, Region: loc.Region, Bucket: loc.Bucket, Prefix: loc.Prefix,
		ForcePathStyle: loc.ForcePathStyle, CACertPEM: []byte(loc.CACert),
		AccessKeyID: loc.AccessKeyID, SecretAccessKey: loc.SecretAccessKey,
	}, nil)
	if err != nil {
		return nil, err
	}
	full := key
	if p := strings.Trim(loc.Prefix, "/"); p != "" {
		full = p + "/" + key
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(full)})
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", loc.Bucket, full, err)
	}
	gz, err := gzip.NewReader(out.Body)
	if err != nil {
		out.Body.Close()
		return nil, fmt.Errorf("read s3://%s/%s: %w", loc.Bucket, full, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{gz, out.Body}, nil
}
