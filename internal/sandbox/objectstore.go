package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Credentials are generated once per stack and shared by MinIO (as its root user), Velero and
// the tests.
type S3Credentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

func (l Layout) s3Credentials() (S3Credentials, error) { return l.keyFile("s3.json", "sandbox") }

// keyFile reads the key kept in the stack's PKI directory under name, making one the first time.
func (l Layout) keyFile(name, user string) (S3Credentials, error) {
	file := filepath.Join(l.PKIDir(), name)
	var c S3Credentials
	if data, err := os.ReadFile(file); err == nil {
		return c, json.Unmarshal(data, &c)
	}
	c = S3Credentials{AccessKeyID: user + randomHex(6), SecretAccessKey: randomHex(20)}
	data, _ := json.Marshal(c)
	return c, os.WriteFile(file, data, 0o600)
}

// AWSIni is the credentials file format Velero's AWS plugin reads.
func (c S3Credentials) AWSIni() string {
	return fmt.Sprintf("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n", c.AccessKeyID, c.SecretAccessKey)
}

// S3Endpoint is reachable from the host and from pods (both sit on the bridge).
func S3Endpoint() string { return fmt.Sprintf("http://%s:%d", BridgeAddress, MinIOPort) }

func (l Layout) minio(bins Binaries, creds S3Credentials) daemon {
	return daemon{Name: "minio", Path: bins.Path("minio"),
		Args: []string{"server", "--quiet", "--address", fmt.Sprintf("%s:%d", BridgeAddress, MinIOPort), l.state("minio")},
		Env: []string{
			"MINIO_ROOT_USER=" + creds.AccessKeyID,
			"MINIO_ROOT_PASSWORD=" + creds.SecretAccessKey,
			"MINIO_BROWSER=off", // no console listener
			"MINIO_UPDATE=off",
			"MINIO_CALLHOME_ENABLE=off",
		}}
}

// S3Client returns a path-style client for the stack's MinIO.
func S3Client(creds S3Credentials) *s3.Client {
	return s3.New(s3.Options{
		Region:       S3Region,
		BaseEndpoint: aws.String(S3Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
}

func (l Layout) startObjectStore(ctx context.Context, bins Binaries, creds S3Credentials) error {
	if err := os.MkdirAll(l.state("minio"), 0o700); err != nil {
		return err
	}
	if err := l.startAndWait(ctx, l.minio(bins, creds), S3Endpoint()+"/minio/health/live", time.Minute, nil); err != nil {
		return err
	}
	client := S3Client(creds)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(S3Bucket)}); err == nil {
		return nil
	}
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(S3Bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return l.componentError("minio", "cannot create bucket "+S3Bucket+": "+err.Error())
	}
	return nil
}

// BucketBytes is the size of everything the stack's bucket holds under prefix.
func (l Layout) BucketBytes(ctx context.Context, prefix string) (int64, error) {
	creds, err := l.s3Credentials()
	if err != nil {
		return 0, err
	}
	var total int64
	pages := s3.NewListObjectsV2Paginator(S3Client(creds), &s3.ListObjectsV2Input{Bucket: aws.String(S3Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, o := range page.Contents {
			total += aws.ToInt64(o.Size)
		}
	}
	return total, nil
}

// UploadProbe uploads mb megabytes of random bytes to the bucket in one object, deletes it, and
// returns the throughput in MB/s: the most an upload of a backup can reach on this machine.
func (l Layout) UploadProbe(ctx context.Context, mb int) (float64, error) {
	creds, err := l.s3Credentials()
	if err != nil {
		return 0, err
	}
	data := make([]byte, mb<<20)
	if _, err := rand.Read(data); err != nil {
		return 0, err
	}
	client := S3Client(creds)
	key := aws.String("upload-probe/" + randomHex(8))
	start := time.Now()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(S3Bucket), Key: key, Body: bytes.NewReader(data)}); err != nil {
		return 0, err
	}
	took := time.Since(start)
	_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(S3Bucket), Key: key})
	return float64(mb) / took.Seconds(), err
}
