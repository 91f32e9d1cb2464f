package provider

import (
	"context"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

var (
	_ resource.ResourceWithConfigure      = (*backupScheduleResource)(nil)
	_ resource.ResourceWithImportState    = (*backupScheduleResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*backupScheduleResource)(nil)
	_ resource.ResourceWithValidateConfig = (*backupScheduleResource)(nil)
)

func NewBackupScheduleResource() resource.Resource { return &backupScheduleResource{} }

type backupScheduleResource struct{ data *providerData }

// backupScheduleModel is styrmin_backup_schedule: what to back up, where and when, then what
// refresh found of its backups and of what they rely on.
type backupScheduleModel struct {
	ID                 types.String         `tfsdk:"id"`
	Name               types.String         `tfsdk:"name"`
	Namespace          types.String         `tfsdk:"namespace"`
	BackupLocation     types.String         `tfsdk:"backup_location"`
	Components         types.Map            `tfsdk:"components"`
	Schedule           types.String         `tfsdk:"schedule"`
	TTL                timetypes.GoDuration `tfsdk:"ttl"`
	Paused             types.Bool           `tfsdk:"paused"`
	UseOwnerReferences types.Bool           `tfsdk:"use_owner_references_in_backup"`
	Labels             types.Map            `tfsdk:"labels"`
	Timeouts           timeouts.Value       `tfsdk:"timeouts"`

	Phase      types.String `tfsdk:"phase"`
	LastBackup types.Object `tfsdk:"last_backup"`
	OutOfSync  types.List   `tfsdk:"out_of_sync"`
}

// lastBackupModel is last_backup.
type lastBackupModel struct {
	Name        types.String `tfsdk:"name"`
	Phase       types.String `tfsdk:"phase"`
	StartedAt   types.String `tfsdk:"started_at"`
	CompletedAt types.String `tfsdk:"completed_at"`
	ExpiresAt   types.String `tfsdk:"expires_at"`
	Verified    types.Bool   `tfsdk:"verified"`
	Problem     types.String `tfsdk:"problem"`
}

var lastBackupAttrTypes = map[string]attr.Type{
	"name": types.StringType, "phase": types.StringType, "started_at": types.StringType, "completed_at": types.StringType,
	"expires_at": types.StringType, "verified": types.BoolType, "problem": types.StringType,
}

const defaultScheduleTTL = "720h"

func (r *backupScheduleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backup_schedule"
}

func (r *backupScheduleResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	requiresReplace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Velero `Schedule` of a deployment's backups, each made as `styrmin_backup` makes one: the components' " +
			"hooks dump the databases, and their named volumes are captured.\n\n" +
			"Apply checks the components against the live pods (as `styrmin_backup` does), selects their volumes on the pod " +
			"templates of the workloads that own the pods (so pods made again between runs keep them), writes the `Schedule`, " +
			"then makes its first backup at once and proves it. Refresh reports the schedule's last finished backup, proven " +
			"again; the plan updates the schedule (which makes and proves a backup now) when that backup failed its proof, " +
			"or finished more than twice the schedule's interval ago, or when a pod template or the Velero object changed " +
			"out of band (`out_of_sync`). A drift job's `terraform plan -detailed-exitcode` then exits 2.\n\n" +
			"Destroy deletes the `Schedule` and keeps its backups: their `ttl` expires them.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The Velero schedule's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				Validators: []validator.String{stringvalidator.LengthBetween(1, 48),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit")},
				MarkdownDescription: "Name of the Velero schedule; its backups are named `<name>-<yyyymmddhhmmss>`. At most 48 characters, " +
					"so that a backup's name stays within Kubernetes' 63."},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				Validators:          []validator.String{kubernetesNamespace()},
				MarkdownDescription: "Namespace of the deployment to back up. Changing it replaces the schedule."},
			"backup_location": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				MarkdownDescription: "Name of the backup storage location; must be `Available` and `ReadWrite`. Changing it replaces the schedule."},
			"components": componentsAttribute("The deployment's components: `data.styrmin_driver_spec.x.components`. Every enabled component must match " +
				"at least one Running pod at apply. Changing them updates the schedule's backup template and makes and proves a backup."),
			"schedule": schema.StringAttribute{Required: true, Validators: []validator.String{cronExpression()},
				MarkdownDescription: "When Velero makes a backup: a cron expression of five fields (`0 3 * * *`, UTC) or a descriptor " +
					"(`@daily`, `@every 6h`), as Velero reads it."},
			"ttl": schema.StringAttribute{Optional: true, Computed: true, CustomType: timetypes.GoDurationType{},
				Default:    stringdefault.StaticString(defaultScheduleTTL),
				Validators: []validator.String{positiveDuration()},
				MarkdownDescription: "How long Velero keeps each backup, a Go duration above zero. Default `" + defaultScheduleTTL + "`. " +
					"It also expires the backups left after the schedule is destroyed."},
			"paused": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Stop making backups, keeping the schedule. A paused schedule makes no backup at apply, and the age " +
					"and proof of its last backup do not plan an update. Default `false`."},
			"use_owner_references_in_backup": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Make the `Schedule` the owner of its backups, so that deleting it (destroy) makes Kubernetes delete the " +
					"Backup objects, not their data in the bucket; backup sync brings them back. Default `false`."},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Validators:          []validator.Map{kubernetesLabels()},
				MarkdownDescription: "Labels for the Velero schedule and every backup it makes."},
			"timeouts": positiveTimeouts(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true,
				CreateDescription: "How long create may wait for the first backup, a Go duration above zero. Default `30m`.",
				UpdateDescription: "How long an update that makes a backup may wait for it, a Go duration above zero. Default `30m`."})),
			"phase": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Velero's phase of the schedule: `Enabled` once Velero validated it (`New` before)."},
			"last_backup": schema.SingleNestedAttribute{Computed: true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The schedule's newest backup that Velero has finished (made by Velero's schedule or by this " +
					"resource), proven as `styrmin_backup` proves its own; null when there is none.",
				Attributes: map[string]schema.Attribute{
					"name":         computedString("The Velero backup's name."),
					"phase":        computedString("Velero's phase of the backup."),
					"started_at":   computedString("When Velero started it (RFC 3339)."),
					"completed_at": computedString("When it finished (RFC 3339)."),
					"expires_at":   computedString("When its TTL removes it (RFC 3339)."),
					"verified":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether it is proven: Completed, every hook ran, every named volume captured with data, every dump reported in its log, its files in the bucket."},
					"problem":      computedString("Why it is not verified (empty when it is)."),
				}},
			"out_of_sync": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "What refresh found changed out of band, one line each: a workload whose pod template no longer " +
					"selects a component's volume (a Helm upgrade or `kubectl edit` removed the annotation), or the schedule's backup " +
					"template changed. Empty when nothing is; otherwise the plan updates the schedule, which puts them back."},
		},
	}
}

func (r *backupScheduleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *backupScheduleResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config backupScheduleModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	componentsFrom(config.Components, &resp.Diagnostics)
}

// ModifyPlan plans an update, which makes and proves a backup now, when the last backup failed
// its proof or is too old, or when its components change; and one that puts back what changed
// out of band. A warning says why, so the drift job's output explains its exit code.
func (r *backupScheduleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state backupScheduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.warnRollouts(ctx, plan, &resp.Diagnostics)
	if req.State.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var outOfSync []string
	resp.Diagnostics.Append(state.OutOfSync.ElementsAs(ctx, &outOfSync, true)...)
	if len(outOfSync) > 0 {
		resp.Diagnostics.AddAttributeWarning(path.Root("out_of_sync"), "Backup schedule "+state.Name.ValueString()+" is out of sync",
			"- "+strings.Join(outOfSync, "\n- ")+"\n\nThis plan updates the schedule, which puts them back (a pod template that changes rolls its pods).")
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("out_of_sync"), types.ListUnknown(types.StringType))...)
	}
	if plan.Paused.ValueBool() || plan.Schedule.IsUnknown() {
		return
	}
	why := lastBackupProblem(ctx, state, plan, time.Now())
	if why == "" && !plan.Components.Equal(state.Components) && !state.Components.IsNull() {
		why = "its components change: the update makes a backup with the new hooks and volumes, and proves it"
	}
	if why == "" {
		return
	}
	if !state.Components.IsNull() { // not right after an import, when the components are not known yet
		resp.Diagnostics.AddAttributeWarning(path.Root("last_backup"), "Backup schedule "+state.Name.ValueString()+" needs a backup",
			why+".\n\nThis plan updates the schedule, which makes a backup of it now and proves it (the apply fails if that backup fails).")
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("last_backup"), types.ObjectUnknown(lastBackupAttrTypes))...)
}

// warnRollouts says, at plan time, which workloads the apply makes roll their pods: their pod
// templates gain the volumes to back up. Best effort: what cannot be checked now, the apply's
// preflight checks.
func (r *backupScheduleResource) warnRollouts(ctx context.Context, plan backupScheduleModel, diags *diag.Diagnostics) {
	if r.data == nil || plan.Namespace.IsUnknown() || plan.Components.IsUnknown() {
		return
	}
	var ignored diag.Diagnostics
	components, ok := componentsFrom(plan.Components, &ignored)
	if !ok || !r.data.ready(ctx, &ignored) {
		return
	}
	rollouts, err := r.data.runner().Rollouts(ctx, plan.Namespace.ValueString(), components)
	if err != nil || len(rollouts) == 0 {
		return
	}
	diags.AddAttributeWarning(path.Root("components"), "Applying this rolls workloads of namespace "+plan.Namespace.ValueString(),
		"- "+strings.Join(rollouts, "\n- ")+"\n\nVelero backs up a pod's volumes only when the pod names them in that annotation, and a pod made "+
			"again has only what its template gives it. Changing the template makes Kubernetes make the workload's pods again, as its update "+
			"strategy says: data kept only in a pod's emptyDir volumes goes with the old pod. To avoid the rollout, set the annotation in the "+
			"chart's pod templates; the apply then changes nothing there.")
}

// lastBackupProblem says why the schedule's last backup, as refresh found it, is not good
// enough ("" when it is): none, not proven, or older than twice the interval.
func lastBackupProblem(ctx context.Context, state, plan backupScheduleModel, now time.Time) string {
	if state.Paused.ValueBool() || state.LastBackup.IsUnknown() {
		return "" // the schedule was paused: no backup was due
	}
	if state.LastBackup.IsNull() {
		return "the schedule has no finished backup"
	}
	var last lastBackupModel
	if diags := state.LastBackup.As(ctx, &last, basetypes.ObjectAsOptions{}); diags.HasError() {
		return ""
	}
	if !last.Verified.ValueBool() {
		return fmt.Sprintf("its last backup %s is not verified: %s", last.Name.ValueString(), last.Problem.ValueString())
	}
	interval, err := backups.ParseCron(plan.Schedule.ValueString(), now)
	completed, errTime := time.Parse(time.RFC3339, last.CompletedAt.ValueString())
	if err != nil || errTime != nil || now.Sub(completed) <= 2*interval {
		return ""
	}
	return fmt.Sprintf("its last backup %s finished at %s, more than twice its interval (%s) ago: Velero has not made the backups due since",
		last.Name.ValueString(), completed.Format(time.RFC3339), interval)
}

func (r *backupScheduleResource) request(ctx context.Context, m *backupScheduleModel, diags *diag.Diagnostics) (backups.ScheduleRequest, bool) {
	components, ok := componentsFrom(m.Components, diags)
	ttl, d := m.TTL.ValueGoDuration()
	diags.Append(d...)
	labels := map[string]string{}
	diags.Append(m.Labels.ElementsAs(ctx, &labels, true)...)
	return backups.ScheduleRequest{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), Location: m.BackupLocation.ValueString(),
		Components: components, Cron: m.Schedule.ValueString(), TTL: ttl, Paused: m.Paused.ValueBool(),
		UseOwnerReferences: m.UseOwnerReferences.ValueBool(), Labels: labels,
	}, ok && !diags.HasError()
}

// apply checks the request, writes the Schedule and the workloads' volume selection, and saves
// state; then, when run, makes a backup of the schedule, waits for it and proves it. State is
// saved before the wait, so an error after the Schedule exists taints the resource.
func (r *backupScheduleResource) apply(ctx context.Context, m *backupScheduleModel, run bool, state *tfsdk.State, diags *diag.Diagnostics) {
	if !r.data.ready(ctx, diags) {
		return
	}
	req, ok := r.request(ctx, m, diags)
	if !ok {
		return
	}
	runner := r.data.runner()
	plans, err := runner.PlanSchedule(ctx, req)
	if err != nil {
		addProblems(diags, "Backup schedule preflight failed: nothing was changed", err)
		return
	}
	schedule, warnings, err := runner.ApplySchedule(ctx, req, plans)
	for _, w := range warnings {
		diags.AddWarning("Backup schedule "+req.Name, w)
	}
	if err != nil {
		addProblems(diags, "Cannot write the backup schedule", err)
		return
	}
	m.ID = m.Name
	m.Phase = types.StringValue(backups.PhaseOrNew(string(schedule.Status.Phase)))
	m.OutOfSync = types.ListValueMust(types.StringType, nil)
	if m.LastBackup.IsUnknown() {
		m.LastBackup = types.ObjectNull(lastBackupAttrTypes)
	}
	diags.Append(state.Set(ctx, m)...)
	if !run || diags.HasError() {
		return
	}
	created, err := runner.RunSchedule(ctx, schedule, time.Now)
	if err != nil {
		diags.AddError("Cannot make the schedule's backup", err.Error())
		return
	}
	backup, err := runner.WaitBackup(ctx, created.Name, logProgress(ctx, "backup", created.Name))
	phase := ""
	if backup != nil {
		phase = string(backup.Status.Phase)
	}
	if !waitSucceeded(diags, "backup", created.Name, phase, err) {
		return
	}
	_, err = runner.ProveBackup(ctx, backup, req.Components)
	found := backups.FoundBackup{Backup: backup, Verified: err == nil}
	if err != nil {
		found.Problem = err.Error()
		diags.AddError("The schedule's backup did not capture what it must", err.Error()+
			"\n\nThe schedule is kept (tainted): the next apply replaces it, and makes a backup again.")
	}
	m.LastBackup = lastBackupValue(&found, diags)
	diags.Append(state.Set(ctx, m)...)
}

func (r *backupScheduleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.applyPlan(ctx, req.Plan, &resp.State, &resp.Diagnostics, func(m backupScheduleModel) (time.Duration, diag.Diagnostics) {
		return m.Timeouts.Create(ctx, defaultOperationTimeout)
	}, func(m backupScheduleModel) bool { return !m.Paused.ValueBool() })
}

// Update writes the schedule as planned and, when the plan left last_backup to the apply (see
// ModifyPlan), makes a backup and proves it.
func (r *backupScheduleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.applyPlan(ctx, req.Plan, &resp.State, &resp.Diagnostics, func(m backupScheduleModel) (time.Duration, diag.Diagnostics) {
		return m.Timeouts.Update(ctx, defaultOperationTimeout)
	}, func(m backupScheduleModel) bool { return m.LastBackup.IsUnknown() && !m.Paused.ValueBool() })
}

// applyPlan is apply on the planned model, within its timeout; run says whether it makes a backup.
func (r *backupScheduleResource) applyPlan(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics,
	timeout func(backupScheduleModel) (time.Duration, diag.Diagnostics), run func(backupScheduleModel) bool) {
	var m backupScheduleModel
	diags.Append(plan.Get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	limit, d := timeout(m)
	diags.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r.apply(ctx, &m, run(m), state, diags)
}

// Read reflects the Schedule, its last finished backup (proven again) and what its backups rely
// on. A Schedule deleted out of band disappears from state, and the plan creates it again.
func (r *backupScheduleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state backupScheduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	name := state.ID.ValueString()
	schedule, err := velero.Get[velerov1.Schedule](ctx, r.data.velero, name)
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Velero schedule", err.Error())
		return
	}
	state.fromSchedule(schedule)
	if state.Components.IsNull() { // import: nothing to prove against until the configuration gives them
		state.LastBackup = types.ObjectNull(lastBackupAttrTypes)
		state.OutOfSync = types.ListValueMust(types.StringType, nil)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	request, ok := r.request(ctx, &state, &resp.Diagnostics)
	if !ok {
		return
	}
	runner := r.data.runner()
	last, err := runner.LastScheduledBackup(ctx, schedule.Name, request.Location, request.Namespace, request.Components)
	if err != nil {
		resp.Diagnostics.AddWarning("Cannot read the schedule's last backup", err.Error())
	} else {
		state.LastBackup = lastBackupValue(last, &resp.Diagnostics)
	}
	drift, err := runner.ScheduleDrift(ctx, schedule, request)
	if err != nil {
		resp.Diagnostics.AddWarning("Cannot compare the schedule with its workloads",
			"Whether the pod templates still select the components' volumes is unknown: "+err.Error())
	} else {
		state.OutOfSync = stringList(drift, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// fromSchedule reads the Schedule's settings into the model: what someone changed out of band
// shows in the plan.
func (m *backupScheduleModel) fromSchedule(s *velerov1.Schedule) {
	m.ID, m.Name = types.StringValue(s.Name), types.StringValue(s.Name)
	m.Phase = types.StringValue(backups.PhaseOrNew(string(s.Status.Phase)))
	m.Schedule = types.StringValue(s.Spec.Schedule)
	m.Paused = types.BoolValue(s.Spec.Paused)
	m.UseOwnerReferences = types.BoolValue(ptr.Deref(s.Spec.UseOwnerReferencesInBackup, false))
	m.BackupLocation = types.StringValue(s.Spec.Template.StorageLocation)
	if len(s.Spec.Template.IncludedNamespaces) == 1 {
		m.Namespace = types.StringValue(s.Spec.Template.IncludedNamespaces[0])
	}
	// Semantic equality keeps the configuration's spelling ("720h" is Velero's "720h0m0s").
	m.TTL = timetypes.NewGoDurationValue(s.Spec.Template.TTL.Duration)
}

func lastBackupValue(f *backups.FoundBackup, diags *diag.Diagnostics) types.Object {
	if f == nil {
		return types.ObjectNull(lastBackupAttrTypes)
	}
	b := f.Backup
	v, d := types.ObjectValue(lastBackupAttrTypes, map[string]attr.Value{
		"name": types.StringValue(b.Name), "phase": types.StringValue(backups.PhaseOrNew(string(b.Status.Phase))),
		"started_at": timeString(b.Status.StartTimestamp), "completed_at": timeString(b.Status.CompletionTimestamp),
		"expires_at": timeString(b.Status.Expiration), "verified": types.BoolValue(f.Verified), "problem": types.StringValue(f.Problem),
	})
	diags.Append(d...)
	return v
}

// Delete deletes the Schedule. Its backups stay, and their TTL expires them.
func (r *backupScheduleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state backupScheduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	if err := r.data.runner().DeleteSchedule(ctx, state.ID.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the backup schedule", err.Error())
	}
}

// ImportState takes the ID every resource takes (importName); Read fills in the rest but the
// components, which the configuration gives at the next apply.
func (r *backupScheduleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if name, ok := r.data.importName(req.ID, "a Velero schedule", &resp.Diagnostics); ok {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	}
}
