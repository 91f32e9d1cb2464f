package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
)

var (
	_ datasource.DataSourceWithConfigure      = (*backupsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*backupsDataSource)(nil)
)

func NewBackupsDataSource() datasource.DataSource { return &backupsDataSource{} }

// backupsDataSource finds the backups of a namespace and proves each, so that a clone's
// configuration can restore the latest verified one without being handed its name.
type backupsDataSource struct{ data *providerData }

type backupsModel struct {
	Location        types.String         `tfsdk:"location"`
	Namespace       types.String         `tfsdk:"namespace"`
	Components      types.Map            `tfsdk:"components"`
	Phase           types.String         `tfsdk:"phase"`
	Schedule        types.String         `tfsdk:"schedule"`
	Labels          types.Map            `tfsdk:"labels"`
	NewerThan       timetypes.GoDuration `tfsdk:"newer_than"`
	WaitForVerified timetypes.GoDuration `tfsdk:"wait_for_verified"`
	Backups         types.List           `tfsdk:"backups"`
	LatestVerified  types.String         `tfsdk:"latest_verified"`
}

var foundBackupAttrTypes = map[string]attr.Type{
	"name":         types.StringType,
	"phase":        types.StringType,
	"schedule":     types.StringType,
	"started_at":   types.StringType,
	"completed_at": types.StringType,
	"expires_at":   types.StringType,
	"verified":     types.BoolType,
	"problem":      types.StringType,
}

// veleroBackupPhases are the phases a Backup can be found in (Deleting ones are never found).
var veleroBackupPhases = []string{"New", "FailedValidation", "InProgress", "WaitingForPluginOperations",
	"WaitingForPluginOperationsPartiallyFailed", "Finalizing", "FinalizingPartiallyFailed", "Completed", "PartiallyFailed", "Failed"}

func (d *backupsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backups"
}

func (d *backupsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Finds the Velero backups of a namespace in a backup storage location, newest first, and proves each " +
			"for the given components as `styrmin_backup` proves the backup it makes: Velero finished it `Completed` without a " +
			"failed hook, every named volume of every pod the backup recorded was captured with data, every database pod reported " +
			"a complete dump for this backup in its log, and its files are still in the bucket. `latest_verified` is the name " +
			"to hand to `styrmin_restore.backup_name`, so that a clone's configuration restores the latest good backup of " +
			"production without being given its name.\n\n" +
			"Backups that Velero's backup sync brought in from a `ReadOnly` location are found and proven the same way: the " +
			"record each backup carries replaces the source pods. A backup made without this provider (by a Velero schedule, " +
			"or by hand) has no record: it is proven against the pods it captured (read from its contents in the bucket), so " +
			"it is verified only when it holds what `styrmin_backup` would have made, the dumps included. Each backup costs a few requests (its PodVolumeBackups, its files in the " +
			"bucket, its log for database components): narrow the search with `newer_than` where a namespace keeps many.",
		Attributes: map[string]schema.Attribute{
			"location": schema.StringAttribute{Required: true,
				Validators:          []validator.String{stringvalidator.RegexMatches(locationNamePattern, "must be a backup storage location's name")},
				MarkdownDescription: "The backup storage location (`styrmin_backup_location.x.name`), `ReadOnly` or not."},
			"namespace": schema.StringAttribute{Required: true, Validators: []validator.String{kubernetesNamespace()},
				MarkdownDescription: "The backed-up namespace: backups of exactly this one namespace are found."},
			"components": componentsArgument("The components each backup is proven for (`data.styrmin_driver_spec.x.components`), " +
				"those the restore will replay. A backup that lacks one of them, or does not match it, is not verified."),
			"phase": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.OneOf(veleroBackupPhases...)},
				MarkdownDescription: "Only backups in this Velero phase (e.g. `Completed`). Default: every phase."},
			"schedule": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Only backups made by the Velero schedule of this name (label `velero.io/schedule-name`)."},
			"labels": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{kubernetesLabels()},
				MarkdownDescription: "Only backups that carry all these labels."},
			"newer_than": schema.StringAttribute{Optional: true, CustomType: timetypes.GoDurationType{},
				Validators:          []validator.String{positiveDuration()},
				MarkdownDescription: "Only backups started within this Go duration before the read (e.g. `48h`)."},
			"wait_for_verified": schema.StringAttribute{Optional: true, CustomType: timetypes.GoDurationType{},
				Validators: []validator.String{positiveDuration()},
				MarkdownDescription: "While no backup found is verified, search again every 5 seconds for up to this Go duration. " +
					"For a `ReadOnly` location created in the same apply: Velero's backup sync brings production's backups in " +
					"only after it has validated the location. Default: search once."},
			"backups": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The backups found, newest (by start time) first.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":         schema.StringAttribute{Computed: true, MarkdownDescription: "The Velero backup's name."},
					"phase":        schema.StringAttribute{Computed: true, MarkdownDescription: "Velero's phase of the backup."},
					"schedule":     schema.StringAttribute{Computed: true, MarkdownDescription: "The Velero schedule that made it, or `\"\"`."},
					"started_at":   schema.StringAttribute{Computed: true, MarkdownDescription: "When Velero started it (RFC 3339), `\"\"` before."},
					"completed_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When it finished (RFC 3339), `\"\"` before."},
					"expires_at":   schema.StringAttribute{Computed: true, MarkdownDescription: "When Velero deletes it (its ttl), RFC 3339, `\"\"` when not set."},
					"verified":     schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether it is proven for `components`."},
					"problem":      schema.StringAttribute{Computed: true, MarkdownDescription: "Why it is not verified; `\"\"` when it is."},
				}}},
			"latest_verified": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The name of the newest verified backup; null (with a warning that says why the newer ones are not) when none is."},
		},
	}
}

func (d *backupsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *backupsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var config backupsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if !resp.Diagnostics.HasError() {
		componentsFrom(config.Components, &resp.Diagnostics)
	}
}

func (d *backupsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var model backupsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &model)...)
	if resp.Diagnostics.HasError() {
		return
	}
	components, ok := componentsFrom(model.Components, &resp.Diagnostics)
	if !ok || !d.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	query := backups.BackupQuery{Location: model.Location.ValueString(), Namespace: model.Namespace.ValueString(),
		Phase: model.Phase.ValueString(), Schedule: model.Schedule.ValueString()}
	resp.Diagnostics.Append(model.Labels.ElementsAs(ctx, &query.Labels, false)...)
	if !model.NewerThan.IsNull() {
		newer, diags := model.NewerThan.ValueGoDuration()
		resp.Diagnostics.Append(diags...)
		query.Since = time.Now().Add(-newer)
	}
	var wait time.Duration
	if !model.WaitForVerified.IsNull() {
		var diags diag.Diagnostics
		wait, diags = model.WaitForVerified.ValueGoDuration()
		resp.Diagnostics.Append(diags...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	found, err := d.data.runner().FindUntilVerified(ctx, query, components, wait)
	if err != nil {
		resp.Diagnostics.AddError("Cannot list the Velero backups", err.Error())
		return
	}
	model.Backups = foundBackupsValue(found, &resp.Diagnostics)
	model.LatestVerified = types.StringNull()
	for _, f := range found {
		if f.Verified {
			model.LatestVerified = types.StringValue(f.Backup.Name)
			break
		}
	}
	if model.LatestVerified.IsNull() {
		resp.Diagnostics.AddAttributeWarning(path.Root("latest_verified"), "No verified backup", noVerifiedBackup(query, found))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &model)...)
}

// noVerifiedBackup says what was found instead, newest first, so that the warning alone tells
// what to fix.
func noVerifiedBackup(q backups.BackupQuery, found []backups.FoundBackup) string {
	detail := fmt.Sprintf("No backup of namespace %q in location %q is verified for these components", q.Namespace, q.Location)
	if len(found) == 0 {
		return detail + ": none matches the filters."
	}
	detail += ":"
	const shown = 3
	for i, f := range found {
		if i == shown {
			detail += fmt.Sprintf("\n  ... and %d older", len(found)-shown)
			break
		}
		detail += fmt.Sprintf("\n  - %s: %s", f.Backup.Name, f.Problem)
	}
	return detail
}

func foundBackupsValue(found []backups.FoundBackup, diags *diag.Diagnostics) types.List {
	objectType := types.ObjectType{AttrTypes: foundBackupAttrTypes}
	elems := make([]attr.Value, 0, len(found))
	for _, f := range found {
		b := f.Backup
		v, d := types.ObjectValue(foundBackupAttrTypes, map[string]attr.Value{
			"name":         types.StringValue(b.Name),
			"phase":        types.StringValue(backups.PhaseOrNew(string(b.Status.Phase))),
			"schedule":     types.StringValue(b.Labels[velerov1.ScheduleNameLabel]),
			"started_at":   timeString(b.Status.StartTimestamp),
			"completed_at": timeString(b.Status.CompletionTimestamp),
			"expires_at":   timeString(b.Status.Expiration),
			"verified":     types.BoolValue(f.Verified),
			"problem":      types.StringValue(f.Problem),
		})
		diags.Append(d...)
		elems = append(elems, v)
	}
	l, d := types.ListValue(objectType, elems)
	diags.Append(d...)
	return l
}
