package provider

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
)

// Every schema validator of the provider, its resources and its data source, at plan time: each
// case is a configuration with one bad argument, run through the terraform CLI against the
// in-process provider, and the error it must stop with.
//
// Nothing is created: Terraform validates the whole configuration before it configures the
// provider, and an unconfigured provider has no client, so it cannot reach a cluster or a bucket.
// Each case asserts exactly that: the provider was never configured.

// badInput is a configuration with one bad argument and the error it must stop with.
type badInput struct {
	name   string
	config string
	// want are the parts of the error, in order. Terraform wraps its output at spaces, so a
	// space here matches any run of white space.
	want []string
}

func TestValidators_provider(t *testing.T) {
	// Terraform validates a provider's configuration only where something uses the provider.
	const user = `data "styrmin_driver_spec" "app" { content = "metadata: {name: app}" }`
	providerBlock := configOf(`provider "styrmin"`, map[string]string{"config_path": `"kubeconfig"`})
	provider := func(overrides ...string) string { return providerBlock(overrides...) + user }
	testBadInputs(t, []badInput{
		{"velero_namespace upper case", provider("velero_namespace", `"Velero"`),
			[]string{`velero_namespace = "Velero" is not a Kubernetes namespace name`, "lower case alphanumeric characters or '-'"}},
		{"velero_namespace ends with '-'", provider("velero_namespace", `"velero-"`),
			[]string{`velero_namespace = "velero-" is not a Kubernetes namespace name`, "must start and end with an alphanumeric character"}},
		{"velero_namespace too long", provider("velero_namespace", quoted(strings.Repeat("v", 64))),
			[]string{"is not a Kubernetes namespace name", "must be no more than 63 characters"}},
		{"qps zero", provider("qps", "0"), []string{`qps = 0: write a number of requests per second above 0`}},
		{"qps negative", provider("qps", "-1.5"), []string{`qps = -1.5: write a number of requests per second above 0`}},
		{"burst zero", provider("burst", "0"), []string{`Attribute burst value must be at least 1, got: 0`}},
		{"two exec blocks", `
provider "styrmin" {
  host = "https://k8s.example:6443"
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = "aws"
  }
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = "gcloud"
  }
}
` + user, []string{"Attribute exec list must contain at most 1 elements, got: 2"}},
	})
}

func TestValidators_backupLocation(t *testing.T) {
	location := configOf(`resource "styrmin_backup_location" "test"`, map[string]string{
		"name": `"prod"`, "bucket": `"backups"`, "region": `"us-east-1"`,
		"access_key_id": `"AKIAEXAMPLE"`, "secret_access_key": `"example-secret"`,
	})
	writeOnly := func(overrides ...string) string {
		return location(append([]string{"secret_access_key", "", "secret_access_key_wo", `"example-secret"`, "secret_access_key_wo_version", "1"}, overrides...)...)
	}
	nameRule := "must be lower-case letters, digits and '-', starting and ending with a letter or digit"
	endpointRule := "Attribute endpoint must be http:// or https:// followed by a host (and port), without a path"
	testBadInputs(t, []badInput{
		{"name empty", location("name", `""`), []string{"Attribute name string length must be between 1 and 63, got: 0"}},
		{"name too long", location("name", quoted(strings.Repeat("p", 64))), []string{"Attribute name string length must be between 1 and 63, got: 64"}},
		{"name upper case and '_'", location("name", `"Prod_1"`), []string{"Attribute name " + nameRule + ", got: Prod_1"}},
		{"name starts with '-'", location("name", `"-prod"`), []string{"Attribute name " + nameRule + ", got: -prod"}},
		{"bucket empty", location("bucket", `""`), []string{"Attribute bucket string length must be at least 1, got: 0"}},
		{"bucket with folder", location("bucket", `"backups/prod"`), []string{"Attribute bucket must not contain '/': put the folder in prefix"}},
		{"prefix starts with '/'", location("prefix", `"/prod"`), []string{"Attribute prefix must not start or end with '/', got: /prod"}},
		{"prefix ends with '/'", location("prefix", `"prod/"`), []string{"Attribute prefix must not start or end with '/', got: prod/"}},
		{"region empty", location("region", `""`), []string{"Attribute region string length must be at least 1, got: 0"}},
		{"endpoint without scheme", location("endpoint", `"s3.example.com"`), []string{endpointRule}},
		{"endpoint with path", location("endpoint", `"https://s3.example.com/backups"`), []string{endpointRule}},
		{"endpoint ftp", location("endpoint", `"ftp://s3.example.com"`), []string{endpointRule}},
		{"checksum_algorithm unknown", location("checksum_algorithm", `"MD5"`),
			[]string{`Attribute checksum_algorithm value must be one of: ["" "CRC32" "CRC32C" "SHA1" "SHA256"], got: "MD5"`}},
		{"access_key_id empty", location("access_key_id", `""`), []string{"Attribute access_key_id string length must be at least 1, got: 0"}},
		{"access_key_id with newline", location("access_key_id", `"AKIAEXAMPLE\n"`), lineBreak("access_key_id")},
		{"access_key_id with carriage return", location("access_key_id", `"AKIA\rEXAMPLE"`), lineBreak("access_key_id")},
		{"secret_access_key empty", location("secret_access_key", `""`), []string{"Attribute secret_access_key string length must be at least 1, got: 0"}},
		{"secret_access_key with newline", location("secret_access_key", `"example-secret\n"`), lineBreak("secret_access_key")},
		{"secret_access_key_wo empty", writeOnly("secret_access_key_wo", `""`), []string{"Attribute secret_access_key_wo string length must be at least 1, got: 0"}},
		{"secret_access_key_wo with newline", writeOnly("secret_access_key_wo", `"example-secret\r\n"`), lineBreak("secret_access_key_wo")},
		{"secret_access_key_wo without its version", writeOnly("secret_access_key_wo_version", ""),
			[]string{`Attribute "secret_access_key_wo_version" must be specified when "secret_access_key_wo" is specified`}},
		{"secret_access_key_wo_version without secret_access_key_wo", location("secret_access_key_wo_version", "1"),
			[]string{`Attribute "secret_access_key_wo" must be specified when "secret_access_key_wo_version" is specified`}},
		{"both secret keys", writeOnly("secret_access_key", `"example-secret"`),
			[]string{"Exactly one of these attributes must be configured: [secret_access_key,secret_access_key_wo]"}},
		{"no secret key", location("secret_access_key", ""),
			[]string{"Exactly one of these attributes must be configured: [secret_access_key,secret_access_key_wo]"}},
		{"access_mode lower case", location("access_mode", `"readonly"`),
			[]string{`Attribute access_mode value must be one of: ["ReadWrite" "ReadOnly"], got: "readonly"`}},
		{"backup_sync_period negative", location("backup_sync_period", `"-1m"`),
			[]string{`backup_sync_period = "-1m" is negative: write a Go duration above zero`, `or "0s" to disable backup sync`}},
		{"backup_sync_period not a duration", location("backup_sync_period", `"1 minute"`), notADuration("1 minute")},
		{"validation_frequency negative", location("validation_frequency", `"-5m"`),
			[]string{`validation_frequency = "-5m" is negative: write a Go duration above zero`, `or "0s" to disable validation`}},
		{"validation_frequency not a duration", location("validation_frequency", `"5"`), notADuration("5")},
		{"timeouts.create negative", location("timeouts", `{ create = "-5m" }`), notPositive("timeouts.create", "-5m", "negative")},
		{"timeouts.update zero", location("timeouts", `{ update = "0s" }`), notPositive("timeouts.update", "0s", "zero")},
		{"timeouts.create not a duration", location("timeouts", `{ create = "5 minutes" }`), []string{`"5 minutes" must be a string containing a sequence of decimal numbers`}},
	})
}

func TestValidators_backup(t *testing.T) {
	backup := configOf(`resource "styrmin_backup" "test"`, map[string]string{
		"namespace": `"shop"`, "backup_location": `"prod"`, "components": validComponents,
	})
	testBadInputs(t, append(operationBadInputs(backup), []badInput{
		{"namespace upper case", backup("namespace", `"Shop"`), []string{`namespace = "Shop" is not a Kubernetes namespace name`, "e.g. 'my-name'"}},
		{"namespace with '_'", backup("namespace", `"shop_prod"`), []string{`namespace = "shop_prod" is not a Kubernetes namespace name`}},
		{"namespace empty", backup("namespace", `""`), []string{`namespace = "" is not a Kubernetes namespace name`}},
		{"namespace too long", backup("namespace", quoted(strings.Repeat("s", 64))), []string{"must be no more than 63 characters"}},
		{"ttl negative (Velero would expire the backup at once)", backup("ttl", `"-720h"`), notPositive("ttl", "-720h", "negative")},
		{"ttl zero", backup("ttl", `"0s"`), notPositive("ttl", "0s", "zero")},
		{"ttl not a duration", backup("ttl", `"30d"`), notADuration("30d")},
		{"deletion_policy unknown", backup("deletion_policy", `"destroy"`),
			[]string{`Attribute deletion_policy value must be one of: ["retain" "delete"], got: "destroy"`}},
		{"timeouts.delete negative", backup("timeouts", `{ delete = "-10m" }`), notPositive("timeouts.delete", "-10m", "negative")},
	}...))
}

func TestValidators_restore(t *testing.T) {
	restore := configOf(`resource "styrmin_restore" "test"`, map[string]string{
		"backup_name": `"shop-20250301-020000"`, "target_namespace": `"shop-test"`, "components": validComponents,
	})
	testBadInputs(t, append(operationBadInputs(restore), []badInput{
		{"target_namespace with '_'", restore("target_namespace", `"shop_test"`), []string{`target_namespace = "shop_test" is not a Kubernetes namespace name`}},
		{"target_namespace too long", restore("target_namespace", quoted(strings.Repeat("t", 64))), []string{"must be no more than 63 characters"}},
		{"source_namespace upper case", restore("source_namespace", `"Shop"`), []string{`source_namespace = "Shop" is not a Kubernetes namespace name`}},
		{"source_namespace ends with '-'", restore("source_namespace", `"shop-"`), []string{`source_namespace = "shop-" is not a Kubernetes namespace name`}},
		{"existing_resource_policy unknown", restore("existing_resource_policy", `"replace"`),
			[]string{`Attribute existing_resource_policy value must be one of: ["none" "update"], got: "replace"`}},
		{"backup_sync_timeout negative", restore("backup_sync_timeout", `"-2m"`), notPositive("backup_sync_timeout", "-2m", "negative")},
		{"backup_sync_timeout zero", restore("backup_sync_timeout", `"0s"`), notPositive("backup_sync_timeout", "0s", "zero")},
		{"backup_sync_timeout not a duration", restore("backup_sync_timeout", `"two minutes"`), notADuration("two minutes")},
	}...))
}

// operationBadInputs are the bad inputs of the arguments styrmin_backup and styrmin_restore share
// (lifecycle.go: operationModel), given how to render one with overrides.
func operationBadInputs(operation func(overrides ...string) string) []badInput {
	nameRule := "must be lower-case letters, digits and '-', starting and ending with a letter or digit"
	component := func(component string) string {
		return operation("components", "{\n    db = "+component+"\n  }")
	}
	return []badInput{
		{"name too long", operation("name", quoted(strings.Repeat("n", 64))), []string{"Attribute name string length must be between 1 and 63, got: 64"}},
		{"name upper case and '_'", operation("name", `"Nightly_1"`), []string{"Attribute name " + nameRule + ", got: Nightly_1"}},
		{"label key with a space", operation("labels", `{ "cost center" = "shop" }`),
			[]string{`labels: key "cost center" is not a Kubernetes label key`, "name part must consist of alphanumeric characters"}},
		{"label key with an empty name", operation("labels", `{ "example.com/" = "shop" }`),
			[]string{`labels: key "example.com/" is not a Kubernetes label key`, "name part must be non-empty"}},
		{"label key with an upper-case prefix", operation("labels", `{ "Example.com/team" = "shop" }`),
			[]string{`labels: key "Example.com/team" is not a Kubernetes label key`, "prefix part"}},
		{"label value with a space", operation("labels", `{ team = "web shop" }`),
			[]string{`labels: value "web shop" of key "team" is not a Kubernetes label value`, "a valid label must be an empty string or consist of alphanumeric characters"}},
		{"label value too long", operation("labels", fmt.Sprintf(`{ team = %q }`, strings.Repeat("w", 64))),
			[]string{`of key "team" is not a Kubernetes label value`, "must be no more than 63 characters"}},
		{"timeouts.create negative", operation("timeouts", `{ create = "-30m" }`), notPositive("timeouts.create", "-30m", "negative")},
		{"timeouts.update zero", operation("timeouts", `{ update = "0s" }`), notPositive("timeouts.update", "0s", "zero")},
		// The components are checked by the driver file's own rules (driverspec), selector included.
		{"component selector key invalid", component(`{ selector = { "app name" = "db" }, backup = { enabled = true, kind = "disk", volumes = ["data"] } }`),
			[]string{`Invalid backup settings of component db`, `identifier.label key "app name" is not a valid label key`}},
		{"component selector value invalid", component(`{ selector = { app = "db!" }, backup = { enabled = true, kind = "disk", volumes = ["data"] } }`),
			[]string{`Invalid backup settings of component db`, `identifier.label value "db!" for key "app" is not a valid label value`}},
		{"component selector empty", component(`{ selector = {}, backup = { enabled = true, kind = "disk", volumes = ["data"] } }`),
			[]string{`Invalid backup settings of component db`, "an empty selector matches every pod in the namespace"}},
		{"component disk without volumes", component(`{ selector = { app = "db" }, backup = { enabled = true, kind = "disk" } }`),
			[]string{`Invalid backup settings of component db`, `backup.kind is "disk" but`, "name the pod-template volume(s) to back up"}},
	}
}

func TestValidators_driverSpec(t *testing.T) {
	testBadInputs(t, []badInput{
		{"both path and content", `
data "styrmin_driver_spec" "app" {
  path    = "driver.styrmin.yml"
  content = "metadata: {name: app}"
}`, []string{"Exactly one of these attributes must be configured: [path,content]"}},
		{"neither path nor content", `data "styrmin_driver_spec" "app" {}`,
			[]string{"Missing Attribute Configuration", "Exactly one of these attributes must be configured: [path,content]"}},
	})
}

// validComponents is one valid component, in the shape styrmin_backup and styrmin_restore take.
const validComponents = `{
    files = { selector = { app = "files" }, backup = { enabled = true, kind = "disk", volumes = ["data"] } }
  }`

// testBadInputs runs each case as its own plan (in parallel: each is a terraform process) and
// checks that it stopped with the error before the provider was configured.
func testBadInputs(t *testing.T, cases []badInput) {
	t.Helper()
	requireTerraform(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var configured atomic.Int32
			test := resource.TestCase{
				ProtoV6ProviderFactories: countingConfigure(&configured),
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: wrapped(tc.want...)}},
			}
			if strings.Contains(tc.config, "secret_access_key_wo") { // write-only arguments
				test.TerraformVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)}
			}
			resource.UnitTest(t, test)
			if n := configured.Load(); n > 0 {
				t.Errorf("the provider was configured %d times: validation must stop the run before any connection", n)
			}
		})
	}
}

// requireTerraform skips t where no terraform CLI is at hand: resource.UnitTest would download one
// (never done here, see GNUmakefile). Acceptance runs have it (TF_ACC_TERRAFORM_PATH), so there
// it is not skipped.
func requireTerraform(t *testing.T) {
	t.Helper()
	if acctest.Enabled() || os.Getenv("TF_ACC_TERRAFORM_PATH") != "" {
		return
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("no terraform CLI: set TF_ACC_TERRAFORM_PATH or put terraform on PATH")
	}
}

// configureCounter serves the provider and counts ConfigureProvider calls.
type configureCounter struct {
	tfprotov6.ProviderServer
	configured *atomic.Int32
}

func (s configureCounter) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	s.configured.Add(1)
	return s.ProviderServer.ConfigureProvider(ctx, req)
}

func countingConfigure(configured *atomic.Int32) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"styrmin": func() (tfprotov6.ProviderServer, error) {
			server, err := testAccProtoV6ProviderFactories["styrmin"]()
			return configureCounter{ProviderServer: server, configured: configured}, err
		},
	}
}

// configOf renders `header { name = value ... }` from valid args (HCL expressions), changed by
// overrides: name, value pairs, where an empty value removes the argument.
func configOf(header string, valid map[string]string) func(overrides ...string) string {
	return func(overrides ...string) string {
		args := maps.Clone(valid)
		for i := 0; i+1 < len(overrides); i += 2 {
			if overrides[i+1] == "" {
				delete(args, overrides[i])
			} else {
				args[overrides[i]] = overrides[i+1]
			}
		}
		var b strings.Builder
		b.WriteString(header + " {\n")
		for _, name := range slices.Sorted(maps.Keys(args)) {
			fmt.Fprintf(&b, "  %s = %s\n", name, args[name])
		}
		b.WriteString("}\n")
		return b.String()
	}
}

func quoted(s string) string { return fmt.Sprintf("%q", s) }

// wrapped matches parts in order in Terraform's output, which breaks lines at spaces.
func wrapped(parts ...string) *regexp.Regexp {
	patterns := make([]string, len(parts))
	for i, p := range parts {
		patterns[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(patterns, ".*"))
}

func notPositive(attribute, value, what string) []string {
	return []string{fmt.Sprintf(`%s = %q is %s: write a Go duration above zero, e.g. "90s", "30m" or "720h".`, attribute, value, what)}
}

func notADuration(value string) []string {
	return []string{"Invalid Time Duration String Value", "Given Value: " + value}
}

func lineBreak(attribute string) []string {
	return []string{"Line break in " + attribute, attribute + " contains a line break", "which trimspace() removes"}
}

// A plain http:// endpoint off this machine and its link is a warning, not an error: the plan
// goes on. (terraform-plugin-testing cannot assert warnings; TestValidators_plainHTTPEndpointWarning
// asserts the warning itself.)
func TestValidators_plainHTTPEndpointPlans(t *testing.T) {
	requireTerraform(t)
	var configured atomic.Int32
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: countingConfigure(&configured),
		Steps: []resource.TestStep{{
			// An access key known only at apply keeps the plan from checking the bucket.
			Config: `resource "terraform_data" "key" { input = "AKIAEXAMPLE" }
` + configOf(`resource "styrmin_backup_location" "test"`, map[string]string{
				"name": `"prod"`, "bucket": `"backups"`, "region": `"us-east-1"`, "endpoint": `"http://minio.example:9000"`,
				"access_key_id": "terraform_data.key.output", "secret_access_key": `"example-secret"`,
			})(),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
	if configured.Load() == 0 {
		t.Error("the provider was never configured: the plan did not get past validation")
	}
}

func TestValidators_plainHTTPEndpointWarning(t *testing.T) {
	t.Parallel()
	for endpoint, warns := range map[string]bool{
		"http://minio.example:9000":       true,
		"http://10.0.0.5:9000":            true,
		"http://[2001:db8::1]:9000":       true,
		"http://169.254.1.1.example:9000": true,
		"https://minio.example:9000":      false,
		"http://localhost:9000":           false,
		"http://LocalHost":                false,
		"http://127.0.0.1:9000":           false,
		"http://127.8.9.10":               false,
		"http://[::1]:9000":               false,
		"http://[::ffff:127.0.0.1]:9000":  false,
		"http://169.254.123.1:9000":       false,
		"http://[fe80::1]:9000/":          false,
	} {
		diags := validateLocation(t, map[string]any{"endpoint": endpoint, "secret_access_key": "example-secret"})
		var warnings []*tfprotov6.Diagnostic
		for _, d := range diags {
			if d.Severity == tfprotov6.DiagnosticSeverityWarning {
				warnings = append(warnings, d)
			} else {
				t.Errorf("%s: unexpected %s: %s: %s", endpoint, d.Severity, d.Summary, d.Detail)
			}
		}
		switch {
		case !warns && len(warnings) > 0:
			t.Errorf("%s: unexpected warning: %s", endpoint, warnings[0].Detail)
		case warns && len(warnings) != 1:
			t.Errorf("%s: %d warnings, want 1", endpoint, len(warnings))
		case warns && (!warnings[0].Attribute.Equal(tftypes.NewAttributePath().WithAttributeName("endpoint")) ||
			!strings.Contains(warnings[0].Detail, "endpoint = \""+endpoint+"\" is plain http://") ||
			!strings.Contains(warnings[0].Detail, "Use https://")):
			t.Errorf("%s: warning does not name endpoint and the fix: %s (at %v)", endpoint, warnings[0].Detail, warnings[0].Attribute)
		}
	}
}

// The line-break error is about a secret: it must not quote it.
func TestValidators_lineBreakErrorHidesTheSecret(t *testing.T) {
	t.Parallel()
	const secret = "do-not-print-me"
	for _, attribute := range []string{"secret_access_key", "secret_access_key_wo"} {
		values := map[string]any{attribute: secret + "\n"}
		if attribute == "secret_access_key_wo" {
			values["secret_access_key_wo_version"] = 1
		}
		diags := validateLocation(t, values)
		if len(diags) != 1 || diags[0].Summary != "Line break in "+attribute {
			t.Fatalf("%s: want one line-break error, got %d diagnostics", attribute, len(diags))
		}
		if strings.Contains(diags[0].Summary+diags[0].Detail, secret) {
			t.Errorf("%s: the error quotes the secret: %s", attribute, diags[0].Detail)
		}
	}
}

// validateLocation asks the provider, over its protocol, to validate a styrmin_backup_location
// with the given arguments (the other required ones valid, the rest unset).
func validateLocation(t *testing.T, values map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	server, err := testAccProtoV6ProviderFactories["styrmin"]()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemas.ResourceSchemas["styrmin_backup_location"].ValueType().(tftypes.Object)
	if !ok {
		t.Fatal("styrmin_backup_location's schema is not an object")
	}
	config := map[string]any{"name": "prod", "bucket": "backups", "region": "us-east-1", "access_key_id": "AKIAEXAMPLE"}
	maps.Copy(config, values)
	attributes := map[string]tftypes.Value{}
	for name, attributeType := range typ.AttributeTypes {
		attributes[name] = tftypes.NewValue(attributeType, config[name]) // nil: unset
	}
	dynamic, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, attributes))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{
		TypeName: "styrmin_backup_location", Config: &dynamic,
		ClientCapabilities: &tfprotov6.ValidateResourceConfigClientCapabilities{WriteOnlyAttributesAllowed: true}, // Terraform >= 1.11
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}
