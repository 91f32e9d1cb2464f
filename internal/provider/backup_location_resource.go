package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/objectstore"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

var (
	_ resource.ResourceWithConfigure        = (*backupLocationResource)(nil)
	_ resource.ResourceWithImportState      = (*backupLocationResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*backupLocationResource)(nil)
	_ resource.ResourceWithConfigValidators = (*backupLocationResource)(nil)
)

func NewBackupLocationResource() resource.Resource { return &backupLocationResource{} }

type backupLocationResource struct{ data *providerData }

type backupLocationModel struct {
	ID                       types.String         `tfsdk:"id"`
	Name                     types.String         `tfsdk:"name"`
	Bucket                   types.String         `tfsdk:"bucket"`
	Prefix                   types.String         `tfsdk:"prefix"`
	Region                   types.String         `tfsdk:"region"`
	Endpoint                 types.String         `tfsdk:"endpoint"`
	ForcePathStyle           types.Bool           `tfsdk:"force_path_style"`
	ChecksumAlgorithm        types.String         `tfsdk:"checksum_algorithm"`
	CACert                   types.String         `tfsdk:"ca_cert"`
	AccessKeyID              types.String         `tfsdk:"access_key_id"`
	SecretAccessKey          types.String         `tfsdk:"secret_access_key"`
	SecretAccessKeyWO        types.String         `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64          `tfsdk:"secret_access_key_wo_version"`
	Default                  types.Bool           `tfsdk:"default"`
	AccessMode               types.String         `tfsdk:"access_mode"`
	BackupSyncPeriod         timetypes.GoDuration `tfsdk:"backup_sync_period"`
	ValidationFrequency      timetypes.GoDuration `tfsdk:"validation_frequency"`
	WaitForAvailable         types.Bool           `tfsdk:"wait_for_available"`
	Timeouts                 timeouts.Value       `tfsdk:"timeouts"`
	CredentialsSecretName    types.String         `tfsdk:"credentials_secret_name"`
	Phase                    types.String         `tfsdk:"phase"`
	Message                  types.String         `tfsdk:"message"`
	LastValidationTime       timetypes.RFC3339    `tfsdk:"last_validation_time"`
	VeleroDefault            types.Bool           `tfsdk:"velero_default"`
}

// Kubernetes object names Velero accepts for a BSL; the name is also a label value
// (velero.io/storage-location) on every backup, hence at most 63 characters.
var locationNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (r *backupLocationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backup_location"
}

func (r *backupLocationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	requiresReplace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A per-environment backup storage location: an S3-compatible bucket (MinIO, DigitalOcean " +
			"Spaces, AWS S3, ...) that Velero writes backups to. Creates a Velero `BackupStorageLocation` " +
			"(provider `aws`) and a Secret holding its credentials in Velero's namespace.\n\n" +
			"Before anything is created the bucket is checked from where Terraform runs (reachable, credentials " +
			"accepted, bucket present, region right, prefix free of foreign folders); then the provider waits " +
			"until Velero reports the location `Available`. Destroying the resource removes the location and " +
			"its Secret, never data in the bucket.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`<velero namespace>/<name>`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the location; backups refer to it. Changing it replaces the location.",
				PlanModifiers:       requiresReplace,
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 63),
					stringvalidator.RegexMatches(locationNamePattern, "must be lower-case letters, digits and '-', starting and ending with a letter or digit"),
				},
			},
			"bucket": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Bucket name. A folder inside the bucket goes in `prefix`. Changing it replaces the location.",
				PlanModifiers:       requiresReplace,
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.RegexMatches(regexp.MustCompile(`^[^/]+$`), "must not contain '/': put the folder in prefix"),
				},
			},
			"prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Folder inside the bucket. Velero requires it to hold nothing but its own folders. Changing it replaces the location.",
				PlanModifiers:       requiresReplace,
				Validators: []validator.String{
					stringvalidator.RegexMatches(regexp.MustCompile(`^[^/](.*[^/])?$`), "must not start or end with '/'"),
				},
			},
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Region of the bucket (any value for MinIO, e.g. `us-east-1`).",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"endpoint": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "URL of an S3-compatible store (Velero's `s3Url`), e.g. `https://fra1.digitaloceanspaces.com`. " +
					"No path. Must be reachable from Terraform, the Velero server and its node-agent pods. Omit for AWS S3. " +
					"Plain `http://` to a host that is neither loopback nor link-local is accepted with a warning: backups would cross the network unencrypted.",
				Validators: []validator.String{
					stringvalidator.RegexMatches(regexp.MustCompile(`^https?://[^/?#]+/?$`), "must be http:// or https:// followed by a host (and port), without a path"),
					warnPlainHTTP(),
				},
			},
			"force_path_style": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Address the bucket as `endpoint/bucket` instead of `bucket.endpoint`; MinIO needs `true`. Default `false`.",
			},
			"checksum_algorithm": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Checksum the aws plugin sends with uploads: `CRC32` (the plugin's default when unset), `CRC32C`, " +
					"`SHA1`, `SHA256`, or `\"\"` to send none, which many non-AWS stores need.",
				Validators: []validator.String{stringvalidator.OneOf("", "CRC32", "CRC32C", "SHA1", "SHA256")},
			},
			"ca_cert": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "PEM bundle to trust for an `https` endpoint signed by a private CA. Stored in the credentials Secret.",
			},
			"access_key_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Access key ID for the bucket. One line: it is written into an AWS credentials file.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1), singleLine()},
			},
			"secret_access_key": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "Secret access key, one line. Kept in state (marked sensitive); prefer `secret_access_key_wo` on Terraform >= 1.11.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1), singleLine()},
			},
			"secret_access_key_wo": schema.StringAttribute{
				Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "Secret access key, one line, write-only (Terraform >= 1.11): never stored in state or plan. " +
					"Requires `secret_access_key_wo_version`; bump it to send a new value.",
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					singleLine(),
					stringvalidator.AlsoRequires(path.MatchRoot("secret_access_key_wo_version")),
				},
			},
			"secret_access_key_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Version of `secret_access_key_wo`; changing it sends the write-only value again. When the " +
					"Secret is changed outside Terraform the next plan shows this attribute changing back, and apply rewrites it.",
				Validators: []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("secret_access_key_wo"))},
			},
			"default": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Make this Velero's default location. Velero itself forces `true` on the location named by its " +
					"`--default-backup-storage-location` flag; `velero_default` shows what Velero holds, and apply warns when it differs. Default `false`.",
			},
			"access_mode": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("ReadWrite"),
				MarkdownDescription: "`ReadWrite`, or `ReadOnly` for an environment clone reading another environment's backups " +
					"(Velero then syncs backups in and never creates or deletes backups; it still writes each restore's log and " +
					"results under `<prefix>/restores/`, so the key needs write access there). Default `ReadWrite`.",
				Validators: []validator.String{stringvalidator.OneOf("ReadWrite", "ReadOnly")},
			},
			"backup_sync_period": schema.StringAttribute{
				Optional: true, CustomType: timetypes.GoDurationType{},
				MarkdownDescription: "How often Velero syncs backups from the bucket into the cluster, a Go duration such as `1m`; `0s` disables, " +
					"a negative one is refused. Unset: the server's default (1m).",
				Validators: []validator.String{positiveDurationOrZero("disable backup sync")},
			},
			"validation_frequency": schema.StringAttribute{
				Optional: true, CustomType: timetypes.GoDurationType{},
				MarkdownDescription: "How often Velero re-checks the bucket, a Go duration; `0s` disables (Velero still validates a new or " +
					"changed location once), a negative one is refused. Unset: the server's default (1m).",
				Validators: []validator.String{positiveDurationOrZero("disable validation")},
			},
			"wait_for_available": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait until Velero has validated the location and fail with Velero's message when it is `Unavailable`. Default `true`.",
			},
			"timeouts": positiveTimeouts(timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true,
				CreateDescription: "How long create may wait for Velero to validate the location, a Go duration above zero. Default `5m`.",
				UpdateDescription: "How long update may wait for Velero to validate the location, a Go duration above zero. Default `5m`."})),
			"credentials_secret_name": schema.StringAttribute{
				Computed: true, MarkdownDescription: "Name of the Secret (in Velero's namespace) holding the credentials.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"phase":   schema.StringAttribute{Computed: true, MarkdownDescription: "`Available` or `Unavailable`, as Velero last validated it."},
			"message": schema.StringAttribute{Computed: true, MarkdownDescription: "Velero's reason when the location is `Unavailable`."},
			"last_validation_time": schema.StringAttribute{
				Computed: true, CustomType: timetypes.RFC3339Type{},
				MarkdownDescription: "When Velero last validated the location (RFC 3339).",
			},
			"velero_default": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether Velero holds this location as its default."},
		},
	}
}

func (r *backupLocationResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("secret_access_key"), path.MatchRoot("secret_access_key_wo")),
	}
}

func (r *backupLocationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan runs the bucket preflight at plan time when a location is created or its
// connection changes, so a wrong bucket fails `terraform plan`, not half-way through apply.
func (r *backupLocationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	if !req.State.Raw.IsNull() {
		planRevalidation(ctx, req, resp)
	}
	if r.data == nil || req.Plan.Raw.Equal(req.State.Raw) {
		return // no connection, or nothing changes (the common case of a refresh-only plan)
	}
	var plan, config backupLocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.SecretAccessKeyWO = config.SecretAccessKeyWO
	if !req.State.Raw.IsNull() {
		var state backupLocationModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if sameConnection(state, plan) {
			return
		}
	}
	if !connectionKnown(plan) {
		return // checked again at apply, when every value is known
	}
	// The cluster and Velero are checked at plan time too: a wrong kubeconfig fails the plan.
	if !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	if req.State.Raw.IsNull() && !plan.Name.IsUnknown() {
		// A name another tool's location holds (velero install, Helm) is refused before the apply
		// too. One this provider made is left to the apply: a replacement of a location plans its
		// create while the old location, deleted first at apply, still exists.
		var taken *velero.NameTakenError
		err := r.data.locations().CheckName(ctx, plan.Name.ValueString())
		if errors.As(err, &taken) && taken.ManagedBy != velero.ManagedBy {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create the backup storage location", err.Error())
			return
		}
	}
	r.preflight(ctx, plan, &resp.Diagnostics)
}

// planRevalidation turns a location Velero reports Unavailable (a rotated key, a deleted bucket)
// into a planned update, with a warning that quotes Velero's reason: the drift job's plan then
// fails (exit code 2) until the location works again, and the update makes Velero validate it
// again at once.
func planRevalidation(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var name, phase, message types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("phase"), &phase)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("message"), &message)...)
	if resp.Diagnostics.HasError() || phase.ValueString() != string(velerov1.BackupStorageLocationPhaseUnavailable) {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("phase"), "Backup storage location "+name.ValueString()+" is Unavailable",
		"Velero reports: "+message.ValueString()+"\n\nBackups to it and restores from it fail until it is Available again "+
			"(check its credentials, bucket and endpoint). This plan updates it, which makes Velero validate it again.")
	for result, unknown := range map[string]attr.Value{
		"phase": types.StringUnknown(), "message": types.StringUnknown(), "last_validation_time": timetypes.NewRFC3339Unknown(),
	} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(result), unknown)...)
	}
}

func (r *backupLocationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan backupLocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	create := func(ctx context.Context, loc velero.Location) error { return r.data.locations().Create(ctx, loc) }
	r.write(ctx, "create", plan, req.Config, timeout, create, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *backupLocationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan backupLocationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	update := func(ctx context.Context, loc velero.Location) error { return r.data.locations().Update(ctx, loc) }
	r.write(ctx, "update", plan, req.Config, timeout, update, &resp.State, resp.Private, &resp.Diagnostics)
}

// write is Create and Update (writeLocation is called after the connection is made): preflight, write the Secret and BSL, save state, then wait for
// Velero's verdict. State is saved before waiting: a failed or cancelled wait leaves a tainted
// resource that the next apply replaces, never an orphaned BSL.
func (r *backupLocationResource) write(ctx context.Context, verb string, plan backupLocationModel, config tfsdk.Config,
	timeout time.Duration, writeLocation func(context.Context, velero.Location) error,
	state *tfsdk.State, private privateSetter, diags *diag.Diagnostics) {
	if diags.HasError() || !r.data.ready(ctx, diags) {
		return
	}
	// Write-only values are only in the configuration.
	diags.Append(config.GetAttribute(ctx, path.Root("secret_access_key_wo"), &plan.SecretAccessKeyWO)...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	loc, d := plan.location()
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	r.preflight(ctx, plan, diags)
	if diags.HasError() {
		return
	}
	r.data.redact(loc.SecretAccessKey)
	started := time.Now()
	if err := writeLocation(ctx, loc); err != nil {
		var taken *velero.NameTakenError
		if errors.As(err, &taken) {
			diags.AddAttributeError(path.Root("name"), "Cannot "+verb+" the backup storage location", err.Error())
			return
		}
		diags.AddError("Cannot "+verb+" the backup storage location", err.Error())
		return
	}
	plan.ID = types.StringValue(r.data.veleroNamespace + "/" + loc.Name)
	plan.CredentialsSecretName = types.StringValue(velero.CredentialSecretName(loc.Name))
	plan.setUnknownStatus()
	diags.Append(private.SetKey(ctx, privateSecretHashKey, []byte(`"`+secretHash(loc.SecretAccessKey)+`"`))...)
	diags.Append(state.Set(ctx, &plan)...)
	r.waitAndRecord(ctx, &plan, started, diags)
	diags.Append(state.Set(ctx, &plan)...)
}

// Read reflects the cluster, so an out-of-band change shows in the next plan. It makes no S3
// call and does not wait: drift detection runs it for every location on every CI build.
func (r *backupLocationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state backupLocationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	name := state.Name.ValueString()
	if name == "" { // import: the ID is <namespace>/<name> or <name>
		name = nameFromID(state.ID.ValueString())
	}
	loc, status, err := r.data.locations().Read(ctx, name)
	if errors.Is(err, velero.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the backup storage location", err.Error())
		return
	}
	r.data.redact(loc.SecretAccessKey)
	previousHash, diags := req.Private.GetKey(ctx, privateSecretHashKey)
	resp.Diagnostics.Append(diags...)
	state.fromLocation(loc, status, string(previousHash))
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *backupLocationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state backupLocationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(ctx, &resp.Diagnostics) {
		return
	}
	if err := r.data.locations().Delete(ctx, state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the backup storage location", err.Error())
	}
}

func (r *backupLocationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, ok := r.data.importName(req.ID, "a backup storage location", &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), r.data.veleroNamespace+"/"+name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait_for_available"), true)...)
}

// waitAndRecord waits for Velero's verdict (when asked to) and records the status.
func (r *backupLocationResource) waitAndRecord(ctx context.Context, plan *backupLocationModel, started time.Time, diags *diag.Diagnostics) {
	name := plan.Name.ValueString()
	locations := r.data.locations()
	locations.Snapshot = nil // one object: a direct read, not a list of all
	var status *velero.LocationStatus
	var err error
	if plan.WaitForAvailable.ValueBool() {
		status, err = locations.WaitAvailable(ctx, name, started)
	} else {
		_, status, err = locations.Read(ctx, name)
	}
	if status != nil {
		plan.setStatus(status)
	}
	var unavailable *velero.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		diags.AddError("Velero reports the backup storage location Unavailable",
			unavailable.Message+"\n\nThe location was created (and is in state, tainted); fix the bucket settings and apply again.")
		return
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Timed out waiting for Velero to validate the backup storage location",
			"Velero did not report the location Available in time: is the Velero server running in namespace "+
				r.data.veleroNamespace+"? Raise timeouts.create/update or set wait_for_available = false.")
		return
	case err != nil:
		diags.AddError("Cannot read the backup storage location's status", err.Error())
		return
	}
	if status != nil && status.Default != plan.Default.ValueBool() {
		diags.AddWarning("Velero overrides this location's default setting",
			fmt.Sprintf("default = %t was applied, but Velero holds default = %t for %q (the Velero server forces it on the location "+
				"named by --default-backup-storage-location, and keeps one default at a time). velero_default shows Velero's value.",
				plan.Default.ValueBool(), status.Default, name))
	}
}

func (r *backupLocationResource) preflight(ctx context.Context, plan backupLocationModel, diags *diag.Diagnostics) {
	loc, d := plan.location()
	diags.Append(d...)
	if d.HasError() {
		return
	}
	r.data.redact(loc.SecretAccessKey)
	err := objectstore.Preflight(ctx, loc.ObjectStore())
	if err == nil {
		return
	}
	var checkErr *objectstore.CheckError
	if errors.As(err, &checkErr) && checkErr.Field != "" {
		field := checkErr.Field
		if field == "secret_access_key" && !plan.SecretAccessKeyWO.IsNull() {
			field = "secret_access_key_wo"
		}
		diags.AddAttributeError(path.Root(field), "Bucket check failed: "+checkErr.Check, err.Error()+"\n\nNothing was created.")
		return
	}
	diags.AddError("Bucket check failed", err.Error()+"\n\nNothing was created.")
}

// Private state keeps a hash of the secret key that was applied, so a write-only secret changed
// outside Terraform is still noticed (the value itself is never stored).
const privateSecretHashKey = "secret_access_key_sha256"

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (m *backupLocationModel) location() (velero.Location, diag.Diagnostics) {
	var diags diag.Diagnostics
	loc := velero.Location{
		Name:            m.Name.ValueString(),
		Bucket:          m.Bucket.ValueString(),
		Prefix:          m.Prefix.ValueString(),
		Region:          m.Region.ValueString(),
		Endpoint:        m.Endpoint.ValueString(),
		ForcePathStyle:  m.ForcePathStyle.ValueBool(),
		CACert:          m.CACert.ValueString(),
		AccessKeyID:     m.AccessKeyID.ValueString(),
		SecretAccessKey: m.SecretAccessKey.ValueString(),
		Default:         m.Default.ValueBool(),
		AccessMode:      m.AccessMode.ValueString(),
	}
	if !m.SecretAccessKeyWO.IsNull() {
		loc.SecretAccessKey = m.SecretAccessKeyWO.ValueString()
	}
	if !m.ChecksumAlgorithm.IsNull() {
		v := m.ChecksumAlgorithm.ValueString()
		loc.ChecksumAlgorithm = &v
	}
	loc.BackupSyncPeriod = optionalDuration(m.BackupSyncPeriod, &diags)
	loc.ValidationFrequency = optionalDuration(m.ValidationFrequency, &diags)
	return loc, diags
}

// fromLocation copies what the cluster holds into the model. Durations keep the user's spelling
// when they mean the same time ("60s" = "1m"); Velero's forced default is reported in
// velero_default rather than as a perpetual diff on default.
func (m *backupLocationModel) fromLocation(loc *velero.Location, status *velero.LocationStatus, appliedSecretHash string) {
	m.ID = types.StringValue(m.idPrefix() + loc.Name)
	m.Name = types.StringValue(loc.Name)
	m.Bucket = types.StringValue(loc.Bucket)
	m.Prefix = optionalString(loc.Prefix)
	m.Region = optionalString(loc.Region)
	m.Endpoint = optionalString(loc.Endpoint)
	m.ForcePathStyle = types.BoolValue(loc.ForcePathStyle)
	m.ChecksumAlgorithm = types.StringPointerValue(loc.ChecksumAlgorithm)
	m.CACert = optionalString(loc.CACert)
	m.AccessKeyID = types.StringValue(loc.AccessKeyID)
	m.AccessMode = types.StringValue(loc.AccessMode)
	// The framework keeps the prior spelling when the duration is the same ("60s" = "1m0s").
	m.BackupSyncPeriod = timetypes.NewGoDurationPointerValue(loc.BackupSyncPeriod)
	m.ValidationFrequency = timetypes.NewGoDurationPointerValue(loc.ValidationFrequency)
	if m.Default.IsNull() || m.Default.IsUnknown() { // import
		m.Default = types.BoolValue(status.Default)
	}
	if m.WaitForAvailable.IsNull() {
		m.WaitForAvailable = types.BoolValue(true)
	}
	m.CredentialsSecretName = types.StringValue(velero.CredentialSecretName(loc.Name))
	switch {
	case !m.SecretAccessKeyWOVersion.IsNull():
		// Write-only: compare hashes; a mismatch turns the version into a diff that re-sends it.
		if appliedSecretHash != "" && appliedSecretHash != `"`+secretHash(loc.SecretAccessKey)+`"` {
			m.SecretAccessKeyWOVersion = types.Int64Null()
		}
	default:
		// Also on import, so that importing a location configured with secret_access_key plans
		// no change. A configuration using the write-only argument instead gets one update after
		// import, which removes the value from state again.
		m.SecretAccessKey = optionalString(loc.SecretAccessKey)
	}
	m.setStatus(status)
}

func (m *backupLocationModel) idPrefix() string {
	if ns, _, ok := cutLast(m.ID.ValueString(), "/"); ok {
		return ns + "/"
	}
	return ""
}

func (m *backupLocationModel) setStatus(s *velero.LocationStatus) {
	m.Phase = types.StringValue(s.Phase)
	m.Message = types.StringValue(s.Message)
	m.LastValidationTime = timetypes.NewRFC3339Null()
	if s.LastValidationTime != nil {
		m.LastValidationTime = timetypes.NewRFC3339TimeValue(s.LastValidationTime.UTC())
	}
	m.VeleroDefault = types.BoolValue(s.Default)
}

func (m *backupLocationModel) setUnknownStatus() {
	m.Phase, m.Message, m.LastValidationTime = types.StringValue(""), types.StringValue(""), timetypes.NewRFC3339Null()
	m.VeleroDefault = m.Default
}

// sameConnection reports whether nothing the preflight checks has changed.
func sameConnection(a, b backupLocationModel) bool {
	return a.Bucket.Equal(b.Bucket) && a.Prefix.Equal(b.Prefix) && a.Region.Equal(b.Region) &&
		a.Endpoint.Equal(b.Endpoint) && a.ForcePathStyle.Equal(b.ForcePathStyle) && a.CACert.Equal(b.CACert) &&
		a.AccessKeyID.Equal(b.AccessKeyID) && a.SecretAccessKey.Equal(b.SecretAccessKey) &&
		a.SecretAccessKeyWOVersion.Equal(b.SecretAccessKeyWOVersion)
}

func connectionKnown(m backupLocationModel) bool {
	for _, v := range []interface{ IsUnknown() bool }{m.Bucket, m.Prefix, m.Region, m.Endpoint, m.ForcePathStyle,
		m.CACert, m.AccessKeyID, m.SecretAccessKey, m.SecretAccessKeyWO} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func optionalDuration(v timetypes.GoDuration, diags *diag.Diagnostics) *time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	d, ds := v.ValueGoDuration()
	diags.Append(ds...)
	return &d
}
