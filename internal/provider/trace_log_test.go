package provider

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
)

// requiredProviders makes the CLI resolve the provider through the stack's dev_overrides.
const requiredProviders = `
terraform {
  required_providers {
    styrmin = {
      source = "styrmin/styrmin"
    }
  }
}
`

// TestAccTraceLogHasNoSecret runs a full apply and destroy through the terraform CLI and the
// built provider binary (dev_overrides from the stack's CLI config) with TF_LOG=TRACE, then
// searches the whole log for the S3 secret in every form it could leak in.
func TestAccTraceLogHasNoSecret(t *testing.T) {
	sandboxtest.Require(t)
	terraformBin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if terraformBin == "" || os.Getenv("TF_CLI_CONFIG_FILE") == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH and TF_CLI_CONFIG_FILE come from .sandbox/env: run under make test")
	}
	secret := os.Getenv("SANDBOX_S3_SECRET_ACCESS_KEY")
	dir := t.TempDir()
	name := randomName("acc-bsl-trace")
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(requiredProviders+locationConfig(name, name, secretLine())), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "trace.log")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(terraformBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_LOG=TRACE", "TF_LOG_PATH="+logPath, "TF_IN_AUTOMATION=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if strings.Contains(string(out), secret) {
			t.Errorf("terraform %s printed the secret", args[0])
		}
	}
	run("apply", "-auto-approve", "-input=false", "-no-color")
	run("destroy", "-auto-approve", "-input=false", "-no-color")

	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	// The log must hold the provider's own request trace, or the search below proves nothing.
	if !strings.Contains(log, "/apis/velero.io/v1/namespaces/") || !strings.Contains(log, "/secrets") {
		t.Fatalf("the TRACE log (%d bytes) holds no Kubernetes request trace of the provider", len(raw))
	}
	for form, value := range map[string]string{
		"plain":  secret,
		"base64": base64.StdEncoding.EncodeToString([]byte(secret)),
		"ini":    "aws_secret_access_key=" + secret,
		"ini base64": base64.StdEncoding.EncodeToString(
			[]byte("[default]\naws_access_key_id=" + os.Getenv("SANDBOX_S3_ACCESS_KEY_ID") + "\naws_secret_access_key=" + secret + "\n")),
	} {
		if strings.Contains(log, value) {
			t.Errorf("the TRACE log contains the secret (%s form)", form)
		}
	}
}
