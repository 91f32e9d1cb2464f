package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

var (
	_ resource.ResourceWithConfigure      = (*backupResource)(nil)
	_ resource.ResourceWithImportState    = (*backupResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*backupResource)(nil)
	_ resource.ResourceWithValidateConfig = (*backupResource)(nil)
)

func NewBackupResource() resource.Resource { return &backupResource{} }

type backupResource struct{ data *providerData }

type backupModel struct {
	ID                types.String         `tfsdk:"id"`
	Name              types.String         `tfsdk:"name"`
	Namespace         types.String         `tfsdk:"namespace"`
	BackupLocation    types.String         `tfsdk:"backup_location"`
	Components        types.Map            `tfsdk:"components"`
	TTL               timetypes.GoDuration `tfsdk:"ttl"`
	Labels            types.Map            `tfsdk:"labels"`
	WaitForCompletion types.Bool           `tfsdk:"wait_for_completion"`
	DeletionPolicy    types.String         `tfsdk:"deletion_policy"`
	Timeouts          timeouts.Value       `tfsdk:"timeouts"`
	Phase             types.String         `tfsdk:"phase"`
	Verified          types.Bool           `tfsdk:"verified"`
	StartedAt         types.String         `tfsdk:"started_at"`
	CompletedAt       types.String         `tfsdk:"completed_at"`
	ExpiresAt         types.String         `tfsdk:"expires_at"`
	ItemsBackedUp     types.Int64          `tfsdk:"items_backed_up"`
	Captured          types.Map            `tfsdk:"captured"`
}

var capturedAttrTypes = map[string]attr.Type{
	"kind":       types.StringType,
	"pods":       types.ListType{ElemType: types.StringType},
	"volumes":    types.ListType{ElemType: types.StringType},
	"bytes":      types.Int64Type,
	"dump_files": types.ListType{ElemType: types.StringType},
	"checksums":  types.ListType{ElemType: types.StringType},
}

const defaultBackupTTL = 720 * time.Hour

func (r *backupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backup"
}

func (r *backupResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	requiresReplace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A strategy-driven Velero backup of one deployment (a namespace), waited for and proven.\n\n" +
			"Before anything is created, every enabled component is checked against its live pods (a selector that " +
			"matches no Running pod, a volume or container that does not exist: each an error naming component, pod " +
			"and field) and the location must be `Available`. Then the pods are annotated with the volumes to back " +
			"up, and a Velero `Backup` is created with each component's hooks: database kinds dump into their dump " +
			"volume before it is copied. The apply succeeds only when the backup is `Completed`, no hook failed, and " +
			"every expected pod volume was captured with data; otherwise the error quotes Velero's reasons from the " +
			"backup's results and log in the bucket.\n\n" +
			"A backup is immutable: changing what it backs up replaces it. `deletion_policy`, `wait_for_completion` " +
			"and `timeouts` change in place (they only steer the provider).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The Velero backup's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Name of the Velero backup. Default: `<namespace>-<UTC time of the apply>`. It is in state " +
					"before the provider starts waiting, so an interrupted apply is resumed by the next one, never repeated.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators: []validator.String{stringvalidator.LengthBetween(1, 63),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit")},
			},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				MarkdownDescription: "Namespace of the deployment to back up: all its resources, and the volumes its components name."},
			"backup_location": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				MarkdownDescription: "Name of the backup storage location (e.g. `styrmin_backup_location.x.name`); must be `Available` and `ReadWrite`."},
			"components": componentsAttribute("The deployment's components: `data.styrmin_driver_spec.x.components`, or the same shape written inline. " +
				"Every enabled component must match at least one Running pod. Changing them replaces the backup."),
			"ttl": schema.StringAttribute{Optional: true, CustomType: timetypes.GoDurationType{},
				// Replaces only when the duration changes: "2h" and Velero's "2h0m0s" are the same.
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(sameDurationKeeps,
					"Changing the TTL replaces the backup.", "Changing the TTL replaces the backup.")},
				MarkdownDescription: "How long Velero keeps the backup, a Go duration. Default `720h` (Velero's default)."},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: "Labels for the Velero backup."},
			"wait_for_completion": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for the backup and verify it. With `false` the apply returns once the backup is created (`verified` stays false). Default `true`."},
			"deletion_policy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("retain"),
				Validators: []validator.String{stringvalidator.OneOf("retain", "delete")},
				MarkdownDescription: "What destroy does: `retain` (default) forgets the backup and lets its TTL expire it; `delete` removes " +
					"its data from the bucket through a Velero `DeleteBackupRequest` and waits until it is gone."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true,
				CreateDescription: "How long create may wait for the backup to finish, a Go duration. Default `30m`.",
				UpdateDescription: "How long an apply that resumes an interrupted wait may wait. Default `30m`.",
				DeleteDescription: "How long destroy with `deletion_policy = \"delete\"` may wait. Default `10m`."}),
			"phase":        computedString("Velero's phase of the backup (`Completed` after a successful apply)."),
			"verified":     schema.BoolAttribute{Computed: true, MarkdownDescription: "True once the provider has proven the backup: Completed, no failed hook, every expected volume captured with data."},
			"started_at":   computedString("When Velero started the backup (RFC 3339)."),
			"completed_at": computedString("When it finished (RFC 3339)."),
			"expires_at":   computedString("When Velero's TTL removes it (RFC 3339)."),
			"items_backed_up": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Kubernetes objects in the backup."},
			"captured": schema.MapNestedAttribute{Computed: true,
				MarkdownDescription: "Per enabled component: what was captured.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"kind":       schema.StringAttribute{Computed: true, MarkdownDescription: "Strategy."},
					"pods":       schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Pods backed up."},
					"volumes":    schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Pod volumes backed up."},
					"bytes":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes of volume data captured."},
					"dump_files": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Database kinds: the dump files, in the dump volume."},
					"checksums":  schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Their sha256, in the same order."},
				}},
			},
		},
	}
}

func (r *backupResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *backupResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config backupModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	strategyComponents(ctx, config.Components, &resp.Diagnostics)
}

// ModifyPlan turns a backup whose wait was interrupted into an update that resumes waiting and
// verifying, instead of a second backup.
func (r *backupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan backupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		return
	}
	var state backupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if !state.Verified.ValueBool() && plan.WaitForCompletion.ValueBool() {
		planResume(ctx, resp, map[string]attr.Value{
			"phase": types.StringUnknown(), "verified": types.BoolUnknown(), "completed_at": types.StringUnknown(),
			"expires_at": types.StringUnknown(), "items_backed_up": types.Int64Unknown(),
			"captured": types.MapUnknown(types.ObjectType{AttrTypes: capturedAttrTypes}),
		})
	}
}

// generatedBackupName is <namespace>-<yyyymmdd-hhmmss>, within Velero's 63 characters.
func generatedBackupName(namespace string, now time.Time) string {
	suffix := "-" + now.UTC().Format("20060102-150405")
	if max := 63 - len(suffix); len(namespace) > max {
		namespace = strings.TrimRight(namespace[:max], "-")
	}
	return namespace + suffix
}

func (r *backupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan backupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	components, ok := strategyComponents(ctx, plan.Components, &resp.Diagnostics)
	if !ok {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ttl := defaultBackupTTL
	if !plan.TTL.IsNull() {
		ttl, diags = plan.TTL.ValueGoDuration()
		resp.Diagnostics.Append(diags...)
	}
	labels := map[string]string{}
	resp.Diagnostics.Append(plan.Labels.ElementsAs(ctx, &labels, true)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.Name.IsUnknown() {
		plan.Name = types.StringValue(generatedBackupName(plan.Namespace.ValueString(), time.Now()))
	}
	request := backups.BackupRequest{
		Name: plan.Name.ValueString(), Namespace: plan.Namespace.ValueString(), Location: plan.BackupLocation.ValueString(),
		Components: components, TTL: ttl, Labels: labels,
	}
	runner := r.data.runner()
	plans, pods, err := runner.PlanBackup(ctx, request)
	if err != nil {
		addProblems(&resp.Diagnostics, "Backup preflight failed: nothing was created", err)
		return
	}
	for _, p := range plans {
		for _, w := range p.Warnings {
			resp.Diagnostics.AddWarning("Backup of component "+p.Component, w)
		}
	}
	backup, err := runner.StartBackup(ctx, request, plans, pods)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create the Velero backup", err.Error())
		return
	}
	// Saved before waiting: an interrupted apply leaves this backup in state, and the next apply
	// resumes waiting for it instead of starting another.
	plan.ID = types.StringValue(backup.Name)
	plan.fromBackup(backup)
	plan.Verified = types.BoolValue(false)
	plan.Captured = types.MapNull(types.ObjectType{AttrTypes: capturedAttrTypes})
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if !plan.WaitForCompletion.ValueBool() {
		return
	}
	r.waitAndVerify(ctx, &plan, components, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Update only changes how the provider behaves, or resumes an interrupted wait.
func (r *backupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state backupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resumed := state
	// Arguments from the plan (components too: after an import state has none); results from state.
	resumed.WaitForCompletion, resumed.DeletionPolicy, resumed.Timeouts = plan.WaitForCompletion, plan.DeletionPolicy, plan.Timeouts
	resumed.Components, resumed.Labels, resumed.TTL = plan.Components, plan.Labels, plan.TTL
	if state.Verified.ValueBool() || !plan.WaitForCompletion.ValueBool() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &resumed)...)
		return
	}
	if !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	components, ok := strategyComponents(ctx, plan.Components, &resp.Diagnostics)
	if !ok {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.waitAndVerify(ctx, &resumed, components, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &resumed)...)
}

// waitAndVerify waits for the backup by watching it, then proves it. An interrupted wait
// (Ctrl-C) is a warning, not an error, so the resource is not tainted: the next apply resumes.
func (r *backupResource) waitAndVerify(ctx context.Context, m *backupModel, components []strategy.Component, diags *diag.Diagnostics) {
	runner := r.data.runner()
	name := m.Name.ValueString()
	backup, err := runner.WaitBackup(ctx, name)
	if backup != nil {
		m.fromBackup(backup)
	}
	if !waitSucceeded(diags, "backup", name, m.Phase.ValueString(), err) {
		return
	}
	plans, err := backups.PlansFromBackup(backup, components)
	if err != nil {
		addProblems(diags, "Cannot verify the backup", err)
		return
	}
	reports, err := runner.VerifyBackup(ctx, backup, plans)
	m.Captured = capturedValue(reports, diags)
	if err != nil {
		diags.AddError("The backup did not capture what it must", err.Error()+
			"\n\nThe backup is kept (tainted): the next apply replaces it with a new one.")
		return
	}
	m.Verified = types.BoolValue(true)
}

// Read reflects Velero: a backup deleted or expired out of band disappears from state, and the
// next plan creates a new one.
func (r *backupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state backupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	name := state.Name.ValueString()
	if name == "" {
		name = state.ID.ValueString()
	}
	backup, err := velero.Get[velerov1.Backup](ctx, r.data.velero, name)
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Velero backup", err.Error())
		return
	}
	if backup.Status.Phase == velerov1.BackupPhaseDeleting {
		resp.State.RemoveResource(ctx) // being deleted: gone for every purpose
		return
	}
	state.fromBackup(backup)
	if state.Name.IsNull() { // import
		state.Name = types.StringValue(backup.Name)
		state.ID = types.StringValue(backup.Name)
		state.fromImport(ctx, backup, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *backupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state backupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || state.DeletionPolicy.ValueString() != "delete" {
		return // retain: Velero's TTL expires the backup
	}
	if !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.data.runner().DeleteBackup(ctx, state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the backup", err.Error())
	}
}

func (r *backupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

func (m *backupModel) fromBackup(b *velerov1.Backup) {
	m.Phase = types.StringValue(string(b.Status.Phase))
	m.StartedAt = timeString(b.Status.StartTimestamp)
	m.CompletedAt = timeString(b.Status.CompletionTimestamp)
	m.ExpiresAt = timeString(b.Status.Expiration)
	m.ItemsBackedUp = types.Int64Value(0)
	if p := b.Status.Progress; p != nil {
		m.ItemsBackedUp = types.Int64Value(int64(p.ItemsBackedUp))
	}
	if m.Verified.IsNull() || m.Verified.IsUnknown() {
		m.Verified = types.BoolValue(false)
	}
	if m.Captured.IsUnknown() {
		m.Captured = types.MapNull(types.ObjectType{AttrTypes: capturedAttrTypes})
	}
}

// fromImport fills the arguments of an imported backup from the Velero object. Components are
// not recoverable (the driver file is): the configuration's value is taken at the next apply,
// which the import verification ignores.
func (m *backupModel) fromImport(_ context.Context, b *velerov1.Backup, diags *diag.Diagnostics) {
	if len(b.Spec.IncludedNamespaces) == 1 {
		m.Namespace = types.StringValue(b.Spec.IncludedNamespaces[0])
	}
	m.BackupLocation = types.StringValue(b.Spec.StorageLocation)
	if b.Spec.TTL.Duration > 0 {
		m.TTL = timetypes.NewGoDurationValue(b.Spec.TTL.Duration)
	}
	m.WaitForCompletion = types.BoolValue(true)
	m.DeletionPolicy = types.StringValue("retain")
	m.Verified = types.BoolValue(b.Status.Phase == velerov1.BackupPhaseCompleted)
	labels := map[string]attr.Value{}
	for k, v := range b.Labels {
		if k != backups.ManagedByLabel && !strings.HasPrefix(k, "velero.io/") {
			labels[k] = types.StringValue(v)
		}
	}
	if len(labels) > 0 {
		var d diag.Diagnostics
		m.Labels, d = types.MapValue(types.StringType, labels)
		diags.Append(d...)
	} else {
		m.Labels = types.MapNull(types.StringType)
	}
	m.Components = types.MapNull(types.ObjectType{AttrTypes: componentAttrTypes})
}

func timeString(t *metav1.Time) types.String {
	if t == nil {
		return types.StringValue("")
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

func capturedValue(reports []backups.ComponentReport, diags *diag.Diagnostics) types.Map {
	list := func(values []string) types.List { return stringList(values, diags) }
	out := map[string]attr.Value{}
	for _, rep := range reports {
		obj, d := types.ObjectValue(capturedAttrTypes, map[string]attr.Value{
			"kind": types.StringValue(rep.Kind), "pods": list(rep.Pods), "volumes": list(rep.Volumes),
			"bytes": types.Int64Value(rep.Bytes), "dump_files": list(rep.DumpFiles), "checksums": list(rep.Checksums),
		})
		diags.Append(d...)
		out[rep.Component] = obj
	}
	m, d := types.MapValue(types.ObjectType{AttrTypes: capturedAttrTypes}, out)
	diags.Append(d...)
	return m
}

// addProblems adds one error per problem of a preflight, so each shows on its own.
func addProblems(diags *diag.Diagnostics, summary string, err error) {
	var pf *backups.PreflightError
	if errors.As(err, &pf) {
		for _, p := range pf.Problems {
			diags.AddError(summary, p.Error())
		}
		return
	}
	diags.AddError(summary, err.Error())
}

// planResume marks the results unknown, so a resource whose wait was interrupted plans an
// update that resumes waiting for the same Velero object.
func planResume(ctx context.Context, resp *resource.ModifyPlanResponse, results map[string]attr.Value) {
	for name, unknown := range results {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), unknown)...)
	}
}

// waitSucceeded turns the end of a wait into diagnostics. An interrupted wait (Ctrl-C) is a
// warning, not an error, so the resource is not tainted and the next apply resumes the wait.
func waitSucceeded(diags *diag.Diagnostics, what, name, phase string, err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		diags.AddWarning("Stopped waiting for the "+what,
			fmt.Sprintf("The wait for Velero %s %q was interrupted. It goes on in Velero; the next apply waits for it and verifies it "+
				"(no second %s is made).", what, name, what))
		return false
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Timed out waiting for the "+what,
			fmt.Sprintf("Velero %s %q did not finish within the timeout (it is %s). Raise timeouts.create, or check the Velero server "+
				"and its node-agent.", what, name, backups.PhaseOrNew(phase)))
		return false
	case err != nil:
		diags.AddError("Cannot wait for the "+what, err.Error())
		return false
	}
	return true
}

// sameDurationKeeps asks for replacement only when the planned duration differs from the
// state's in value, not in spelling.
func sameDurationKeeps(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsUnknown() || req.PlanValue.IsNull() {
		resp.RequiresReplace = !req.StateValue.Equal(req.PlanValue) && !req.StateValue.IsNull()
		return
	}
	before, errBefore := time.ParseDuration(req.StateValue.ValueString())
	after, errAfter := time.ParseDuration(req.PlanValue.ValueString())
	resp.RequiresReplace = errBefore != nil || errAfter != nil || before != after
}
