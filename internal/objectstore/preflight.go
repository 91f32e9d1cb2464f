package objectstore

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// veleroDirs are the top-level folders Velero keeps under a location's prefix
// (pkg/persistence/object_store_layout.go). Its validation lists the folders under the prefix
// and marks the location Unavailable when any other folder is there; loose files are ignored.
var veleroDirs = map[string]bool{
	"backups":  true,
	"kopia":    true,
	"metadata": true,
	"plugins":  true,
	"restic":   true,
	"restores": true,
}

const veleroDirList = "backups/, kopia/, metadata/, plugins/, restic/ and restores/"

// maxForeignListed bounds how many foreign folders an error names (and how far the listing goes).
const maxForeignListed = 10

// Preflight checks, before a backup storage location is created, that Velero will find the
// bucket usable: the endpoint answers, the credentials are accepted, the bucket exists and may
// be listed, the region is right, and the prefix holds nothing but Velero's own folders. It only
// reads (HeadBucket, ListObjectsV2). A failed check returns a *CheckError; an interrupted
// ctx returns an error wrapping ctx.Err().
func Preflight(ctx context.Context, loc Location) error {
	client, err := NewClient(loc, nil)
	if err != nil {
		return err
	}
	return preflight(ctx, client, loc)
}

// Reachable checks what using an existing location needs from here: the endpoint answers, the
// credentials are accepted and the bucket may be listed. A failed check returns a *CheckError.
func Reachable(ctx context.Context, loc Location) error {
	client, err := NewClient(loc, nil)
	if err != nil {
		return err
	}
	return bucketCheck{client: client, loc: loc, bucket: strings.Trim(loc.Bucket, "/"), root: rootPrefix(loc.Prefix)}.bucketUsable(ctx)
}

func preflight(ctx context.Context, client *s3.Client, loc Location) error {
	check := bucketCheck{client: client, loc: loc, bucket: strings.Trim(loc.Bucket, "/"), root: rootPrefix(loc.Prefix)}
	if err := check.bucketUsable(ctx); err != nil {
		return err
	}
	return check.prefixOwnedByVelero(ctx)
}

// rootPrefix is the key prefix Velero lists: the prefix without surrounding slashes, plus one
// trailing slash unless it is the bucket root.
func rootPrefix(prefix string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return ""
	}
	return prefix + "/"
}

type bucketCheck struct {
	client *s3.Client
	loc    Location
	bucket string
	root   string
}

// bucketUsable covers every check but the prefix one with HeadBucket, and falls back to a
// one-key ListObjectsV2 when the HEAD answer alone cannot tell what is wrong.
func (c bucketCheck) bucketUsable(ctx context.Context) error {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	_, headErr := c.client.HeadBucket(callCtx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)})
	cancel()
	if headErr == nil {
		return nil
	}
	if ctx.Err() != nil {
		return interrupted(ctx, c.bucket)
	}
	// No answer at all, a missing bucket, or an answer naming another region is clear as is.
	head, answered := responseOf(headErr)
	if !answered || head.status == http.StatusNotFound ||
		(head.redirectOrBadRequest() && head.region != "" && head.region != c.loc.Region) {
		return classify(c.loc, headErr, "", c.bucketTarget())
	}

	// A HEAD answer has no body, so a 400 or 403 does not say why (MinIO and AWS answer a bad
	// secret, an unknown key and a missing permission alike). The XML error of a GET does.
	callCtx, cancel = context.WithTimeout(ctx, callTimeout)
	_, listErr := c.client.ListObjectsV2(callCtx, &s3.ListObjectsV2Input{
		Bucket: aws.String(c.bucket), Prefix: aws.String(c.root), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1),
	})
	cancel()
	switch {
	case listErr == nil:
		// Velero never calls HeadBucket: if listing works, so does its validation.
		return nil
	case ctx.Err() != nil:
		return interrupted(ctx, c.bucket)
	}
	if _, ok := responseOf(listErr); !ok {
		return classify(c.loc, headErr, "", c.bucketTarget())
	}
	return classify(c.loc, listErr, head.region, c.bucketTarget())
}

// prefixOwnedByVelero mirrors Velero's BackupStore.IsValid: every folder directly under the
// prefix (or the bucket root) must be one of Velero's.
func (c bucketCheck) prefixOwnedByVelero(ctx context.Context) error {
	pages := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(c.bucket), Prefix: aws.String(c.root), Delimiter: aws.String("/"),
	})
	var foreign []string
	for pages.HasMorePages() && len(foreign) <= maxForeignListed {
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		page, err := pages.NextPage(callCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx, c.bucket)
			}
			return classify(c.loc, err, "", c.prefixTarget())
		}
		for _, common := range page.CommonPrefixes {
			dir := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(common.Prefix), c.root), "/")
			if !veleroDirs[dir] {
				foreign = append(foreign, dir+"/")
			}
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	return c.foreignFolders(foreign)
}

func (c bucketCheck) foreignFolders(foreign []string) *CheckError {
	quoted := make([]string, 0, maxForeignListed)
	for i, dir := range foreign {
		if i == maxForeignListed {
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q", dir))
	}
	listed := strings.Join(quoted, ", ")
	if len(foreign) > maxForeignListed {
		listed += " and more"
	}
	err := &CheckError{Check: CheckPrefix, Field: FieldPrefix, Foreign: foreign}
	if c.root == "" {
		err.Problem = fmt.Sprintf("The root of bucket %q already holds folders that are not Velero's: %s", c.bucket, listed)
		err.Fix = "Without a prefix, Velero needs the bucket root to hold no folders other than " + veleroDirList +
			" (loose files are fine) and marks the location Unavailable otherwise: set prefix to a new folder, " +
			`such as "velero", or use an empty bucket`
		return err
	}
	err.Problem = fmt.Sprintf("Prefix %q of bucket %q already holds folders that are not Velero's: %s",
		strings.TrimSuffix(c.root, "/"), c.bucket, listed)
	err.Fix = "Velero marks a location Unavailable when its prefix holds folders other than " + veleroDirList +
		" (loose files are fine): set prefix to a new or empty folder, or to one only Velero has used"
	return err
}

func (c bucketCheck) bucketTarget() string { return fmt.Sprintf("bucket %q", c.bucket) }

func (c bucketCheck) prefixTarget() string {
	if c.root == "" {
		return fmt.Sprintf("the root of bucket %q", c.bucket)
	}
	return fmt.Sprintf("prefix %q of bucket %q", strings.TrimSuffix(c.root, "/"), c.bucket)
}

func interrupted(ctx context.Context, bucket string) error {
	return fmt.Errorf("checking bucket %q was interrupted: %w", bucket, ctx.Err())
}
