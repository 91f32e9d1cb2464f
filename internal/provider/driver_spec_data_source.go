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

// componentAttrTypes and backupAttrTypes describe one entry of `components`; styrmin_backup
// and styrmin_restore take the same shape, so the map can be passed straight in.
var (
	backupAttrTypes = map[string]attr.Type{
		"enabled":         types.BoolType,
		"kind":            types.StringType,
		"volumes":         types.ListType{ElemType: types.StringType},
		"container":       types.StringType,
		"databases":       types.ListType{ElemType: types.StringType},
		"backup_command":  types.ListType{ElemType: types.StringType},
		"restore_command": types.ListType{ElemType: types.StringType},
		"timeout":         types.StringType,
	}
	componentAttrTypes = map[string]attr.Type{
		"selector": types.MapType{ElemType: types.StringType},
		"backup":   types.ObjectType{AttrTypes: backupAttrTypes},
	}
)

func (d *driverSpecDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_driver_spec"
}

func (d *driverSpecDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	strings := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Styrmin driver file (`driver.styrmin.yml`) and validates every component's `backup` " +
			"block at plan time. Keys the provider does not use (helm, parameters, services, actions, ...) are " +
			"accepted; inside `backup` an unknown key is an error, because a typo must not silently turn protection " +
			"off. Every problem is reported with its component, field and line. The fields each strategy takes are " +
			"described in the guide *Driver file reference*.",
		Attributes: map[string]schema.Attribute{
			"path":    schema.StringAttribute{Optional: true, MarkdownDescription: "Path of the driver file. Exactly one of `path` and `content`."},
			"content": schema.StringAttribute{Optional: true, MarkdownDescription: "The driver file's YAML text, e.g. from `file()` or a Helm chart's repository."},
			"name":    schema.StringAttribute{Computed: true, MarkdownDescription: "`metadata.name`."},
			"version": schema.StringAttribute{Computed: true, MarkdownDescription: "`spec.version`."},
			"components": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "`spec.components`, keyed by component name, normalised: a single `volume` is folded into `volumes`, `database` into `databases`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"selector": schema.MapAttribute{Computed: true, ElementType: types.StringType,
						MarkdownDescription: "`identifier.label`: the labels that select the component's pods."},
					"backup": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The normalised backup settings.",
						Attributes: map[string]schema.Attribute{
							"enabled": schema.BoolAttribute{Computed: true, MarkdownDescription: "False when the component has no backup block or says `enabled: false`."},
							"kind": schema.StringAttribute{Computed: true,
								MarkdownDescription: "Strategy: `disk`, `postgres`, `mariadb`, `mongodb`, `neo4j` or `action`."},
							"volumes": strings("Pod-template volume names: the volumes backed up (disk, action) or the dump volume (database kinds)."),
							"container": schema.StringAttribute{Computed: true,
								MarkdownDescription: "Container that runs the dump or the commands; empty: found from the pod spec."},
							"databases":       strings("Databases to dump; empty: the kind's default, from the container's environment."),
							"backup_command":  strings("`action`: the command run before the volumes are backed up."),
							"restore_command": strings("`action`: the command run after the volumes are restored."),
							"timeout":         schema.StringAttribute{Computed: true, MarkdownDescription: "Bound of each command, a Go duration; empty for `disk`."},
						}},
				}},
			},
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
	model.Components, diags = componentsValue(driver)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}

func componentsValue(driver *driverspec.Driver) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	list := func(values []string) types.List { return stringList(values, &diags) }
	components := map[string]attr.Value{}
	for _, c := range driver.SortedComponents() {
		selector := map[string]attr.Value{}
		for k, v := range c.Selector {
			selector[k] = types.StringValue(v)
		}
		selectorValue, d := types.MapValue(types.StringType, selector)
		diags.Append(d...)
		timeout := ""
		if c.Backup.Timeout > 0 {
			timeout = c.Backup.Timeout.String()
		}
		b := c.Backup
		backup, d := types.ObjectValue(backupAttrTypes, map[string]attr.Value{
			"enabled":         types.BoolValue(b.Enabled),
			"kind":            types.StringValue(string(b.Kind)),
			"volumes":         list(b.Volumes),
			"container":       types.StringValue(b.Container),
			"databases":       list(b.Databases),
			"backup_command":  list(b.BackupCommand),
			"restore_command": list(b.RestoreCommand),
			"timeout":         types.StringValue(timeout),
		})
		diags.Append(d...)
		component, d := types.ObjectValue(componentAttrTypes, map[string]attr.Value{"selector": selectorValue, "backup": backup})
		diags.Append(d...)
		components[c.Name] = component
	}
	m, d := types.MapValue(types.ObjectType{AttrTypes: componentAttrTypes}, components)
	diags.Append(d...)
	return m, diags
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
