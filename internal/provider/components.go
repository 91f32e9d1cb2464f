package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	datasourceschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// The `components` shape: the styrmin_driver_spec data source returns it, and styrmin_backup and
// styrmin_restore take it, so the map can be passed straight in. The backup block's settings
// follow from driverspec.BackupFields, where each is declared once.

const (
	selectorDoc    = "`identifier.label`: the labels that select the component's pods (matchLabels)."
	backupBlockDoc = "The component's backup block, as in the driver file (`volume` and `database` are written `volumes` and `databases`)."
)

var (
	backupAttrTypes = func() map[string]attr.Type {
		types := map[string]attr.Type{}
		for _, f := range driverspec.BackupFields() {
			types[f.Key] = backupAttrType(f.Type)
		}
		return types
	}()
	componentAttrTypes = map[string]attr.Type{
		"selector": types.MapType{ElemType: types.StringType},
		"backup":   types.ObjectType{AttrTypes: backupAttrTypes},
	}
	componentType = types.ObjectType{AttrTypes: componentAttrTypes}
)

func backupAttrType(t driverspec.FieldType) attr.Type {
	switch t {
	case driverspec.BoolField:
		return types.BoolType
	case driverspec.StringField:
		return types.StringType
	}
	return types.ListType{ElemType: types.StringType}
}

// backupAttributes builds the backup block's attributes for a schema package (resource or data
// source), given how it makes a bool, a string and a list of strings.
func backupAttributes[A any](boolean, str, list func(doc string) A) map[string]A {
	attrs := map[string]A{}
	for _, f := range driverspec.BackupFields() {
		switch f.Type {
		case driverspec.BoolField:
			attrs[f.Key] = boolean(f.Doc)
		case driverspec.StringField:
			attrs[f.Key] = str(f.Doc)
		case driverspec.StringListField:
			attrs[f.Key] = list(f.Doc)
		}
	}
	return attrs
}

// componentsAttribute is the `components` argument of styrmin_backup and styrmin_restore.
func componentsAttribute(description string) schema.MapNestedAttribute {
	backup := backupAttributes(
		func(doc string) schema.Attribute {
			return schema.BoolAttribute{Optional: true, MarkdownDescription: doc}
		},
		func(doc string) schema.Attribute {
			return schema.StringAttribute{Optional: true, MarkdownDescription: doc}
		},
		func(doc string) schema.Attribute {
			return schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: doc}
		})
	return schema.MapNestedAttribute{
		Required:            true,
		MarkdownDescription: description,
		// Replaces, except where state has none (just imported: the driver file is not in Velero).
		PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !req.StateValue.IsNull()
		}, "Changing the components replaces the resource.", "Changing the components replaces the resource.")},
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"selector": schema.MapAttribute{Required: true, ElementType: types.StringType, MarkdownDescription: selectorDoc},
			"backup": schema.SingleNestedAttribute{Required: true, Attributes: backup,
				MarkdownDescription: backupBlockDoc},
		}},
	}
}

// componentsResult is the `components` the styrmin_driver_spec data source returns.
func componentsResult(description string) datasourceschema.MapNestedAttribute {
	return dataSourceComponents(description, false)
}

// componentsArgument is the `components` a data source takes, as styrmin_backup does.
func componentsArgument(description string) datasourceschema.MapNestedAttribute {
	return dataSourceComponents(description, true)
}

// dataSourceComponents is the `components` shape in a data source's schema: an argument (the map
// required, the settings optional) or a result (everything computed).
func dataSourceComponents(description string, argument bool) datasourceschema.MapNestedAttribute {
	given := !argument // a setting is optional in an argument, computed in a result
	backup := backupAttributes(
		func(doc string) datasourceschema.Attribute {
			return datasourceschema.BoolAttribute{Optional: argument, Computed: given, MarkdownDescription: doc}
		},
		func(doc string) datasourceschema.Attribute {
			return datasourceschema.StringAttribute{Optional: argument, Computed: given, MarkdownDescription: doc}
		},
		func(doc string) datasourceschema.Attribute {
			return datasourceschema.ListAttribute{Optional: argument, Computed: given, ElementType: types.StringType, MarkdownDescription: doc}
		})
	backupDoc := "The normalised backup settings: every setting present, `\"\"` or `[]` where unused."
	if argument {
		backupDoc = backupBlockDoc
	}
	return datasourceschema.MapNestedAttribute{
		Required:            argument,
		Computed:            given,
		MarkdownDescription: description,
		NestedObject: datasourceschema.NestedAttributeObject{Attributes: map[string]datasourceschema.Attribute{
			"selector": datasourceschema.MapAttribute{Required: argument, Computed: given, ElementType: types.StringType, MarkdownDescription: selectorDoc},
			"backup":   datasourceschema.SingleNestedAttribute{Required: argument, Computed: given, Attributes: backup, MarkdownDescription: backupDoc},
		}},
	}
}

// componentsValue is the Terraform value of parsed components.
func componentsValue(components []driverspec.Component) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	values := map[string]attr.Value{}
	for _, c := range components {
		selector := map[string]attr.Value{}
		for k, v := range c.Selector {
			selector[k] = types.StringValue(v)
		}
		selectorValue, d := types.MapValue(types.StringType, selector)
		diags.Append(d...)
		settings := map[string]attr.Value{}
		for _, f := range driverspec.BackupFields() {
			switch v := f.Value(c.Backup).(type) {
			case bool:
				settings[f.Key] = types.BoolValue(v)
			case string:
				settings[f.Key] = types.StringValue(v)
			case []string:
				settings[f.Key] = stringList(v, &diags)
			}
		}
		backup, d := types.ObjectValue(backupAttrTypes, settings)
		diags.Append(d...)
		component, d := types.ObjectValue(componentAttrTypes, map[string]attr.Value{"selector": selectorValue, "backup": backup})
		diags.Append(d...)
		values[c.Name] = component
	}
	m, d := types.MapValue(componentType, values)
	diags.Append(d...)
	return m, diags
}

// componentsFrom checks `components` with the driver file's own rules (one set of rules, one set
// of messages, each error on the attribute it is about) and returns them sorted by name. ok is
// false when a value is not known yet (known only at apply) or when a component is invalid.
func componentsFrom(m types.Map, diags *diag.Diagnostics) (components []driverspec.Component, ok bool) {
	at := path.Root("components")
	if !fullyKnown(m) || m.IsNull() {
		return nil, false
	}
	inputs := map[string]driverspec.ComponentInput{}
	for name, v := range m.Elements() {
		attrs := objectAttributes(v)
		selector := map[string]string{}
		for k, value := range mapElements(attrs["selector"]) {
			selector[k] = stringValue(value)
		}
		inputs[name] = driverspec.ComponentInput{Selector: selector, Backup: backupSettings(objectAttributes(attrs["backup"]))}
	}
	parsed, err := driverspec.ParseComponents(inputs)
	if err != nil {
		var invalid *driverspec.Error
		if !errors.As(err, &invalid) {
			diags.AddAttributeError(at, "Invalid components", err.Error())
			return nil, false
		}
		for _, p := range invalid.Problems {
			diags.AddAttributeError(problemPath(at, p), "Invalid backup settings of component "+p.Component, p.Message)
		}
		return nil, false
	}
	for _, name := range slices.Sorted(maps.Keys(parsed)) {
		components = append(components, parsed[name])
	}
	return components, true
}

// backupSettings are the backup block's settings that are set. "" and [] count as unset: the
// data source returns them for the settings a component does not use.
func backupSettings(attrs map[string]attr.Value) map[string]any {
	settings := map[string]any{}
	for _, f := range driverspec.BackupFields() {
		v := attrs[f.Key]
		if v == nil || v.IsNull() {
			continue
		}
		switch f.Type {
		case driverspec.BoolField:
			if b, ok := v.(types.Bool); ok {
				settings[f.Key] = b.ValueBool()
			}
		case driverspec.StringField:
			if s := stringValue(v); s != "" {
				settings[f.Key] = s
			}
		case driverspec.StringListField:
			var list []string
			if l, ok := v.(types.List); ok {
				for _, e := range l.Elements() {
					list = append(list, stringValue(e))
				}
			}
			if len(list) > 0 {
				settings[f.Key] = list
			}
		}
	}
	return settings
}

// problemPath is the attribute a driverspec problem is about, under components[name].
func problemPath(components path.Path, p driverspec.Problem) path.Path {
	at := components.AtMapKey(p.Component)
	switch key, index, ok := driverspec.FieldKey(p.Field); {
	case ok && index >= 0:
		return at.AtName("backup").AtName(key).AtListIndex(index)
	case ok:
		return at.AtName("backup").AtName(key)
	case p.Field == "backup":
		return at.AtName("backup")
	case strings.HasPrefix(p.Field, "identifier"):
		return at.AtName("selector")
	}
	return at
}

// fullyKnown reports whether v and everything in it is known.
func fullyKnown(v attr.Value) bool {
	if v == nil || v.IsUnknown() {
		return false
	}
	var elems []attr.Value
	switch c := v.(type) {
	case types.Map:
		for _, e := range c.Elements() {
			elems = append(elems, e)
		}
	case types.Object:
		for _, e := range c.Attributes() {
			elems = append(elems, e)
		}
	case types.List:
		elems = c.Elements()
	}
	for _, e := range elems {
		if !fullyKnown(e) {
			return false
		}
	}
	return true
}

func objectAttributes(v attr.Value) map[string]attr.Value {
	if o, ok := v.(types.Object); ok {
		return o.Attributes()
	}
	return nil
}

func mapElements(v attr.Value) map[string]attr.Value {
	if m, ok := v.(types.Map); ok {
		return m.Elements()
	}
	return nil
}

func stringValue(v attr.Value) string {
	if s, ok := v.(types.String); ok {
		return s.ValueString()
	}
	return fmt.Sprint(v)
}
