// Command bench-noop-provider is the floor scripts/bench-refresh.sh measures styrmin against: a
// plugin-framework provider whose one resource, noop_resource, has as many attributes as
// styrmin_backup_location and does nothing (its state is its configuration). A plan of N of them
// costs Terraform and the framework, and nothing else. It runs tuned as the provider is.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/styrmin/terraform-provider-styrmin/internal/provider"
)

func main() {
	provider.TuneProcess()
	attributes, err := locationAttributes()
	if err != nil {
		log.Fatal(err)
	}
	serve := func() fwprovider.Provider { return noopProvider{attributes: attributes} }
	if err := provider.Serve(serve, "registry.terraform.io/styrmin/noop", false); err != nil {
		log.Fatal(err)
	}
}

// locationAttributes counts styrmin_backup_location's attributes and blocks.
func locationAttributes() (int, error) {
	ctx := context.Background()
	p := provider.New("bench")()
	for _, newResource := range p.Resources(ctx) {
		r := newResource()
		var meta fwresource.MetadataResponse
		r.Metadata(ctx, fwresource.MetadataRequest{ProviderTypeName: "styrmin"}, &meta)
		if meta.TypeName != "styrmin_backup_location" {
			continue
		}
		var s fwresource.SchemaResponse
		r.Schema(ctx, fwresource.SchemaRequest{}, &s)
		return len(s.Schema.Attributes) + len(s.Schema.Blocks), nil
	}
	return 0, fmt.Errorf("the provider has no styrmin_backup_location")
}

type noopProvider struct{ attributes int }

func (noopProvider) Metadata(_ context.Context, _ fwprovider.MetadataRequest, resp *fwprovider.MetadataResponse) {
	resp.TypeName = "noop"
}

func (noopProvider) Schema(context.Context, fwprovider.SchemaRequest, *fwprovider.SchemaResponse) {}

func (noopProvider) Configure(context.Context, fwprovider.ConfigureRequest, *fwprovider.ConfigureResponse) {
}

func (p noopProvider) Resources(context.Context) []func() fwresource.Resource {
	return []func() fwresource.Resource{func() fwresource.Resource { return noopResource(p) }}
}

func (noopProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type noopResource struct{ attributes int }

func (noopResource) Metadata(_ context.Context, req fwresource.MetadataRequest, resp *fwresource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}

func (r noopResource) Schema(_ context.Context, _ fwresource.SchemaRequest, resp *fwresource.SchemaResponse) {
	resp.Schema.Attributes = map[string]schema.Attribute{}
	for i := range r.attributes {
		resp.Schema.Attributes[fmt.Sprintf("a%d", i)] = schema.StringAttribute{Optional: true}
	}
}

func (noopResource) Create(_ context.Context, req fwresource.CreateRequest, resp *fwresource.CreateResponse) {
	resp.State.Raw = req.Plan.Raw
}

func (noopResource) Read(context.Context, fwresource.ReadRequest, *fwresource.ReadResponse) {}

func (noopResource) Update(_ context.Context, req fwresource.UpdateRequest, resp *fwresource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw
}

func (noopResource) Delete(context.Context, fwresource.DeleteRequest, *fwresource.DeleteResponse) {}
