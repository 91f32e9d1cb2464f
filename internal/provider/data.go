package provider

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/kubeconn"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

const defaultVeleroNamespace = "velero"

// providerData is what Configure hands to resources and data sources. The connection is made
// and checked once per provider process, on first use: a plan of many resources pays for one
// discovery, and a configuration that is not known yet (a cluster created in the same apply)
// is not dialled at plan time.
type providerData struct {
	restConfig      *rest.Config
	host            string
	veleroNamespace string
	redactor        *kubeconn.Redactor

	once     sync.Once
	readyErr [2]string // summary, detail
	kube     kubernetes.Interface
	velero   *velero.Client
	// snapshot serves the refresh of every location and backup from one list per kind (drift
	// detection in CI refreshes them all on every build).
	snapshot velero.Snapshot
}

func newProviderData(ctx context.Context, version string, config providerModel, diags *diag.Diagnostics) *providerData {
	if config.hasUnknown() {
		return nil // resources report it if they are used before the values are known
	}
	ns := config.VeleroNamespace.ValueString()
	if ns == "" {
		ns = os.Getenv("STYRMIN_VELERO_NAMESPACE")
	}
	if ns == "" {
		ns = defaultVeleroNamespace
	}
	data := &providerData{veleroNamespace: ns, redactor: kubeconn.NewRedactor()}
	settings, ok := config.settings(ctx, diags)
	if !ok {
		return nil
	}
	// Connection problems are reported by what uses the cluster, so data sources that need none
	// (styrmin_driver_spec) work without a connection.
	settings, err := kubeconn.FromEnv(settings)
	if err != nil {
		data.readyErr = [2]string{"Invalid Kubernetes connection settings", err.Error()}
		return data
	}
	for _, secret := range settings.Secrets() {
		data.redactor.Add(secret)
	}
	// klog writes straight to stderr, past the masking below.
	kubeconn.SilenceKlog()
	logHTTP := func(ctx context.Context, msg string, fields map[string]any) {
		if fields == nil {
			fields = map[string]any{}
		}
		fields["component"] = "kubernetes-client"
		tflog.Trace(ctx, msg, fields)
	}
	opts := []kubeconn.Option{kubeconn.WithVersion(version)}
	if !config.QPS.IsNull() || !config.Burst.IsNull() {
		qps, burst := float64(kubeconn.DefaultQPS), int64(kubeconn.DefaultBurst)
		if !config.QPS.IsNull() {
			qps = config.QPS.ValueFloat64()
		}
		if !config.Burst.IsNull() {
			burst = config.Burst.ValueInt64()
		}
		opts = append(opts, kubeconn.WithRateLimit(float32(qps), int(burst)))
	}
	if LoggingRequested() { // the logging transport parses every body: only when someone reads logs
		opts = append(opts, kubeconn.WithWrapTransport(kubeconn.WrapTransport(logHTTP, data.redactor)))
	}
	data.restConfig, err = kubeconn.RESTConfig(settings, opts...)
	if err != nil {
		data.readyErr = [2]string{"Invalid Kubernetes connection settings", data.redactor.Redact(err.Error())}
		return data
	}
	data.host = data.restConfig.Host
	return data
}

// loggingVariables are the environment variables that ask for logs: Terraform's (TF_LOG and
// the provider-only ones), the SDK's own levels (TF_LOG_SDK*, which an explicit setting must
// keep), and the acceptance-test harness's log files (TF_ACC_LOG_PATH, TF_LOG_PATH_MASK), where
// it collects logs without TF_LOG being set.
var loggingVariables = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_STYRMIN",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK",
	"TF_ACC_LOG_PATH", "TF_LOG_PATH_MASK",
}

// TuneProcess sets up a provider process for what it does: one Terraform command, many small
// requests. The SDK's logs are turned off when Terraform collects none (the framework formats a
// JSON TRACE line per step of every request otherwise, a quarter of the CPU of a large refresh,
// all of it thrown away by Terraform). Garbage collection runs less often: the process allocates a
// lot of short-lived schema data per request, and this saves a fifth of a large refresh's CPU.
func TuneProcess() {
	if !LoggingRequested() {
		for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
			os.Setenv(v, "off")
		}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// LoggingRequested reports whether Terraform (or the test harness) collects provider logs. The
// binary keeps the SDK's own logging on only then (main.go), and the provider installs its
// logging HTTP transport only then.
func LoggingRequested() bool {
	for _, v := range loggingVariables {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// settings converts the configuration; unknown values (known only at apply) are an error here
// because a provider cannot be configured half-way.
func (m providerModel) settings(ctx context.Context, diags *diag.Diagnostics) (kubeconn.Settings, bool) {
	var s kubeconn.Settings
	for _, f := range []struct {
		v   types.String
		dst *string
	}{
		{m.ConfigPath, &s.ConfigPath}, {m.ConfigContext, &s.ConfigContext}, {m.ConfigContextAuthInfo, &s.ConfigContextAuthInfo},
		{m.ConfigContextCluster, &s.ConfigContextCluster}, {m.Host, &s.Host}, {m.Username, &s.Username},
		{m.Password, &s.Password}, {m.Token, &s.Token}, {m.TLSServerName, &s.TLSServerName},
		{m.ClientCertificate, &s.ClientCertificate}, {m.ClientKey, &s.ClientKey},
		{m.ClusterCACertificate, &s.ClusterCACertificate}, {m.ProxyURL, &s.ProxyURL},
	} {
		*f.dst = f.v.ValueString()
	}
	if !m.Insecure.IsNull() {
		v := m.Insecure.ValueBool()
		s.Insecure = &v
	}
	diags.Append(m.ConfigPaths.ElementsAs(ctx, &s.ConfigPaths, true)...)
	if len(m.Exec) > 0 {
		e := m.Exec[0]
		s.Exec = &kubeconn.ExecSettings{APIVersion: e.APIVersion.ValueString(), Command: e.Command.ValueString()}
		diags.Append(e.Args.ElementsAs(ctx, &s.Exec.Args, true)...)
		diags.Append(e.Env.ElementsAs(ctx, &s.Exec.Env, true)...)
	}
	return s, !diags.HasError()
}

func (m providerModel) hasUnknown() bool {
	values := []interface{ IsUnknown() bool }{m.ConfigPath, m.ConfigPaths, m.ConfigContext, m.ConfigContextAuthInfo,
		m.ConfigContextCluster, m.Host, m.Username, m.Password, m.Token, m.Insecure, m.TLSServerName,
		m.ClientCertificate, m.ClientKey, m.ClusterCACertificate, m.ProxyURL, m.VeleroNamespace, m.QPS, m.Burst}
	for _, e := range m.Exec {
		values = append(values, e.APIVersion, e.Command, e.Args, e.Env)
	}
	for _, v := range values {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}

// ready connects on first use and checks that Velero is installed. It reports false (with an
// error diagnostic saying what to fix) when the cluster cannot be used.
func (d *providerData) ready(ctx context.Context, diags *diag.Diagnostics) bool {
	if d == nil {
		diags.AddError("Provider not configured",
			"The styrmin provider's configuration depends on values not known yet; apply what it depends on first.")
		return false
	}
	d.once.Do(func() {
		if d.readyErr[0] == "" {
			d.connect(ctx)
		}
	})
	if d.readyErr[0] != "" {
		diags.AddError(d.readyErr[0], d.readyErr[1])
		return false
	}
	return true
}

func (d *providerData) connect(ctx context.Context) {
	fail := func(summary, detail string) { d.readyErr = [2]string{summary, d.redactor.Redact(detail)} }
	kube, err := kubernetes.NewForConfig(d.restConfig)
	if err != nil {
		fail("Invalid Kubernetes connection settings", err.Error())
		return
	}
	dyn, err := dynamic.NewForConfig(d.restConfig)
	if err != nil {
		fail("Invalid Kubernetes connection settings", err.Error())
		return
	}
	// One discovery call proves the server answers, accepts the credentials and serves Velero.
	_, err = kube.Discovery().ServerResourcesForGroupVersion("velero.io/v1")
	switch {
	case apierrors.IsNotFound(err):
		fail("Velero is not installed in this cluster",
			fmt.Sprintf("Velero is not installed in this cluster: the API server at %s does not serve velero.io/v1 (the Velero "+
				"CRDs are missing). Install Velero (e.g. `velero install`) or point the provider at the cluster that runs it.", d.host))
		return
	case err != nil:
		fail("Cannot use the Kubernetes cluster", kubeconn.Classify(err, d.host).Error())
		return
	}
	_, err = kube.CoreV1().Namespaces().Get(ctx, d.veleroNamespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		fail("Velero namespace missing", fmt.Sprintf("Namespace %q does not exist in the cluster at %s: set velero_namespace "+
			"(or STYRMIN_VELERO_NAMESPACE) to the namespace Velero runs in.", d.veleroNamespace, d.host))
		return
	case apierrors.IsForbidden(err):
		// Reading namespaces is not required; a later call will tell.
	case err != nil:
		fail("Cannot use the Kubernetes cluster", kubeconn.Classify(err, d.host).Error())
		return
	}
	d.kube = kube
	d.velero = velero.NewClient(dyn, d.veleroNamespace)
}

// runner runs backups and restores with this provider's connection.
func (d *providerData) runner() backups.Runner {
	return backups.Runner{Kube: d.kube, Velero: d.velero, Locations: d.locations(),
		Exec: kubeconn.PodExec{Config: d.restConfig, Kube: d.kube}}
}

func (d *providerData) locations() velero.Locations {
	return velero.Locations{Kube: d.kube, Velero: d.velero, Snapshot: &d.snapshot}
}

// redact keeps a secret out of every later log line and error.
func (d *providerData) redact(secret string) {
	if secret != "" {
		d.redactor.Add(secret)
	}
}

func configuredData(configured any, diags *diag.Diagnostics) *providerData {
	if configured == nil {
		return nil // not configured yet (validation, or unknown provider config at plan)
	}
	data, ok := configured.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T: this is a provider bug", configured))
	}
	return data
}

// importName reads an import ID, the same for every resource: <velero namespace>/<name>, or
// <name> in the provider's Velero namespace. what names the object in errors.
func (d *providerData) importName(id, what string, diags *diag.Diagnostics) (string, bool) {
	if d == nil {
		diags.AddError("Provider not configured", "Import needs the provider's connection settings.")
		return "", false
	}
	name := nameFromID(id)
	if ns, _, ok := cutLast(id, "/"); ok && ns != d.veleroNamespace {
		diags.AddError("Import ID names another namespace",
			fmt.Sprintf("%q is in namespace %q, but the provider manages Velero in %q: set velero_namespace = %q in the provider configuration.",
				id, ns, d.veleroNamespace, ns))
		return "", false
	}
	if !locationNamePattern.MatchString(name) {
		diags.AddError("Invalid import ID", fmt.Sprintf("%q is not <velero namespace>/<name> or <name> of %s.", id, what))
		return "", false
	}
	return name, true
}

func nameFromID(id string) string {
	if _, name, ok := cutLast(id, "/"); ok {
		return name
	}
	return id
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
