package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
)

// styrmin_backup and styrmin_restore share one lifecycle: the Velero object is made once, state
// is saved as soon as it exists, then the provider waits for it and verifies it, and saves state
// again. An apply interrupted while waiting (Ctrl-C) leaves `verified = false` in state; the next
// plan turns that into an update that resumes the wait on the same object instead of making a
// second one. An error after the object exists taints the resource, so the next apply replaces it.

// defaultOperationTimeout bounds create, and an update that resumes an interrupted wait.
const defaultOperationTimeout = 30 * time.Minute

// operationModel holds the attributes every operation resource has: its name, the components
// whose strategies it runs, the Velero object's labels, how the provider waits, and what Velero
// reports.
type operationModel struct {
	ID                types.String   `tfsdk:"id"`
	Name              types.String   `tfsdk:"name"`
	Components        types.Map      `tfsdk:"components"`
	Labels            types.Map      `tfsdk:"labels"`
	WaitForCompletion types.Bool     `tfsdk:"wait_for_completion"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
	Phase             types.String   `tfsdk:"phase"`
	Verified          types.Bool     `tfsdk:"verified"`
	StartedAt         types.String   `tfsdk:"started_at"`
	CompletedAt       types.String   `tfsdk:"completed_at"`
}

// observe records what Velero reports of the object; verified stays as it is (false until proven).
func (m *operationModel) observe(phase string, started, completed *metav1.Time) {
	m.Phase = types.StringValue(phase)
	m.StartedAt = timeString(started)
	m.CompletedAt = timeString(completed)
	if m.Verified.IsNull() || m.Verified.IsUnknown() {
		m.Verified = types.BoolValue(false)
	}
}

// operation is what one resource does at each step of the lifecycle.
type operation interface {
	// noun names the Velero object in messages: "backup" or "restore".
	noun() string
	// begin checks the request against the cluster and creates the Velero object, recording it in
	// the model. A refusal creates nothing.
	begin(ctx context.Context, diags *diag.Diagnostics) bool
	// resume connects and prepares what verifying an object made by an earlier apply needs.
	resume(ctx context.Context, diags *diag.Diagnostics) bool
	// wait watches the object until Velero finishes it, records its status, and returns its phase.
	wait(ctx context.Context) (phase string, err error)
	// verify proves the finished object, recording what it proved.
	verify(ctx context.Context, diags *diag.Diagnostics) bool
}

// operationResource is a resource model that embeds operationModel (M is the model, PM its
// pointer).
type operationResource[M any] interface {
	*M
	shared() *operationModel
}

func (m *operationModel) shared() *operationModel { return m }

// createOperation is Create: make the object, save, then wait, verify and save again. newOp
// makes the resource's operation on the planned model; defaultName names an object whose name
// the configuration leaves to the provider (at apply: a plan-time name would differ at apply).
func createOperation[M any, PM operationResource[M]](ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse,
	newOp func(PM) operation, defaultName func(PM) string) {
	var plan M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := PM(&plan).shared()
	if m.Name.IsUnknown() {
		m.Name = types.StringValue(defaultName(&plan))
	}
	timeout, diags := m.Timeouts.Create(ctx, defaultOperationTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	save := func() { resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...) }
	op := newOp(&plan)
	if !op.begin(ctx, &resp.Diagnostics) {
		return
	}
	m.ID = m.Name
	m.Verified = types.BoolValue(false)
	// Saved before waiting: an interrupted apply leaves this object in state, and the next apply
	// resumes waiting for it instead of starting another.
	save()
	if resp.Diagnostics.HasError() || !m.WaitForCompletion.ValueBool() {
		return
	}
	finishOperation(ctx, op, m, &resp.Diagnostics, resp.Private)
	save()
}

// updateOperation is Update: arguments that only steer the provider change in place, and an
// object whose wait was interrupted is waited for and verified. keep copies the resource's own
// arguments that change in place from the plan into the state (results stay the state's);
// wait_for_completion, timeouts and components are copied here.
func updateOperation[M any, PM operationResource[M]](ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse,
	newOp func(PM) operation, keep func(plan, state PM)) {
	var plan, state M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	keep(&plan, &state)
	m, planned := PM(&state).shared(), PM(&plan).shared()
	// Components from the plan too: after an import, state has none.
	m.WaitForCompletion, m.Timeouts, m.Components = planned.WaitForCompletion, planned.Timeouts, planned.Components
	save := func() { resp.Diagnostics.Append(resp.State.Set(ctx, &state)...) }
	if m.Verified.ValueBool() || !m.WaitForCompletion.ValueBool() {
		save()
		return
	}
	timeout, diags := m.Timeouts.Update(ctx, defaultOperationTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op := newOp(&state)
	if !op.resume(ctx, &resp.Diagnostics) {
		return
	}
	finishOperation(ctx, op, m, &resp.Diagnostics, resp.Private)
	save()
}

// verificationInterrupted, a key of the resource's private state, marks an object whose
// verification an interrupt stopped: the next plan resumes verifying it instead of replacing it.
const verificationInterrupted = "verification_interrupted"

// privateState is the resource's private state in a Create or Update response.
type privateState interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func finishOperation(ctx context.Context, op operation, m *operationModel, diags *diag.Diagnostics, private privateState) {
	phase, err := op.wait(ctx)
	if !waitSucceeded(diags, op.noun(), m.Name.ValueString(), phase, err) {
		return
	}
	var verifyDiags diag.Diagnostics
	verified := op.verify(ctx, &verifyDiags)
	if !verified && errors.Is(ctx.Err(), context.Canceled) {
		// What failed was the interrupt, not the object: no error, so no taint.
		diags.AddWarning("Stopped verifying the "+op.noun(),
			fmt.Sprintf("Velero finished %s %q, and its verification was interrupted. The next apply verifies it (no second %s is made).",
				op.noun(), m.Name.ValueString(), op.noun()))
		diags.Append(private.SetKey(ctx, verificationInterrupted, []byte("true"))...)
		return
	}
	diags.Append(verifyDiags...)
	diags.Append(private.SetKey(ctx, verificationInterrupted, nil)...)
	m.Verified = types.BoolValue(verified)
}

// logProgress logs, at INFO (TF_LOG_PROVIDER=INFO shows it), where a Velero backup or restore
// stands each time that changes while the provider waits for it.
func logProgress(ctx context.Context, noun, name string) func(backups.Progress) {
	var last backups.Progress
	return func(p backups.Progress) {
		if p == last {
			return
		}
		last = p
		if p.Stalled != "" {
			tflog.Warn(ctx, p.Stalled+": if it stays so, restart the node-agent", map[string]any{noun: name})
		}
		fields := map[string]any{noun: name, "phase": p.Phase, "items": p.Items, "total_items": p.TotalItems}
		if noun == "backup" {
			fields["bytes_done"], fields["bytes_total"] = p.BytesDone, p.BytesTotal
			fields["hooks_attempted"], fields["hooks_failed"] = p.HooksRun, p.HooksFailed
		}
		tflog.Info(ctx, fmt.Sprintf("Velero %s %s: %s, %d of %d items", noun, name, p.Phase, p.Items, p.TotalItems), fields)
	}
}

// planResume makes the plan of a resource whose wait or verification was interrupted an update
// that resumes it: its results (the shared ones and those given) become unknown. One whose Velero
// object finished without being proven, other than by an interrupt (the resumed wait ended in a
// failure: an update cannot taint), is replaced instead, so the next apply makes a new one rather
// than verifying the same failure again.
func planResume(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, results map[string]attr.Value) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var verified, wait types.Bool
	var phase types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("verified"), &verified)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("phase"), &phase)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("wait_for_completion"), &wait)...)
	if resp.Diagnostics.HasError() || verified.ValueBool() || !wait.ValueBool() {
		return
	}
	interrupted, diags := req.Private.GetKey(ctx, verificationInterrupted)
	resp.Diagnostics.Append(diags...)
	if finished(phase.ValueString()) && len(interrupted) == 0 {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("phase"))
	}
	// Every result Velero may still set: a backup interrupted while it waited in Velero's queue
	// has no start time yet.
	unknown := map[string]attr.Value{
		"phase": types.StringUnknown(), "verified": types.BoolUnknown(),
		"started_at": types.StringUnknown(), "completed_at": types.StringUnknown(),
	}
	for name, v := range results {
		unknown[name] = v
	}
	for name, v := range unknown {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
}

// finished reports a phase in which Velero is done with a backup or a restore.
func finished(phase string) bool {
	return backups.BackupFinished(velerov1.BackupPhase(phase)) || backups.RestoreFinished(velerov1.RestorePhase(phase))
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
		detail := "Raise timeouts.create, or check the Velero server and its node-agent."
		if stalled := (*backups.StalledError)(nil); errors.As(err, &stalled) {
			detail = stalled.Error()
		}
		diags.AddError("Timed out waiting for the "+what,
			fmt.Sprintf("Velero %s %q did not finish within the timeout (it is %s). %s", what, name, backups.PhaseOrNew(phase), detail))
		return false
	case errors.As(err, new(*backups.FailedError)):
		diags.AddError("The "+what+" failed", err.Error())
		return false
	case err != nil:
		diags.AddError("Cannot wait for the "+what, err.Error())
		return false
	}
	return true
}

// addProblems adds one error per problem of a refusal, each on the attribute it is about, so
// Terraform underlines the right line.
func addProblems(diags *diag.Diagnostics, summary string, err error) {
	problems := []error{err}
	var refusal *backups.RefusalError
	if errors.As(err, &refusal) {
		problems = refusal.Problems
	}
	for _, p := range problems {
		if at, ok := problemAttribute(p); ok {
			diags.AddAttributeError(at, summary, p.Error())
		} else {
			diags.AddError(summary, p.Error())
		}
	}
}

// argumentAttributes are the attributes of the request arguments a problem can be about.
var argumentAttributes = map[backups.Argument]path.Path{
	backups.ArgumentName:             path.Root("name"),
	backups.ArgumentNamespace:        path.Root("namespace"),
	backups.ArgumentLocation:         path.Root("backup_location"),
	backups.ArgumentBackup:           path.Root("backup_name"),
	backups.ArgumentSourceNamespace:  path.Root("source_namespace"),
	backups.ArgumentTargetNamespace:  path.Root("target_namespace"),
	backups.ArgumentScratchNamespace: path.Root("scratch_namespace"),
	backups.ArgumentComponents:       path.Root("components"),
}

// problemAttribute is the attribute a domain problem is about: an argument of the request, or a
// component's setting that does not match its live pods.
func problemAttribute(err error) (path.Path, bool) {
	var mismatch *strategy.MismatchError
	if errors.As(err, &mismatch) {
		return problemPath(path.Root("components"), driverspec.Problem{Component: mismatch.Component, Field: mismatch.Field}), true
	}
	var argument *backups.ArgumentError
	if !errors.As(err, &argument) {
		return path.Empty(), false
	}
	at, ok := argumentAttributes[argument.Argument]
	if ok && argument.Component != "" {
		at = at.AtMapKey(argument.Component)
	}
	return at, ok
}

func timeString(t *metav1.Time) types.String {
	if t == nil {
		return types.StringValue("")
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}
