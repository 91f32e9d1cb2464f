package provider

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func componentValue(t *testing.T, selector map[string]string, backup map[string]attr.Value) attr.Value {
	t.Helper()
	sel := map[string]attr.Value{}
	for k, v := range selector {
		sel[k] = types.StringValue(v)
	}
	fields := map[string]attr.Value{
		"enabled": types.BoolNull(), "kind": types.StringNull(), "container": types.StringNull(), "timeout": types.StringNull(),
		"volumes": types.ListNull(types.StringType), "databases": types.ListNull(types.StringType),
		"backup_command": types.ListNull(types.StringType), "restore_command": types.ListNull(types.StringType),
	}
	for k, v := range backup {
		fields[k] = v
	}
	b, diags := types.ObjectValue(backupAttrTypes, fields)
	if diags.HasError() {
		t.Fatal(diags)
	}
	c, diags := types.ObjectValue(componentAttrTypes, map[string]attr.Value{"selector": types.MapValueMust(types.StringType, sel), "backup": b})
	if diags.HasError() {
		t.Fatal(diags)
	}
	return c
}

func strings1(values ...string) types.List {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}

// Inline components obey the driver file's rules, with the component named in the error.
func TestStrategyComponents(t *testing.T) {
	mapOf := func(c map[string]attr.Value) types.Map {
		return types.MapValueMust(types.ObjectType{AttrTypes: componentAttrTypes}, c)
	}
	var diags diag.Diagnostics
	got, ok := componentsFrom(mapOf(map[string]attr.Value{
		"files": componentValue(t, map[string]string{"app": "files"}, map[string]attr.Value{"kind": types.StringValue("disk"), "volumes": strings1("data")}),
		// the data source's output for a component without backup: "" and [] for unused fields
		"server": componentValue(t, map[string]string{"app": "server"}, map[string]attr.Value{
			"enabled": types.BoolValue(false), "kind": types.StringValue(""), "volumes": strings1(), "container": types.StringValue("")}),
	}), &diags)
	if !ok || diags.HasError() {
		t.Fatalf("valid components refused: %v", diags)
	}
	if len(got) != 2 || got[0].Name != "files" || !got[0].Backup.Enabled || got[0].Backup.Volumes[0] != "data" || got[1].Backup.Enabled {
		t.Errorf("components = %+v", got)
	}

	for name, tc := range map[string]struct {
		backup map[string]attr.Value
		want   string
		path   string // the attribute Terraform underlines
	}{
		"disk without volumes": {map[string]attr.Value{"kind": types.StringValue("disk")}, "volume",
			`components["db"].backup.volumes`},
		"unknown kind": {map[string]attr.Value{"kind": types.StringValue("mysql"), "volumes": strings1("d")}, "mysql",
			`components["db"].backup.kind`},
		"action without command": {map[string]attr.Value{"kind": types.StringValue("action"), "container": types.StringValue("c")},
			"backup_command", `components["db"].backup.backup_command`},
		"second volume invalid": {map[string]attr.Value{"kind": types.StringValue("disk"), "volumes": strings1("data", "Bad_Name")},
			"not a volume name", `components["db"].backup.volumes[1]`},
		"database kind given two volumes": {map[string]attr.Value{"kind": types.StringValue("postgres"), "volumes": strings1("a", "b")},
			"exactly one volume", `components["db"].backup.volumes`},
		"setting the kind does not use": {map[string]attr.Value{"kind": types.StringValue("disk"), "volumes": strings1("d"), "container": types.StringValue("c")},
			"not used by kind", `components["db"].backup.container`},
	} {
		t.Run(name, func(t *testing.T) {
			var diags diag.Diagnostics
			_, ok := componentsFrom(mapOf(map[string]attr.Value{"db": componentValue(t, map[string]string{"app": "db"}, tc.backup)}), &diags)
			if ok || !diags.HasError() {
				t.Fatal("invalid component accepted")
			}
			d := diags.Errors()[0]
			if !strings.Contains(d.Summary(), "db") || !strings.Contains(d.Detail(), tc.want) {
				t.Errorf("error %q / %q does not name the component and %q", d.Summary(), d.Detail(), tc.want)
			}
			withPath, ok := d.(diag.DiagnosticWithPath)
			if !ok || withPath.Path().String() != tc.path {
				t.Errorf("error is on %v, want %s", d, tc.path)
			}
		})
	}

	t.Run("empty selector", func(t *testing.T) {
		var diags diag.Diagnostics
		_, ok := componentsFrom(mapOf(map[string]attr.Value{"db": componentValue(t, map[string]string{}, map[string]attr.Value{
			"kind": types.StringValue("disk"), "volumes": strings1("d")})}), &diags)
		if ok || !diags.HasError() {
			t.Fatal("an empty selector was accepted")
		}
		if withPath, ok := diags.Errors()[0].(diag.DiagnosticWithPath); !ok || withPath.Path().String() != `components["db"].selector` {
			t.Errorf("error %v is not on the selector", diags.Errors()[0])
		}
	})

	var unknown diag.Diagnostics
	if _, ok := componentsFrom(types.MapUnknown(types.ObjectType{AttrTypes: componentAttrTypes}), &unknown); ok || unknown.HasError() {
		t.Error("unknown components must wait for apply without an error")
	}
}

func TestGeneratedBackupName(t *testing.T) {
	now := time.Date(2026, 11, 26, 7, 8, 9, 0, time.UTC)
	first, second := generatedBackupName("shop", now), generatedBackupName("shop", now)
	if !regexp.MustCompile(`^shop-20261126-070809-[a-z2-7]{4}$`).MatchString(first) {
		t.Errorf("got %q, want shop-20261126-070809-xxxx", first)
	}
	if first == second {
		t.Errorf("two names generated in the same second are both %q: resources of one namespace in one apply would collide", first)
	}
	long := strings.Repeat("a", 60) + "-b"
	if got := generatedBackupName(long, now); len(got) > 63 || strings.Contains(got, "--") {
		t.Errorf("got %q (%d characters)", got, len(got))
	}
}

func TestTTLReplacesOnlyWhenTheDurationChanges(t *testing.T) {
	for _, tc := range []struct {
		state, plan types.String
		replace     bool
	}{
		{types.StringValue("2h0m0s"), types.StringValue("2h"), false},
		{types.StringValue("2h"), types.StringValue("120m"), false},
		{types.StringValue("2h"), types.StringValue("3h"), true},
		{types.StringNull(), types.StringValue("1h"), false},
		{types.StringValue("1h"), types.StringNull(), true},
	} {
		resp := &stringplanmodifier.RequiresReplaceIfFuncResponse{}
		sameDurationKeeps(context.Background(), planmodifier.StringRequest{StateValue: tc.state, PlanValue: tc.plan}, resp)
		if resp.RequiresReplace != tc.replace {
			t.Errorf("%s -> %s: replace = %t, want %t", tc.state, tc.plan, resp.RequiresReplace, tc.replace)
		}
	}
}
