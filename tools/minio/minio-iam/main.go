// Command minio-iam gives a MinIO user an access policy: it creates or updates the policy and the
// user, and attaches the one to the other. The local stack uses it for keys that may do less than
// the root key (the test environment's key reads production's prefix). MinIO's admin API encrypts
// user secrets with madmin's scheme, so plain signed S3 requests cannot do this.
//
// Usage: minio-iam -endpoint HOST:PORT -user NAME -policy-file FILE
// Environment: MINIO_ROOT_USER, MINIO_ROOT_PASSWORD (the admin key), MINIO_IAM_SECRET (the user's
// secret key; kept out of the command line).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/minio/madmin-go/v3"
)

func main() {
	endpoint := flag.String("endpoint", "", "MinIO's address, host:port (plain HTTP)")
	user := flag.String("user", "", "the user's access key")
	policyFile := flag.String("policy-file", "", "the user's IAM policy, JSON")
	flag.Parse()
	if err := run(*endpoint, *user, *policyFile); err != nil {
		fmt.Fprintln(os.Stderr, "minio-iam:", err)
		os.Exit(1)
	}
}

func run(endpoint, user, policyFile string) error {
	secret := os.Getenv("MINIO_IAM_SECRET")
	if endpoint == "" || user == "" || policyFile == "" || secret == "" {
		return fmt.Errorf("need -endpoint, -user, -policy-file and MINIO_IAM_SECRET")
	}
	policy, err := os.ReadFile(policyFile)
	if err != nil {
		return err
	}
	admin, err := madmin.New(endpoint, os.Getenv("MINIO_ROOT_USER"), os.Getenv("MINIO_ROOT_PASSWORD"), false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	policyName := user + "-policy"
	if err := admin.AddCannedPolicy(ctx, policyName, policy); err != nil {
		return fmt.Errorf("policy %s: %w", policyName, err)
	}
	if err := admin.AddUser(ctx, user, secret); err != nil {
		return fmt.Errorf("user %s: %w", user, err)
	}
	_, err = admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{policyName}, User: user})
	if err != nil && !strings.Contains(err.Error(), "already") {
		return fmt.Errorf("attach %s to %s: %w", policyName, user, err)
	}
	return nil
}
