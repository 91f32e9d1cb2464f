package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/styrmin/terraform-provider-styrmin/internal/acctest"
)

// The data source needs no cluster, only the terraform CLI that acceptance tests run.
func TestAccDriverSpecDataSource_sampleApp(t *testing.T) {
	acctest.Gate(t)
	address := "data.styrmin_driver_spec.app"
	components := tfjsonpath.New("components")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
data "styrmin_driver_spec" "app" {
  path = "../../examples/sample-app/driver.styrmin.yml"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(address, tfjsonpath.New("name"), knownvalue.StringExact("sample-app")),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("version"), knownvalue.StringExact("1")),
				statecheck.ExpectKnownValue(address, components, knownvalue.MapSizeExact(5)),
				statecheck.ExpectKnownValue(address, components.AtMapKey("files").AtMapKey("backup").AtMapKey("volumes"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("files-data")})),
				statecheck.ExpectKnownValue(address, components.AtMapKey("postgres").AtMapKey("backup").AtMapKey("kind"),
					knownvalue.StringExact("postgres")),
				statecheck.ExpectKnownValue(address, components.AtMapKey("postgres").AtMapKey("selector"),
					knownvalue.MapExact(map[string]knownvalue.Check{
						"app.kubernetes.io/name":      knownvalue.StringExact("sample-app"),
						"app.kubernetes.io/component": knownvalue.StringExact("postgres"),
					})),
				statecheck.ExpectKnownValue(address, components.AtMapKey("server").AtMapKey("backup").AtMapKey("enabled"),
					knownvalue.Bool(false)),
			},
		}},
	})
}

func TestAccDriverSpecDataSource_invalid(t *testing.T) {
	acctest.Gate(t)
	for name, tc := range map[string]struct {
		config string
		want   string
	}{
		"disk without volumes (the seed's silent no-op)": {
			config: `
data "styrmin_driver_spec" "app" {
  content = <<-YAML
    metadata: {name: app}
    spec:
      version: "1"
      components:
        files:
          identifier: {label: {app: files}}
          backup:
            enabled: true
            kind: disk
  YAML
}`,
			want: `(?s)component "files".*backup\.volume.*line \d+`,
		},
		"typo inside backup": {
			config: `
data "styrmin_driver_spec" "app" {
  content = <<-YAML
    metadata: {name: app}
    spec:
      version: "1"
      components:
        files:
          identifier: {label: {app: files}}
          backup:
            enabled: true
            kind: disk
            volumse: [data]
  YAML
}`,
			want: `(?s)component "files".*volumse.*line \d+`,
		},
		"both path and content": {
			config: `
data "styrmin_driver_spec" "app" {
  path    = "driver.styrmin.yml"
  content = "metadata: {name: app}"
}`,
			want: `(?s)path.*content`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}
