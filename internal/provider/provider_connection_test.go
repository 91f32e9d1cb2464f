package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/styrmin/terraform-provider-styrmin/internal/kubeconn"
	"github.com/styrmin/terraform-provider-styrmin/internal/sandboxtest"
)

// A location that reaches no cluster must fail with the reason and what to change.
func TestAccProvider_connectionErrors(t *testing.T) {
	sandboxtest.Require(t)
	for name, tc := range map[string]struct {
		provider string
		want     string
	}{
		"unreachable API server": {
			provider: `host = "https://127.0.0.1:1"`,
			want:     `(?s)127\.0\.0\.1:1.*(reach|refused)`,
		},
		"credentials rejected": {
			provider: `config_path = "` + sandboxtest.ProviderKubeconfig() + `"
  token       = "not-a-valid-token"`,
			want: `(?s)401|[Uu]nauthorized|rejected`,
		},
		"Velero namespace missing": {
			provider: `config_path      = "` + sandboxtest.ProviderKubeconfig() + `"
  velero_namespace = "no-velero-here"`,
			want: `(?s)no-velero-here.*velero_namespace`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			config := strings.Replace(locationConfig("acc-conn", "acc-conn", secretLine()),
				`config_path = "`+sandboxtest.ProviderKubeconfig()+`"`, tc.provider, 1)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// A cluster without Velero's CRDs: discovery of velero.io/v1 answers 404. No stack needed: a
// fake API server on loopback.
func TestProviderData_veleroNotInstalled(t *testing.T) {
	t.Parallel()
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/apis/velero.io/v1" {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
			return
		}
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Namespace", "apiVersion": "v1", "metadata": map[string]any{"name": "velero"}})
	}))
	defer api.Close()

	var diags diag.Diagnostics
	config := providerModel{Host: types.StringValue(api.URL), Token: types.StringValue("fake-api-token"), Insecure: types.BoolValue(true),
		ConfigPaths: types.ListNull(types.StringType)}
	data := newProviderData(context.Background(), "test", config, &diags)
	if diags.HasError() {
		t.Fatalf("configure: %v", diags)
	}
	if data.ready(context.Background(), &diags) {
		t.Fatal("ready = true for a cluster without Velero")
	}
	got := diags.Errors()[0].Detail()
	if !strings.Contains(got, "Velero is not installed in this cluster") || !strings.Contains(got, api.URL) {
		t.Errorf("error does not say Velero is missing and where: %q", got)
	}
}

// qps and burst reach the Kubernetes client; left out, the provider's defaults apply.
func TestProviderData_rateLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		qps       types.Float64
		burst     types.Int64
		wantQPS   float32
		wantBurst int
	}{
		{"defaults", types.Float64Null(), types.Int64Null(), kubeconn.DefaultQPS, kubeconn.DefaultBurst},
		{"both set", types.Float64Value(7.5), types.Int64Value(15), 7.5, 15},
		{"qps only", types.Float64Value(200), types.Int64Null(), 200, kubeconn.DefaultBurst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			config := providerModel{Host: types.StringValue("https://k8s.example:6443"), Token: types.StringValue("t"),
				ConfigPaths: types.ListNull(types.StringType), QPS: tc.qps, Burst: tc.burst}
			data := newProviderData(context.Background(), "test", config, &diags)
			if diags.HasError() || data.restConfig == nil {
				t.Fatalf("configure: %v (%s)", diags, data.readyErr)
			}
			if data.restConfig.QPS != tc.wantQPS || data.restConfig.Burst != tc.wantBurst {
				t.Errorf("QPS %v, burst %d; want %v, %d", data.restConfig.QPS, data.restConfig.Burst, tc.wantQPS, tc.wantBurst)
			}
		})
	}
}

// Every resource takes the same import ID: <velero namespace>/<name>, or <name>.
func TestImportName(t *testing.T) {
	t.Parallel()
	d := &providerData{veleroNamespace: "velero"}
	for id, want := range map[string]string{"shop-daily": "shop-daily", "velero/shop-daily": "shop-daily"} {
		var diags diag.Diagnostics
		if got, ok := d.importName(id, "a Velero backup", &diags); !ok || got != want {
			t.Errorf("importName(%q) = %q, %v (%v); want %q", id, got, ok, diags, want)
		}
	}
	for id, want := range map[string]string{
		"backups/shop-daily": `but the provider manages Velero in "velero": set velero_namespace = "backups"`,
		"Shop_Daily":         `"Shop_Daily" is not <velero namespace>/<name> or <name> of a Velero backup`,
		"velero/":            `is not <velero namespace>/<name> or <name>`,
	} {
		var diags diag.Diagnostics
		if _, ok := d.importName(id, "a Velero backup", &diags); ok || !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), want) {
			t.Errorf("importName(%q): %v; want an error containing %q", id, diags, want)
		}
	}
}
