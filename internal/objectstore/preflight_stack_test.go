package objectstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
)

// These tests run Preflight against the local stack's MinIO, whose answers (bodyless 403 and 404
// to HEAD, XML errors to GET) are what the classification must get right. Without TF_ACC they skip
// (acctest.Gate); with it they fail when the stack's environment is missing.

// stackParent keeps everything these tests write under one top-level folder of the shared bucket.
const stackParent = "styrmin-preflight-test"

var stackEnv = []string{
	"SANDBOX_S3_ENDPOINT",
	"SANDBOX_S3_REGION",
	"SANDBOX_S3_BUCKET",
	"SANDBOX_S3_ACCESS_KEY_ID",
	"SANDBOX_S3_SECRET_ACCESS_KEY",
}

// stackLocation is the stack's bucket under a fresh prefix that nothing has used.
func stackLocation(t *testing.T) Location {
	t.Helper()
	acctest.Gate(t)
	var missing []string
	for _, name := range stackEnv {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("TF_ACC is set but these are not: %s. Run `make test`, or `make sandbox-up` then `. .sandbox/env`", strings.Join(missing, ", "))
	}
	return Location{
		Endpoint:        os.Getenv("SANDBOX_S3_ENDPOINT"),
		Region:          os.Getenv("SANDBOX_S3_REGION"),
		Bucket:          os.Getenv("SANDBOX_S3_BUCKET"),
		Prefix:          stackParent + "/" + randomName(t),
		ForcePathStyle:  true,
		AccessKeyID:     os.Getenv("SANDBOX_S3_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY"),
	}
}

func randomName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// putObjects writes empty objects under loc's prefix and removes them when the test ends.
func putObjects(t *testing.T, loc Location, names ...string) {
	t.Helper()
	client, err := NewClient(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range names {
		key := strings.Trim(loc.Prefix, "/") + "/" + name
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key)}); err != nil {
				t.Errorf("clean up %s: %v", key, err)
			}
		})
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: strings.NewReader(""),
		}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
}

func requireNoSecret(t *testing.T, err error, loc Location) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), loc.SecretAccessKey) {
		t.Errorf("the error must not show the secret: %v", err)
	}
}

func TestStackPreflightAcceptsFreshPrefix(t *testing.T) {
	loc := stackLocation(t)
	if err := runPreflight(t, loc); err != nil {
		t.Fatal(err)
	}
}

// Velero's own folders and loose files are fine, as they are for Velero.
func TestStackPreflightAcceptsVeleroFolders(t *testing.T) {
	loc := stackLocation(t)
	putObjects(t, loc, "backups/nightly/velero-backup.json", "kopia/default/kopia.repository", "notes.txt")
	if err := runPreflight(t, loc); err != nil {
		t.Fatal(err)
	}
}

func TestStackPreflightRejectsForeignFolder(t *testing.T) {
	loc := stackLocation(t)
	putObjects(t, loc, "backups/nightly/velero-backup.json", "foreign/object.txt", "notes.txt")
	err := runPreflight(t, loc)
	checkErr := requireCheckError(t, err, CheckPrefix, FieldPrefix)
	if want := []string{"foreign/"}; !reflect.DeepEqual(checkErr.Foreign, want) {
		t.Errorf("want foreign folders %q, got %q", want, checkErr.Foreign)
	}
	requireContains(t, err, `"foreign/"`, "Prefix \""+loc.Prefix+"\"")
}

func TestStackPreflightMissingBucket(t *testing.T) {
	loc := stackLocation(t)
	loc.Bucket = "styrmin-missing-" + randomName(t)
	err := runPreflight(t, loc)
	requireCheck(t, err, CheckBucket, FieldBucket)
	requireContains(t, err, `Bucket "`+loc.Bucket+`" does not exist`)
}

func TestStackPreflightBadSecret(t *testing.T) {
	loc := stackLocation(t)
	loc.SecretAccessKey += "-wrong"
	err := runPreflight(t, loc)
	requireCheck(t, err, CheckCredentials, FieldSecretAccessKey)
	requireNoSecret(t, err, loc)
}

func TestStackPreflightUnknownAccessKey(t *testing.T) {
	loc := stackLocation(t)
	loc.AccessKeyID = "styrmin-unknown-" + randomName(t)
	err := runPreflight(t, loc)
	requireCheck(t, err, CheckCredentials, FieldAccessKeyID)
	requireNoSecret(t, err, loc)
}

// A bad secret must be reported as such even for a bucket that does not exist: MinIO checks the
// signature first.
func TestStackPreflightBadSecretOnMissingBucket(t *testing.T) {
	loc := stackLocation(t)
	loc.Bucket = "styrmin-missing-" + randomName(t)
	loc.SecretAccessKey += "-wrong"
	requireCheck(t, runPreflight(t, loc), CheckCredentials, FieldSecretAccessKey)
}
