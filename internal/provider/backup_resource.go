package provider

import (
	"context"
	"crypto/rand"
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

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
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

// backupModel is styrmin_backup: the attributes every operation has, then what to back up and
// where (a change replaces the backup), what destroy does, and what the backup captured.
type backupModel struct {
	operationModel
	Namespace      types.String         `tfsdk:"namespace"`
	BackupLocation types.String         `tfsdk:"backup_location"`
	TTL            timetypes.GoDuration `tfsdk:"ttl"`
	DeletionPolicy types.String         `tfsdk:"deletion_policy"` // changes in place

	ExpiresAt     types.String `tfsdk:"expires_at"`
	ItemsBackedUp types.Int64  `tfsdk:"items_backed_up"`
	Captured      types.Map    `tfsdk:"captured"`
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
				MarkdownDescription: "Name of the Velero backup. Default: `<namespace>-<yyyymmdd-hhmmss>-<4 random characters>` (UTC time of the apply), unique for any number of backups of one namespace in one apply. It is in state " +
					"before the provider starts waiting, so an interrupted apply is resumed by the next one, never repeated.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
				Validators: []validator.String{stringvalidator.LengthBetween(1, 63),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit")},
			},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				Validators: []validator.String{kubernetesNamespace()},
				MarkdownDescription: "Namespace of the deployment to back up: all its resources, and the volumes its components name. " +
					"A Kubernetes namespace name (lower-case letters, digits and `-`, at most 63 characters)."},
			"backup_location": schema.StringAttribute{Required: true, PlanModifiers: requiresReplace,
				MarkdownDescription: "Name of the backup storage location (e.g. `styrmin_backup_location.x.name`); must be `Available` and `ReadWrite`."},
			"components": componentsAttribute("The deployment's components: `data.styrmin_driver_spec.x.components`, or the same shape written inline. " +
				"Every enabled component must match at least one Running pod. Changing them replaces the backup."),
			"ttl": schema.StringAttribute{Optional: true, CustomType: timetypes.GoDurationType{},
				// Replaces only when the duration changes: "2h" and Velero's "2h0m0s" are the same.
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(sameDurationKeeps,
					"Changing the TTL replaces the backup.", "Changing the TTL replaces the backup.")},
				Validators: []validator.String{positiveDuration()},
				MarkdownDescription: "How long Velero keeps the backup, a Go duration above zero (Velero expires a backup with a negative TTL at once). " +
					"Default `720h` (Velero's default)."},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				Validators:          []validator.Map{kubernetesLabels()},
				MarkdownDescription: "Labels for the Velero backup: valid Kubernetes label keys (`[prefix/]name`) and values (at most 63 characters)."},
			"wait_for_completion": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for the backup and verify it. With `false` the apply returns once the backup is created (`verified` stays false). Default `true`."},
			"deletion_policy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("retain"),
				Validators: []validator.String{stringvalidator.OneOf("retain", "delete")},
				MarkdownDescription: "What destroy does: `retain` (default) forgets the backup and lets its TTL expire it; `delete` removes " +
					"its data from the bucket through a Velero `DeleteBackupRequest` and waits until it is gone."},
			"timeouts": positiveTimeouts(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true,
				CreateDescription: "How long create may wait for the backup to finish, a Go duration above zero. Default `30m`.",
				UpdateDescription: "How long an apply that resumes an interrupted wait may wait, a Go duration above zero. Default `30m`.",
				DeleteDescription: "How long destroy with `deletion_policy = \"delete\"` may wait, a Go duration above zero. Default `10m`."})),
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
	componentsFrom(config.Components, &resp.Diagnostics)
}

// ModifyPlan turns a backup whose wait was interrupted into an update that resumes waiting and
// verifying, instead of a second backup.
func (r *backupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	planResume(ctx, req, resp, map[string]attr.Value{
		"expires_at": types.StringUnknown(), "items_backed_up": types.Int64Unknown(),
		"captured": types.MapUnknown(types.ObjectType{AttrTypes: capturedAttrTypes}),
	})
}

// generatedBackupName is <namespace>-<yyyymmdd-hhmmss>-<4 random characters>, within Velero's 63
// characters. The random part keeps names apart for any number of resources of one namespace in
// one apply (production's location and a copy's, say), which a time alone does not.
func generatedBackupName(namespace string, now time.Time) string {
	suffix := "-" + now.UTC().Format("20060102-150405") + "-" + rand.Text()[:4]
	if room := 63 - len(suffix); len(namespace) > room {
		namespace = strings.TrimRight(namespace[:room], "-")
	}
	return namespace + strings.ToLower(suffix)
}

func (r *backupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	createOperation(ctx, req, resp, r.operation, func(m *backupModel) string {
		return generatedBackupName(m.Namespace.ValueString(), time.Now())
	})
}

// Update only changes how the provider behaves, or resumes an interrupted wait.
func (r *backupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	updateOperation(ctx, req, resp, r.operation, func(plan, state *backupModel) {
		state.DeletionPolicy, state.Labels, state.TTL = plan.DeletionPolicy, plan.Labels, plan.TTL
	})
}

func (r *backupResource) operation(m *backupModel) operation {
	return &backupOperation{data: r.data, model: m}
}

// backupOperation is styrmin_backup's part of the lifecycle (lifecycle.go).
type backupOperation struct {
	data       *providerData
	model      *backupModel
	components []driverspec.Component
	backup     *velerov1.Backup
}

func (o *backupOperation) noun() string { return "backup" }

// connect checks the connection and the components; the components are needed both to make the
// backup and to verify it.
func (o *backupOperation) connect(ctx context.Context, diags *diag.Diagnostics) bool {
	if !o.data.ready(ctx, diags) {
		return false
	}
	components, ok := componentsFrom(o.model.Components, diags)
	o.components = components
	return ok
}

func (o *backupOperation) begin(ctx context.Context, diags *diag.Diagnostics) bool {
	if !o.connect(ctx, diags) {
		return false
	}
	m := o.model
	ttl := defaultBackupTTL
	if !m.TTL.IsNull() {
		var d diag.Diagnostics
		ttl, d = m.TTL.ValueGoDuration()
		diags.Append(d...)
	}
	labels := map[string]string{}
	diags.Append(m.Labels.ElementsAs(ctx, &labels, true)...)
	if diags.HasError() {
		return false
	}
	request := backups.BackupRequest{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), Location: m.BackupLocation.ValueString(),
		Components: o.components, TTL: ttl, Labels: labels,
	}
	runner := o.data.runner()
	plans, pods, err := runner.PlanBackup(ctx, request)
	if err != nil {
		addProblems(diags, "Backup preflight failed: nothing was created", err)
		return false
	}
	for _, p := range plans {
		for _, w := range p.Warnings {
			diags.AddWarning("Backup of component "+p.Component, w)
		}
	}
	backup, err := runner.StartBackup(ctx, request, plans, pods)
	if err != nil {
		diags.AddError("Cannot create the Velero backup", err.Error())
		return false
	}
	m.fromBackup(backup)
	m.Captured = types.MapNull(types.ObjectType{AttrTypes: capturedAttrTypes})
	return true
}

func (o *backupOperation) resume(ctx context.Context, diags *diag.Diagnostics) bool {
	return o.connect(ctx, diags)
}

func (o *backupOperation) wait(ctx context.Context) (string, error) {
	backup, err := o.data.runner().WaitBackup(ctx, o.model.Name.ValueString(), logProgress(ctx, "backup", o.model.Name.ValueString()))
	if backup != nil {
		o.backup = backup
		o.model.fromBackup(backup)
	}
	return o.model.Phase.ValueString(), err
}

func (o *backupOperation) verify(ctx context.Context, diags *diag.Diagnostics) bool {
	plans, err := backups.PlansFromBackup(o.backup, o.components)
	if err != nil {
		addProblems(diags, "Cannot verify the backup", err)
		return false
	}
	reports, err := o.data.runner().VerifyBackup(ctx, o.backup, plans)
	o.model.Captured = capturedValue(reports, diags)
	if err != nil {
		diags.AddError("The backup did not capture what it must", err.Error()+
			"\n\nThe backup is kept (tainted): the next apply replaces it with a new one.")
		return false
	}
	return true
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
	backup, err := r.data.snapshot.Backup(ctx, r.data.velero, name)
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
	if state.Verified.ValueBool() {
		r.checkFiles(ctx, &state, backup, &resp.Diagnostics)
	}
	if state.Name.IsNull() { // import
		state.Name = types.StringValue(backup.Name)
		state.ID = types.StringValue(backup.Name)
		state.fromImport(ctx, backup, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// checkFiles looks, at refresh, whether the bucket still holds a verified backup's files: one
// deleted there (by hand, or a lifecycle rule) is no longer proven, and the next plan replaces it.
// A bucket that cannot be read from here only warns: refresh must not fail on it.
func (r *backupResource) checkFiles(ctx context.Context, state *backupModel, backup *velerov1.Backup, diags *diag.Diagnostics) {
	missing, err := r.data.runner().MissingFiles(ctx, backup)
	switch {
	case err != nil:
		diags.AddWarning("Cannot check the backup's files in the bucket",
			fmt.Sprintf("Whether the bucket still holds backup %q is unknown: %v", backup.Name, err))
	case len(missing) > 0:
		state.Verified = types.BoolValue(false)
		diags.AddWarning("The backup's files are gone from the bucket",
			fmt.Sprintf("Backup %q can no longer be restored: %v. The plan replaces it with a new backup.", backup.Name, errors.Join(missing...)))
	}
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

// ImportState takes the ID every resource takes (importName); Read fills in the rest.
func (r *backupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if name, ok := r.data.importName(req.ID, "a Velero backup", &resp.Diagnostics); ok {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	}
}

func (m *backupModel) fromBackup(b *velerov1.Backup) {
	m.observe(string(b.Status.Phase), b.Status.StartTimestamp, b.Status.CompletionTimestamp)
	m.ExpiresAt = timeString(b.Status.Expiration)
	m.ItemsBackedUp = types.Int64Value(0)
	if p := b.Status.Progress; p != nil {
		m.ItemsBackedUp = types.Int64Value(int64(p.ItemsBackedUp))
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
	m.Labels = userLabels(b.Labels, diags)
	m.Components = types.MapNull(types.ObjectType{AttrTypes: componentAttrTypes})
}

// userLabels are an imported Velero object's labels but those Velero and this provider set.
func userLabels(all map[string]string, diags *diag.Diagnostics) types.Map {
	labels := map[string]attr.Value{}
	for k, v := range all {
		if k != velero.ManagedByLabel && !strings.HasPrefix(k, "velero.io/") {
			labels[k] = types.StringValue(v)
		}
	}
	if len(labels) == 0 {
		return types.MapNull(types.StringType)
	}
	m, d := types.MapValue(types.StringType, labels)
	diags.Append(d...)
	return m
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
