package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

var (
	_ resource.ResourceWithConfigure      = (*restoreDrillResource)(nil)
	_ resource.ResourceWithValidateConfig = (*restoreDrillResource)(nil)
)

func NewRestoreDrillResource() resource.Resource { return &restoreDrillResource{} }

// restoreDrillResource is an event, like a restore: its apply runs the drill, its state records
// the result. A new backup_name, other checks or a changed trigger run it again.
type restoreDrillResource struct{ data *providerData }

type restoreDrillModel struct {
	ID               types.String   `tfsdk:"id"`
	Name             types.String   `tfsdk:"name"`
	BackupName       types.String   `tfsdk:"backup_name"`
	SourceNamespace  types.String   `tfsdk:"source_namespace"`
	ScratchNamespace types.String   `tfsdk:"scratch_namespace"`
	Components       types.Map      `tfsdk:"components"`
	Checks           types.Map      `tfsdk:"checks"`
	KeepFailed       types.Bool     `tfsdk:"keep_failed"`
	Triggers         types.Map      `tfsdk:"triggers"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
	Passed           types.Bool     `tfsdk:"passed"`
	StartedAt        types.String   `tfsdk:"started_at"`
	Duration         types.String   `tfsdk:"duration"`
	Results          types.Map      `tfsdk:"results"`
}

var drillResultAttrTypes = map[string]attr.Type{
	"pod":       types.StringType,
	"container": types.StringType,
	"output":    types.StringType,
	"passed":    types.BoolType,
	"problem":   types.StringType,
}

func (r *restoreDrillResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_restore_drill"
}

func (r *restoreDrillResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A restore drill: proves on apply that a backup can be restored. It restores the backup into a scratch " +
			"namespace of its own exactly as `styrmin_restore` restores a clone (every volume restored, every dump replayed and " +
			"verified), runs the given checks in the restored components (a command's exit status, and optionally its output, " +
			"e.g. a row count), records the result and how long it took, and deletes the scratch namespace.\n\n" +
			"A failed restore or check fails the apply; the resource is then tainted, so the next apply runs the drill again. " +
			"With `keep_failed`, a failed drill's scratch namespace stays for inspection until the next drill or destroy.\n\n" +
			"A drill runs once per resource: it runs again when `backup_name` changes (e.g. from `data.styrmin_backups`' " +
			"`latest_verified`), when the checks change, or when a value in `triggers` changes. Destroy removes the Velero " +
			"`Restore` record (and a kept scratch namespace).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The drill's Velero restore's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Name of the drill's Velero restore. Default: `drill-<yyyymmdd-hhmmss>-<4 random characters>` (UTC time of the apply).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators: []validator.String{stringvalidator.LengthBetween(1, 63),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit")}},
			"backup_name": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "The Velero backup to drill, e.g. `data.styrmin_backups.x.latest_verified`."},
			"source_namespace": schema.StringAttribute{Optional: true, PlanModifiers: replace, Validators: []validator.String{kubernetesNamespace()},
				MarkdownDescription: "The backed-up namespace. Default: the backup's only namespace."},
			"scratch_namespace": schema.StringAttribute{Optional: true, Computed: true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{kubernetesNamespace()},
				MarkdownDescription: "Namespace the drill restores into. It must not exist: the drill creates it (labelled " +
					"`styrmin.io/drill=<name>`) and deletes it afterwards. Default: the drill's `name`."},
			"components": componentsAttribute("The components to restore and replay, as for `styrmin_restore`."),
			"checks": schema.MapNestedAttribute{Optional: true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Per component (by name): a command run in its first restored pod once the restore is verified. " +
					"It passes when it exits 0 and, if `expected_output` is set, prints exactly that (white space around it aside).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"command": schema.ListAttribute{Required: true, ElementType: types.StringType,
						Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
						MarkdownDescription: "The command and its arguments (no shell unless you run one, e.g. `[\"sh\", \"-c\", \"...\"]`)."},
					"expected_output": schema.StringAttribute{Optional: true,
						MarkdownDescription: "What the command must print on stdout, compared without surrounding white space."},
					"container": schema.StringAttribute{Optional: true,
						MarkdownDescription: "The container to run it in. Default: the component's `backup.container`, else the pod's first container."},
				}}},
			"keep_failed": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Keep the scratch namespace of a failed drill for inspection. Default `false`."},
			"triggers": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Any values: a change runs the drill again (e.g. `{ day = formatdate(\"YYYY-MM-DD\", plantimestamp()) }`: once a day)."},
			"timeouts": positiveTimeouts(timeouts.Attributes(ctx, timeouts.Opts{Create: true,
				CreateDescription: "How long the drill may take, clean-up aside, a Go duration above zero. Default `30m`."})),
			"passed":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the restore was verified and every check passed."},
			"started_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When the drill started (RFC 3339)."},
			"duration":   schema.StringAttribute{Computed: true, MarkdownDescription: "How long the restore and the checks took (a Go duration, e.g. `41.2s`)."},
			"results": schema.MapNestedAttribute{Computed: true, MarkdownDescription: "Per checked component: what its check found.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"pod":       schema.StringAttribute{Computed: true, MarkdownDescription: "The restored pod the check ran in."},
					"container": schema.StringAttribute{Computed: true, MarkdownDescription: "Its container."},
					"output":    schema.StringAttribute{Computed: true, MarkdownDescription: "What the command printed (at most 4 KiB)."},
					"passed":    schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the check passed."},
					"problem":   schema.StringAttribute{Computed: true, MarkdownDescription: "Why it failed; `\"\"` when it passed."},
				}}},
		},
	}
}

func (r *restoreDrillResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the components, and that every check is of one of them, at plan time.
func (r *restoreDrillResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config restoreDrillModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	componentsFrom(config.Components, &resp.Diagnostics)
	if !fullyKnown(config.Components) || config.Checks.IsUnknown() {
		return
	}
	components := config.Components.Elements()
	for name := range config.Checks.Elements() {
		if _, ok := components[name]; !ok {
			resp.Diagnostics.AddAttributeError(path.Root("checks").AtMapKey(name), "Check of an unknown component",
				"checks: "+name+" is not one of components: check a component the drill restores")
		}
	}
}

func (r *restoreDrillResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m restoreDrillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	timeout, diags := m.Timeouts.Create(ctx, defaultOperationTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if m.Name.IsUnknown() {
		m.Name = types.StringValue(generatedBackupName("drill", time.Now()))
	}
	if m.ScratchNamespace.IsUnknown() {
		m.ScratchNamespace = m.Name
	}
	request, ok := m.request(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	runner := r.data.runner()
	plan, err := runner.PlanDrill(ctx, request)
	if err != nil {
		addProblems(&resp.Diagnostics, "Cannot run the restore drill", err)
		return
	}
	for _, w := range plan.Warnings {
		resp.Diagnostics.AddWarning("Restore of backup "+plan.Backup.Name, w)
	}
	m.ID = m.Name
	m.StartedAt = types.StringValue(time.Now().UTC().Format(time.RFC3339))
	result, err := runner.RunDrill(ctx, request, plan, logProgress(ctx, "restore", m.Name.ValueString()))
	m.Passed = types.BoolValue(err == nil)
	m.Duration = types.StringValue(result.Duration.Round(100 * time.Millisecond).String())
	m.Results = drillResultsValue(result.Checks, &resp.Diagnostics)
	// Saved on failure too: the resource is then tainted, and destroy or the next apply cleans up.
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	if err != nil {
		resp.Diagnostics.AddError("The restore drill failed", err.Error())
	}
}

func (m restoreDrillModel) request(ctx context.Context, diags *diag.Diagnostics) (backups.DrillRequest, bool) {
	components, ok := componentsFrom(m.Components, diags)
	if !ok {
		return backups.DrillRequest{}, false
	}
	req := backups.DrillRequest{
		Restore: backups.RestoreRequest{Name: m.Name.ValueString(), Backup: m.BackupName.ValueString(),
			SourceNamespace: m.SourceNamespace.ValueString(), TargetNamespace: m.ScratchNamespace.ValueString(),
			Components: components, BackupSyncWait: defaultBackupSyncTimeout,
			Labels: map[string]string{backups.DrillLabel: m.Name.ValueString()}},
		KeepFailed: m.KeepFailed.ValueBool(),
	}
	type checkModel struct {
		Command        []string     `tfsdk:"command"`
		ExpectedOutput types.String `tfsdk:"expected_output"`
		Container      types.String `tfsdk:"container"`
	}
	checks := map[string]checkModel{}
	diags.Append(m.Checks.ElementsAs(ctx, &checks, false)...)
	for component, c := range checks {
		check := backups.Check{Component: component, Command: c.Command, Container: c.Container.ValueString()}
		if !c.ExpectedOutput.IsNull() {
			check.Expect = c.ExpectedOutput.ValueStringPointer()
		}
		req.Checks = append(req.Checks, check)
	}
	return req, !diags.HasError()
}

func drillResultsValue(results []backups.CheckResult, diags *diag.Diagnostics) types.Map {
	values := map[string]attr.Value{}
	for _, res := range results {
		v, d := types.ObjectValue(drillResultAttrTypes, map[string]attr.Value{
			"pod": types.StringValue(res.Pod), "container": types.StringValue(res.Container), "output": types.StringValue(res.Output),
			"passed": types.BoolValue(res.Problem == ""), "problem": types.StringValue(res.Problem),
		})
		diags.Append(d...)
		values[res.Component] = v
	}
	m, d := types.MapValue(types.ObjectType{AttrTypes: drillResultAttrTypes}, values)
	diags.Append(d...)
	return m
}

// Read keeps the recorded drill: it happened, and nothing in the cluster can change its result.
func (r *restoreDrillResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state restoreDrillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update changes keep_failed or timeouts only (everything else replaces the drill).
func (r *restoreDrillResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state restoreDrillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state.KeepFailed, state.Timeouts = plan.KeepFailed, plan.Timeouts
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Delete removes the drill's Restore record and a scratch namespace a failed drill kept.
func (r *restoreDrillResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state restoreDrillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	err := velero.Delete[velerov1.Restore](ctx, r.data.velero, state.Name.ValueString())
	if err != nil && !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete the drill's Velero restore record", err.Error())
	}
	if err := r.data.runner().DeleteScratch(ctx, state.ScratchNamespace.ValueString(), state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the drill's scratch namespace", err.Error())
	}
}
