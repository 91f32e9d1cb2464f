package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// testAccProtoV6ProviderFactories are used to instantiate the provider during
// acceptance testing. The factory function is called for each Terraform CLI
// command run, to create a provider server to which the CLI can reattach.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"styrmin": func() (tfprotov6.ProviderServer, error) {
		return RequestScoped(providerserver.NewProtocol6(New("test")())()), nil
	},
}

func TestProvider_ProtocolServer(t *testing.T) {
	t.Parallel()

	ctx := context.Background()

	server, err := testAccProtoV6ProviderFactories["styrmin"]()
	if err != nil {
		t.Fatalf("unexpected error creating provider server: %s", err)
	}

	metadata, err := server.GetMetadata(ctx, &tfprotov6.GetMetadataRequest{})
	if err != nil {
		t.Fatalf("unexpected error calling GetMetadata: %s", err)
	}
	assertNoDiagnostics(t, "GetMetadata", metadata.Diagnostics)

	schemaResp, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatalf("unexpected error calling GetProviderSchema: %s", err)
	}
	assertNoDiagnostics(t, "GetProviderSchema", schemaResp.Diagnostics)

	if schemaResp.Provider == nil || schemaResp.Provider.Block == nil {
		t.Fatal("expected a provider schema, got none")
	}
	// Credentials must never show in plan output.
	sensitive := map[string]bool{"password": true, "token": true, "client_key": true}
	for _, a := range schemaResp.Provider.Block.Attributes {
		if sensitive[a.Name] != a.Sensitive {
			t.Errorf("provider attribute %s: Sensitive = %t, want %t", a.Name, a.Sensitive, sensitive[a.Name])
		}
		delete(sensitive, a.Name)
	}
	for name := range sensitive {
		t.Errorf("provider attribute %s is missing", name)
	}
	location := schemaResp.ResourceSchemas["styrmin_backup_location"]
	if location == nil {
		t.Fatal("styrmin_backup_location is not served")
	}
	for _, a := range location.Block.Attributes {
		if strings.HasPrefix(a.Name, "secret_access_key") && a.Name != "secret_access_key_wo_version" && !a.Sensitive {
			t.Errorf("styrmin_backup_location.%s is not Sensitive", a.Name)
		}
	}
	if schemaResp.Provider.Block.DescriptionKind != tfprotov6.StringKindMarkdown || schemaResp.Provider.Block.Description == "" {
		t.Error("expected a markdown description on the provider schema")
	}

	// Every resource and data source type the server announces must carry
	// the provider's type name as its prefix.
	for _, r := range metadata.Resources {
		assertTypeNamePrefix(t, r.TypeName)
	}
	for _, d := range metadata.DataSources {
		assertTypeNamePrefix(t, d.TypeName)
	}
	for name := range schemaResp.ResourceSchemas {
		assertTypeNamePrefix(t, name)
	}
	for name := range schemaResp.DataSourceSchemas {
		assertTypeNamePrefix(t, name)
	}
}

func TestProvider_Metadata(t *testing.T) {
	t.Parallel()

	resp := &provider.MetadataResponse{}
	New("x")().Metadata(context.Background(), provider.MetadataRequest{}, resp)

	if resp.TypeName != "styrmin" {
		t.Errorf("expected type name %q, got %q", "styrmin", resp.TypeName)
	}
	if resp.Version != "x" {
		t.Errorf("expected version %q, got %q", "x", resp.Version)
	}
}

func assertNoDiagnostics(t *testing.T, call string, diags []*tfprotov6.Diagnostic) {
	t.Helper()

	for _, d := range diags {
		t.Errorf("%s: unexpected diagnostic: %s: %s: %s", call, d.Severity, d.Summary, d.Detail)
	}
}

func assertTypeNamePrefix(t *testing.T, typeName string) {
	t.Helper()

	const prefix = "styrmin_"
	if !strings.HasPrefix(typeName, prefix) || typeName == prefix {
		t.Errorf("type name %q does not start with %q", typeName, prefix)
	}
}
