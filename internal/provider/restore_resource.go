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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
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
	_ resource.ResourceWithConfigure      = (*restoreResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*restoreResource)(nil)
	_ resource.ResourceWithValidateConfig = (*restoreResource)(nil)
	_ resource.ResourceWithImportState    = (*restoreResource)(nil)
)

func NewRestoreResource() resource.Resource { return &restoreResource{} }

type restoreResource struct{ data *providerData }

// restoreModel is styrmin_restore: the attributes every operation has, then which backup goes
// where and how (a change replaces the restore), and what was restored.
type restoreModel struct {
	operationModel
	BackupName             types.String         `tfsdk:"backup_name"`
	SourceNamespace        types.String         `tfsdk:"source_namespace"`
	TargetNamespace        types.String         `tfsdk:"target_namespace"`
	ExistingResourcePolicy types.String         `tfsdk:"existing_resource_policy"`
	RestorePVs             types.Bool           `tfsdk:"restore_pvs"`
	BackupSyncTimeout      timetypes.GoDuration `tfsdk:"backup_sync_timeout"` // changes in place
	InPlace                types.Bool           `tfsdk:"in_place"`

	Removes  types.List `tfsdk:"removes"`
	Restored types.Map  `tfsdk:"restored"`
}

var restoredAttrTypes = map[string]attr.Type{
	"kind":    types.StringType,
	"pods":    types.ListType{ElemType: types.StringType},
	"volumes": types.ListType{ElemType: types.StringType},
	"bytes":   types.Int64Type,
}

const defaultBackupSyncTimeout = 2 * time.Minute

func (r *restoreResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_restore"
}

func (r *restoreResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	requiresReplace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Restore-on-apply: restores a `styrmin_backup` into the same or another namespace and replays " +
			"each component's dump (environment clones).\n\n" +
			"Velero restores volume data and runs restore hooks only in pods it creates itself, and keeps what exists. A target " +
			"namespace that already runs a component's pods, or holds the backup's workloads or claims, is therefore refused " +
			"before anything is created: restore into a fresh namespace, remove the workload first, or restore in place " +
			"(`in_place = true`), which lists in the plan what it deletes. The apply succeeds only when the restore is " +
			"`Completed` without errors and every backed-up volume of the components was restored; a failed replay fails its " +
			"hook and the error quotes Velero's reasons.\n\n" +
			"Destroy removes only the Velero `Restore` record, never restored resources or data.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The Velero restore's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Name of the Velero restore. Default: `<target namespace>-restore-<yyyymmdd-hhmmss>-<4 random characters>` (UTC time of the apply).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators: []validator.String{stringvalidator.LengthBetween(1, 63),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit")}},
			"backup_name": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				MarkdownDescription: "The Velero backup to restore (`styrmin_backup.x.name`). From a `ReadOnly` location of another environment, " +
					"the provider waits up to `backup_sync_timeout` for Velero's backup sync to bring it in."},
			"source_namespace": schema.StringAttribute{Optional: true, PlanModifiers: requiresReplace,
				Validators:          []validator.String{kubernetesNamespace()},
				MarkdownDescription: "The backed-up namespace. Default: the backup's only namespace."},
			"target_namespace": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				Validators: []validator.String{kubernetesNamespace()},
				MarkdownDescription: "Namespace to restore into; may equal the source (after the workload was removed). " +
					"A Kubernetes namespace name (lower-case letters, digits and `-`, at most 63 characters)."},
			"components": componentsAttribute("The components whose data is replayed (restore hooks), as for `styrmin_backup`."),
			"existing_resource_policy": schema.StringAttribute{Optional: true, PlanModifiers: requiresReplace,
				Validators:          []validator.String{stringvalidator.OneOf("none", "update")},
				MarkdownDescription: "What Velero does with resources that already exist in the target: `none` (default, keep them) or `update`."},
			"restore_pvs": schema.BoolAttribute{Optional: true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
				MarkdownDescription: "Restore persistent volumes from snapshots (Velero's `restorePVs`). Volume data backed up by file-system backup is restored regardless."},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}, Validators: []validator.Map{kubernetesLabels()},
				MarkdownDescription: "Labels for the Velero restore: valid Kubernetes label keys (`[prefix/]name`) and values (at most 63 characters)."},
			"backup_sync_timeout": schema.StringAttribute{Optional: true, CustomType: timetypes.GoDurationType{},
				Validators:          []validator.String{positiveDuration()},
				MarkdownDescription: "How long to wait for the backup to appear through backup sync, a Go duration above zero. Default `2m`."},
			"in_place": schema.BoolAttribute{Optional: true, // how the restore is made: changing it later replaces nothing
				MarkdownDescription: "Restore into a namespace that runs the components, replacing them. Before the restore, the apply deletes " +
					"the StatefulSets and Deployments whose pod template carries an enabled component's labels, the component pods no " +
					"controller owns, and the claims these pods use (a database's data claim too: its replay starts from an empty server), " +
					"and waits until they are gone; the plan lists them in `removes`, and the apply deletes exactly those. Nothing else in " +
					"the namespace is touched: ConfigMaps, Secrets, Services and the workloads that are not components stay as they are " +
					"(Velero keeps what exists), and keep running while the databases replay: stop the application first if no client " +
					"may see them empty. Refused when a component pod belongs to something else (a DaemonSet, a Job) or a pod that is " +
					"not a component's uses one of the claims. Only the apply that creates the restore reads it. Default `false`."},
			"removes": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "With `in_place`: what the restore deletes from the target namespace before it restores, as " +
					"`<Kind>/<name>`, known at plan time when the namespace and components are. Null otherwise."},
			"wait_for_completion": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for the restore and verify it. Default `true`."},
			"timeouts": positiveTimeouts(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true,
				CreateDescription: "How long create may wait for the restore to finish, a Go duration above zero. Default `30m`.",
				UpdateDescription: "How long an apply that resumes an interrupted wait may wait, a Go duration above zero. Default `30m`."})),
			"phase":        schema.StringAttribute{Computed: true, MarkdownDescription: "Velero's phase of the restore."},
			"verified":     schema.BoolAttribute{Computed: true, MarkdownDescription: "True once the provider has proven the restore."},
			"started_at":   schema.StringAttribute{Computed: true, MarkdownDescription: "When Velero started the restore (RFC 3339)."},
			"completed_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When it finished (RFC 3339)."},
			"restored": schema.MapNestedAttribute{Computed: true, MarkdownDescription: "Per component: what was restored.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"kind":    schema.StringAttribute{Computed: true, MarkdownDescription: "Strategy."},
					"pods":    schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Pods restored."},
					"volumes": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Pod volumes restored."},
					"bytes":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes of volume data restored."},
				}}},
		},
	}
}

func (r *restoreResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *restoreResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config restoreModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if !resp.Diagnostics.HasError() {
		componentsFrom(config.Components, &resp.Diagnostics)
	}
}

// ModifyPlan turns a restore whose wait was interrupted into an update that resumes it, and
// lists what a new restore in place removes.
func (r *restoreResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planResume(ctx, req, resp, map[string]attr.Value{"restored": types.MapUnknown(types.ObjectType{AttrTypes: restoredAttrTypes})})
	if req.Plan.Raw.IsNull() || !req.State.Raw.IsNull() {
		return
	}
	var plan restoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.InPlace.IsUnknown() && !plan.InPlace.ValueBool() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("removes"), types.ListNull(types.StringType))...)
		return
	}
	if plan.InPlace.IsUnknown() || plan.TargetNamespace.IsUnknown() || plan.Components.IsUnknown() || r.data == nil {
		return // known at apply
	}
	components, ok := componentsFrom(plan.Components, &resp.Diagnostics)
	if !ok || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	namespace := plan.TargetNamespace.ValueString()
	removals, err := r.data.runner().InPlaceRemovals(ctx, namespace, components)
	if err != nil {
		addProblems(&resp.Diagnostics, "The restore in place cannot replace the components", err)
		return
	}
	removes := removalNames(removals)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("removes"), stringList(removes, &resp.Diagnostics))...)
	what := "nothing: no component runs there"
	if len(removes) > 0 {
		what = strings.Join(removes, "\n  ")
	}
	resp.Diagnostics.AddWarning("The restore in place deletes the components' workloads and claims",
		fmt.Sprintf("Before it restores, the apply deletes from namespace %s, and waits until they are gone:\n  %s\n\n"+
			"Their current data is replaced by the backup's. Nothing else in the namespace is touched.", namespace, what))
}

func (m restoreModel) request(ctx context.Context, diags *diag.Diagnostics) (backups.RestoreRequest, bool) {
	components, ok := componentsFrom(m.Components, diags)
	if !ok {
		return backups.RestoreRequest{}, false
	}
	labels := map[string]string{}
	diags.Append(m.Labels.ElementsAs(ctx, &labels, true)...)
	syncWait := defaultBackupSyncTimeout
	if !m.BackupSyncTimeout.IsNull() {
		d, ds := m.BackupSyncTimeout.ValueGoDuration()
		diags.Append(ds...)
		syncWait = d
	}
	req := backups.RestoreRequest{
		Name: m.Name.ValueString(), Backup: m.BackupName.ValueString(), SourceNamespace: m.SourceNamespace.ValueString(),
		TargetNamespace: m.TargetNamespace.ValueString(), Components: components,
		ExistingResourcePolicy: m.ExistingResourcePolicy.ValueString(), Labels: labels, BackupSyncWait: syncWait,
		InPlace: m.InPlace.ValueBool(),
	}
	if req.InPlace && !m.Removes.IsUnknown() && !m.Removes.IsNull() {
		var removes []string
		diags.Append(m.Removes.ElementsAs(ctx, &removes, false)...)
		req.PlannedRemovals = []backups.Removal{}
		for _, s := range removes {
			o, err := backups.ParseRemoval(s)
			if err != nil {
				diags.AddAttributeError(path.Root("removes"), "Unreadable planned removal", err.Error())
			}
			req.PlannedRemovals = append(req.PlannedRemovals, o)
		}
	}
	if !m.RestorePVs.IsNull() {
		v := m.RestorePVs.ValueBool()
		req.RestorePVs = &v
	}
	return req, !diags.HasError()
}

func (r *restoreResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createOperation(ctx, req, resp, r.operation, func(m *restoreModel) string {
		return generatedBackupName(m.TargetNamespace.ValueString()+"-restore", time.Now())
	})
}

// Update only changes how the provider behaves, or resumes an interrupted wait.
func (r *restoreResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateOperation(ctx, req, resp, r.operation, func(plan, state *restoreModel) {
		state.BackupSyncTimeout, state.InPlace = plan.BackupSyncTimeout, plan.InPlace
	})
}

func (r *restoreResource) operation(m *restoreModel) operation {
	return &restoreOperation{data: r.data, model: m}
}

// restoreOperation is styrmin_restore's part of the lifecycle (lifecycle.go).
type restoreOperation struct {
	data    *providerData
	model   *restoreModel
	plan    *backups.RestorePlan
	restore *velerov1.Restore
}

func (o *restoreOperation) noun() string { return "restore" }

func (o *restoreOperation) begin(ctx context.Context, diags *diag.Diagnostics) bool {
	if !o.data.ready(ctx, diags) {
		return false
	}
	request, ok := o.model.request(ctx, diags)
	if !ok {
		return false
	}
	runner := o.data.runner()
	plan, err := runner.PlanRestore(ctx, request)
	if err != nil {
		addProblems(diags, "Restore preflight failed: nothing was created", err)
		return false
	}
	for _, w := range plan.Warnings {
		diags.AddWarning("Restore of backup "+plan.Backup.Name, w)
	}
	restore, err := runner.StartRestore(ctx, request, plan)
	if err != nil {
		diags.AddError("Cannot create the Velero restore", err.Error())
		return false
	}
	o.plan = plan
	o.model.fromRestore(restore)
	o.model.Restored = types.MapNull(types.ObjectType{AttrTypes: restoredAttrTypes})
	o.model.Removes = types.ListNull(types.StringType)
	if plan.InPlace {
		o.model.Removes = stringList(removalNames(plan.Removals), diags)
	}
	return true
}

func (o *restoreOperation) resume(ctx context.Context, diags *diag.Diagnostics) bool {
	if !o.data.ready(ctx, diags) {
		return false
	}
	request, ok := o.model.request(ctx, diags)
	if !ok {
		return false
	}
	plan, err := o.data.runner().ResumeRestore(ctx, request)
	if err != nil {
		addProblems(diags, "Cannot verify the restore", err)
		return false
	}
	o.plan = plan
	return true
}

func (o *restoreOperation) wait(ctx context.Context) (string, error) {
	restore, err := o.data.runner().WaitRestore(ctx, o.model.Name.ValueString(), logProgress(ctx, "restore", o.model.Name.ValueString()))
	if restore != nil {
		o.restore = restore
		o.model.fromRestore(restore)
	}
	return o.model.Phase.ValueString(), err
}

func (o *restoreOperation) verify(ctx context.Context, diags *diag.Diagnostics) bool {
	reports, err := o.data.runner().VerifyRestore(ctx, o.restore, o.plan)
	o.model.Restored = restoredValue(reports, diags)
	if err != nil {
		diags.AddError("The restore did not bring back what it must", err.Error()+
			"\n\nThe restore is kept (tainted): fix the cause, clear the target namespace, and apply again.")
		return false
	}
	for _, report := range reports {
		for _, left := range report.MarkersLeft {
			diags.AddWarning("Velero's restore marker is left in a volume",
				fmt.Sprintf("Component %s, %s. Velero writes .velero/<restore UID> at the root of every volume it restores; "+
					"the data is complete, but the directory stays next to it until removed.", report.Component, left))
		}
	}
	return true
}

func (r *restoreResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state restoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	restore, err := velero.Get[velerov1.Restore](ctx, r.data.velero, state.Name.ValueString())
	if apierrors.IsNotFound(err) {
		// A verified restore is an event that happened: Velero deletes a Restore with its backup
		// (a destroy with deletion_policy = "delete", or the backup's TTL), but what it restored
		// stays. Kept as it was, so the configuration goes on applying without a change; one that
		// was never proven is gone, and the next plan makes it again.
		if !state.Verified.ValueBool() {
			resp.State.RemoveResource(ctx)
		}
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Velero restore", err.Error())
		return
	}
	state.fromRestore(restore)
	if state.BackupName.IsNull() { // import
		state.fromImport(restore, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// ImportState takes the ID every resource takes (importName); Read fills in the rest.
func (r *restoreResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if name, ok := r.data.importName(req.ID, "a Velero restore", &resp.Diagnostics); ok {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	}
}

// fromImport fills the arguments of an imported restore from the Velero object. It counts as
// verified when Velero finished it Completed without errors or failed hooks: what it restored may
// have changed since, so the proof is not run again. Components, in_place and what was restored
// are not recoverable.
func (m *restoreModel) fromImport(rs *velerov1.Restore, diags *diag.Diagnostics) {
	m.BackupName = types.StringValue(rs.Spec.BackupName)
	source := ""
	if len(rs.Spec.IncludedNamespaces) == 1 {
		source = rs.Spec.IncludedNamespaces[0]
		m.TargetNamespace = types.StringValue(source)
	}
	if target, ok := rs.Spec.NamespaceMapping[source]; ok {
		m.TargetNamespace = types.StringValue(target)
	}
	if rs.Spec.ExistingResourcePolicy != "" {
		m.ExistingResourcePolicy = types.StringValue(string(rs.Spec.ExistingResourcePolicy))
	}
	if rs.Spec.RestorePVs != nil {
		m.RestorePVs = types.BoolValue(*rs.Spec.RestorePVs)
	}
	m.Labels = userLabels(rs.Labels, diags)
	m.WaitForCompletion = types.BoolValue(true)
	hooksFailed := rs.Status.HookStatus != nil && rs.Status.HookStatus.HooksFailed > 0
	m.Verified = types.BoolValue(rs.Status.Phase == velerov1.RestorePhaseCompleted && rs.Status.Errors == 0 && !hooksFailed)
	m.Components = types.MapNull(types.ObjectType{AttrTypes: componentAttrTypes})
	m.Removes = types.ListNull(types.StringType)
	m.Restored = types.MapNull(types.ObjectType{AttrTypes: restoredAttrTypes})
}

// Delete removes the Restore record only; what it restored stays.
func (r *restoreResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state restoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	err := velero.Delete[velerov1.Restore](ctx, r.data.velero, state.Name.ValueString())
	if err != nil && !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete the Velero restore record", err.Error())
	}
}

func (m *restoreModel) fromRestore(rs *velerov1.Restore) {
	m.observe(string(rs.Status.Phase), rs.Status.StartTimestamp, rs.Status.CompletionTimestamp)
	if m.Restored.IsUnknown() {
		m.Restored = types.MapNull(types.ObjectType{AttrTypes: restoredAttrTypes})
	}
}

// removalNames are what an in-place restore removes, as `removes` and the plan's warning show them.
func removalNames(removals []backups.Removal) []string {
	names := make([]string, len(removals))
	for i, o := range removals {
		names[i] = o.String()
	}
	return names
}

func restoredValue(reports []backups.RestoreReport, diags *diag.Diagnostics) types.Map {
	out := map[string]attr.Value{}
	for _, rep := range reports {
		pods, d := types.ListValueFrom(context.Background(), types.StringType, rep.Pods)
		diags.Append(d...)
		volumes, d := types.ListValueFrom(context.Background(), types.StringType, rep.Volumes)
		diags.Append(d...)
		obj, d := types.ObjectValue(restoredAttrTypes, map[string]attr.Value{
			"kind": types.StringValue(rep.Kind), "pods": pods, "volumes": volumes, "bytes": types.Int64Value(rep.Bytes),
		})
		diags.Append(d...)
		out[rep.Component] = obj
	}
	m, d := types.MapValue(types.ObjectType{AttrTypes: restoredAttrTypes}, out)
	diags.Append(d...)
	return m
}
