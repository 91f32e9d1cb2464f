package provider

import (
	"context"
	"errors"
	"os"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

var _ datasource.DataSourceWithConfigValidators = (*driverSpecDataSource)(nil)

func NewDriverSpecDataSource() datasource.DataSource { return &driverSpecDataSource{} }

// driverSpecDataSource needs no cluster: it reads and validates a file, so it works at plan
// time even before the provider can connect.
type driverSpecDataSource struct{}

type driverSpecModel struct {
	Path       types.String `tfsdk:"path"`
	Content    types.String `tfsdk:"content"`
	Name       types.String `tfsdk:"name"`
	Version    types.String `tfsdk:"version"`
	Components types.Map    `tfsdk:"components"`
}

func (d *driverSpecDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_driver_spec"
}

func (d *driverSpecDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Styrmin driver file (`driver.styrmin.yml`) and validates every component's `backup` " +
			"block at plan time. Keys the provider does not use (helm, parameters, services, actions, ...) are " +
			"accepted; inside `backup` an unknown key is an error, because a typo must not silently turn protection " +
			"off. Every problem is reported with its component, field and line. The fields each strategy takes are " +
			"described in the guide *Driver file reference*.",
		Attributes: map[string]schema.Attribute{
			"path":       schema.StringAttribute{Optional: true, MarkdownDescription: "Path of the driver file. Exactly one of `path` and `content`."},
			"content":    schema.StringAttribute{Optional: true, MarkdownDescription: "The driver file's YAML text, e.g. from `file()` or a Helm chart's repository."},
			"name":       schema.StringAttribute{Computed: true, MarkdownDescription: "`metadata.name`."},
			"version":    schema.StringAttribute{Computed: true, MarkdownDescription: "`spec.version`."},
			"components": componentsResult("`spec.components`, keyed by component name, normalised: a single `volume` is folded into `volumes`, `database` into `databases`, and the kinds that run commands get the default `timeout`."),
		},
	}
}

func (d *driverSpecDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("path"), path.MatchRoot("content"))}
}

func (d *driverSpecDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var model driverSpecModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &model)...)
	if resp.Diagnostics.HasError() {
		return
	}
	source := path.Root("content")
	var driver *driverspec.Driver
	var err error
	if p := model.Path.ValueString(); !model.Path.IsNull() {
		source = path.Root("path")
		driver, err = driverspec.ParseFile(p)
		if errors.Is(err, os.ErrNotExist) {
			resp.Diagnostics.AddAttributeError(source, "Driver file not found", "path: "+err.Error())
			return
		}
	} else {
		driver, err = driverspec.Parse([]byte(model.Content.ValueString()))
	}
	if err != nil {
		var invalid *driverspec.Error
		if !errors.As(err, &invalid) {
			resp.Diagnostics.AddAttributeError(source, "Cannot read the driver file", err.Error())
			return
		}
		for _, problem := range invalid.Problems {
			summary := "Invalid driver file"
			if problem.Component != "" {
				summary = "Invalid backup settings of component " + problem.Component
			}
			detail := problem.Error()
			if invalid.File != "" {
				detail = invalid.File + ": " + detail
			}
			resp.Diagnostics.AddAttributeError(source, summary, detail)
		}
		return
	}
	model.Name = types.StringValue(driver.Name)
	model.Version = types.StringValue(driver.Version)
	var diags diag.Diagnostics
	model.Components, diags = componentsValue(driver.SortedComponents())
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}

// stringList is values as a Terraform list; nil gives an empty list, not a null one.
func stringList(values []string, diags *diag.Diagnostics) types.List {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	l, d := types.ListValue(types.StringType, elems)
	diags.Append(d...)
	return l
}
