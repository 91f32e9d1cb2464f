package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubeconn"
)

var _ provider.Provider = (*StyrminProvider)(nil)

// StyrminProvider is the Terraform provider for Styrmin: backups and restores
// of application stacks running on Kubernetes, carried out through Velero.
type StyrminProvider struct {
	// version is "dev" for local builds, the release version when built by
	// goreleaser, and "test" in acceptance tests.
	version string
}

// New returns a function that creates a StyrminProvider reporting the given
// version, in the form providerserver.Serve expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &StyrminProvider{version: version}
	}
}

// providerModel holds the connection settings, named as in the hashicorp/kubernetes provider.
type providerModel struct {
	ConfigPath            types.String  `tfsdk:"config_path"`
	ConfigPaths           types.List    `tfsdk:"config_paths"`
	ConfigContext         types.String  `tfsdk:"config_context"`
	ConfigContextAuthInfo types.String  `tfsdk:"config_context_auth_info"`
	ConfigContextCluster  types.String  `tfsdk:"config_context_cluster"`
	Host                  types.String  `tfsdk:"host"`
	Username              types.String  `tfsdk:"username"`
	Password              types.String  `tfsdk:"password"`
	Token                 types.String  `tfsdk:"token"`
	Insecure              types.Bool    `tfsdk:"insecure"`
	TLSServerName         types.String  `tfsdk:"tls_server_name"`
	ClientCertificate     types.String  `tfsdk:"client_certificate"`
	ClientKey             types.String  `tfsdk:"client_key"`
	ClusterCACertificate  types.String  `tfsdk:"cluster_ca_certificate"`
	ProxyURL              types.String  `tfsdk:"proxy_url"`
	Exec                  []execModel   `tfsdk:"exec"`
	VeleroNamespace       types.String  `tfsdk:"velero_namespace"`
	QPS                   types.Float64 `tfsdk:"qps"`
	Burst                 types.Int64   `tfsdk:"burst"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

func (p *StyrminProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "styrmin"
	resp.Version = p.version
}

func (p *StyrminProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	str := func(env, desc string, sensitive bool) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: sensitive, MarkdownDescription: desc + " Environment: `" + env + "`."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Styrmin provider backs up and restores application stacks running on Kubernetes, " +
			"using [Velero](https://velero.io) to move the data.\n\n" +
			"The connection settings have the names and `KUBE_*` environment variables of the " +
			"`hashicorp/kubernetes` provider. Like it, this provider never reads `~/.kube/config` on its own: set " +
			"`config_path` (or `KUBE_CONFIG_PATH`) or `host` with credentials.",
		Attributes: map[string]schema.Attribute{
			"config_path": str("KUBE_CONFIG_PATH", "Path to a kubeconfig file.", false),
			"config_paths": schema.ListAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Kubeconfig files, merged in order. Environment: `KUBE_CONFIG_PATHS` (separated by `:`).",
			},
			"config_context":           str("KUBE_CTX", "Context of the kubeconfig to use.", false),
			"config_context_auth_info": str("KUBE_CTX_AUTH_INFO", "User of the kubeconfig to use, overriding the context's.", false),
			"config_context_cluster":   str("KUBE_CTX_CLUSTER", "Cluster of the kubeconfig to use, overriding the context's.", false),
			"host":                     str("KUBE_HOST", "Address of the Kubernetes API server, e.g. `https://k8s.example:6443`.", false),
			"username":                 str("KUBE_USER", "Username for basic authentication.", false),
			"password":                 str("KUBE_PASSWORD", "Password for basic authentication.", true),
			"token":                    str("KUBE_TOKEN", "Bearer token.", true),
			"insecure": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Skip verification of the API server's certificate. Environment: `KUBE_INSECURE`.",
			},
			"tls_server_name":        str("KUBE_TLS_SERVER_NAME", "Server name to verify the API server's certificate against.", false),
			"client_certificate":     str("KUBE_CLIENT_CERT_DATA", "PEM client certificate.", false),
			"client_key":             str("KUBE_CLIENT_KEY_DATA", "PEM client key.", true),
			"cluster_ca_certificate": str("KUBE_CLUSTER_CA_CERT_DATA", "PEM bundle of the cluster's CA.", false),
			"proxy_url":              str("KUBE_PROXY_URL", "URL of a proxy to the API server.", false),
			"velero_namespace": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Namespace Velero runs in: a Kubernetes namespace name (lower-case letters, digits and `-`, " +
					"at most 63 characters). Default `velero`. Environment: `STYRMIN_VELERO_NAMESPACE`.",
				Validators: []validator.String{kubernetesNamespace()},
			},
			"qps": schema.Float64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Requests per second the provider sends to the Kubernetes API server, on average: a number above 0. "+
					"Default `%d` (client-go's own default, 5, would stretch the refresh of a few hundred resources into minutes). "+
					"Lower it where the API server is shared and rate-limited (API priority and fairness answers 429 to a client that sends too much).", kubeconn.DefaultQPS),
				Validators: []validator.Float64{positiveRate{}},
			},
			"burst": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("Requests the provider may send at once above `qps`: a whole number of at least 1. Default `%d`.", kubeconn.DefaultBurst),
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
		},
		Blocks: map[string]schema.Block{
			"exec": schema.ListNestedBlock{
				MarkdownDescription: "Credentials from an exec plugin (e.g. `aws eks get-token`), run for every connection. At most one block.",
				// A second block would otherwise be ignored without a word.
				Validators: []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{Required: true, MarkdownDescription: "e.g. `client.authentication.k8s.io/v1`."},
					"command":     schema.StringAttribute{Required: true, MarkdownDescription: "The plugin command."},
					"args":        schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Its arguments."},
					"env":         schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Extra environment for it."},
				}},
			},
		},
	}
}

func (p *StyrminProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := newProviderData(ctx, p.version, config, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *StyrminProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewBackupLocationResource, NewBackupResource, NewBackupScheduleResource, NewRestoreResource, NewRestoreDrillResource}
}

func (p *StyrminProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewDriverSpecDataSource, NewBackupsDataSource}
}
