package provider

import (
	"context"
	"errors"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"sigs.k8s.io/yaml"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
)

// componentsAttribute is the `components` argument of styrmin_backup and styrmin_restore: the
// styrmin_driver_spec data source's `components` passed straight in, or the same shape inline.
func componentsAttribute(description string) schema.MapNestedAttribute {
	list := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: desc}
	}
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc}
	}
	return schema.MapNestedAttribute{
		Required:            true,
		MarkdownDescription: description,
		// Replaces, except where state has none (just imported: the driver file is not in Velero).
		PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !req.StateValue.IsNull()
		}, "Changing the components replaces the resource.", "Changing the components replaces the resource.")},
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"selector": schema.MapAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "Labels selecting the component's pods (`identifier.label`)."},
			"backup": schema.SingleNestedAttribute{Required: true, MarkdownDescription: "The component's backup block, as in the driver file.",
				Attributes: map[string]schema.Attribute{
					"enabled":         schema.BoolAttribute{Optional: true, MarkdownDescription: "Default `true`."},
					"kind":            str("`disk`, `postgres`, `mariadb`, `mongodb`, `neo4j` or `action`."),
					"volumes":         list("Pod-template volume names (the dump volume for database kinds)."),
					"container":       str("Container that runs the dump or the commands."),
					"databases":       list("Databases to dump."),
					"backup_command":  list("`action`: command run before the volumes are backed up."),
					"restore_command": list("`action`: command run after the volumes are restored."),
					"timeout":         str("Bound of each command, a Go duration."),
				}},
		}},
	}
}

type componentModel struct {
	Selector types.Map            `tfsdk:"selector"`
	Backup   componentBackupModel `tfsdk:"backup"`
}

type componentBackupModel struct {
	Enabled        types.Bool   `tfsdk:"enabled"`
	Kind           types.String `tfsdk:"kind"`
	Volumes        types.List   `tfsdk:"volumes"`
	Container      types.String `tfsdk:"container"`
	Databases      types.List   `tfsdk:"databases"`
	BackupCommand  types.List   `tfsdk:"backup_command"`
	RestoreCommand types.List   `tfsdk:"restore_command"`
	Timeout        types.String `tfsdk:"timeout"`
}

// strategyComponents checks the components with the driver file's own rules (by writing them as
// a driver file and parsing it: one set of rules, one set of messages) and returns them. ok is
// false when the map holds unknown values (known only at apply).
func strategyComponents(ctx context.Context, m types.Map, diags *diag.Diagnostics) (components []strategy.Component, ok bool) {
	if m.IsUnknown() || m.IsNull() {
		return nil, false
	}
	var models map[string]componentModel
	diags.Append(m.ElementsAs(ctx, &models, false)...)
	if diags.HasError() {
		return nil, false
	}
	spec := map[string]any{}
	for name, c := range models {
		var selector map[string]string
		if c.Selector.IsUnknown() {
			return nil, false
		}
		diags.Append(c.Selector.ElementsAs(ctx, &selector, false)...)
		backup, known := c.Backup.yaml(ctx, diags)
		if !known {
			return nil, false
		}
		spec[name] = map[string]any{"identifier": map[string]any{"label": selector}, "backup": backup}
	}
	if diags.HasError() {
		return nil, false
	}
	doc, err := yaml.Marshal(map[string]any{"metadata": map[string]any{"name": "components"},
		"spec": map[string]any{"version": "1", "components": spec}})
	if err != nil {
		diags.AddAttributeError(path.Root("components"), "Invalid components", err.Error())
		return nil, false
	}
	driver, err := driverspec.Parse(doc)
	if err != nil {
		var invalid *driverspec.Error
		if !errors.As(err, &invalid) {
			diags.AddAttributeError(path.Root("components"), "Invalid components", err.Error())
			return nil, false
		}
		for _, p := range invalid.Problems {
			at := path.Root("components")
			if p.Component != "" {
				at = at.AtMapKey(p.Component)
			}
			// Line numbers would point into the generated document: the message names the field.
			diags.AddAttributeError(at, "Invalid backup settings of component "+p.Component, p.Message)
		}
		return nil, false
	}
	for _, c := range driver.SortedComponents() {
		components = append(components, strategy.FromDriverSpec(c))
	}
	sort.Slice(components, func(i, j int) bool { return components[i].Name < components[j].Name })
	return components, true
}

// yaml renders the backup block as the driver file would hold it, leaving out what is unset or
// empty (the data source's output has "" and [] for fields a component does not use).
func (b componentBackupModel) yaml(ctx context.Context, diags *diag.Diagnostics) (map[string]any, bool) {
	out := map[string]any{}
	for _, v := range []interface{ IsUnknown() bool }{b.Enabled, b.Kind, b.Volumes, b.Container, b.Databases, b.BackupCommand, b.RestoreCommand, b.Timeout} {
		if v.IsUnknown() {
			return nil, false
		}
	}
	if !b.Enabled.IsNull() {
		out["enabled"] = b.Enabled.ValueBool()
	}
	for key, v := range map[string]types.String{"kind": b.Kind, "container": b.Container, "timeout": b.Timeout} {
		if s := v.ValueString(); s != "" {
			out[key] = s
		}
	}
	for key, v := range map[string]types.List{"volumes": b.Volumes, "databases": b.Databases, "backup_command": b.BackupCommand, "restore_command": b.RestoreCommand} {
		var values []string
		diags.Append(v.ElementsAs(ctx, &values, false)...)
		if len(values) > 0 {
			out[key] = values
		}
	}
	return out, true
}
