package provider

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/styrmin/terraform-provider-styrmin/internal/backups"
)

// Validators shared by the schemas. They run in `terraform validate` and at the start of `plan`,
// before Terraform configures the provider: a bad input stops the run before any connection is
// made, so nothing is created. Each message names the argument and says what to write instead.

// stringCheck is a validator.String made of its description and a check of a known value.
type stringCheck struct {
	description string
	check       func(at path.Path, value string, diags *diag.Diagnostics)
}

func (c stringCheck) Description(context.Context) string { return c.description }

func (c stringCheck) MarkdownDescription(context.Context) string { return c.description }

func (c stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return // checked when it is known; at apply the provider still refuses to act on it
	}
	c.check(req.Path, req.ConfigValue.ValueString(), &resp.Diagnostics)
}

// positiveRate requires a number of requests per second above zero: client-go reads 0 as its own
// default (5) and a negative rate as no limit at all, neither of which the user meant.
type positiveRate struct{}

func (positiveRate) Description(context.Context) string { return "a number above 0" }

func (positiveRate) MarkdownDescription(context.Context) string { return "a number above 0" }

func (positiveRate) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || req.ConfigValue.ValueFloat64() > 0 {
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid request rate",
		fmt.Sprintf("%s = %v: write a number of requests per second above 0, e.g. 20, or leave it out for the default.", req.Path, req.ConfigValue.ValueFloat64()))
}

// positiveDuration requires a Go duration above zero. The duration type and the timeouts package
// check only the syntax, and "-720h" parses: a negative TTL makes Velero expire the backup at
// once, and a negative timeout ends the wait before it starts.
func positiveDuration() validator.String { return durationCheck("") }

// positiveDurationOrZero also admits 0, where Velero reads 0 as off; zeroMeans says what it does.
// Velero silently replaces a negative value by its server default.
func positiveDurationOrZero(zeroMeans string) validator.String { return durationCheck(zeroMeans) }

func durationCheck(zeroMeans string) stringCheck {
	description, fix := "a Go duration above zero", `write a Go duration above zero, e.g. "90s", "30m" or "720h"`
	if zeroMeans != "" {
		description += `, or "0s" to ` + zeroMeans
		fix += `, or "0s" to ` + zeroMeans
	}
	return stringCheck{description: description, check: func(at path.Path, value string, diags *diag.Diagnostics) {
		d, err := time.ParseDuration(value)
		if err != nil || d > 0 || (d == 0 && zeroMeans != "") {
			return // a syntax error is reported by the attribute's type
		}
		what := "negative"
		if d == 0 {
			what = "zero"
		}
		diags.AddAttributeError(at, "Invalid duration", fmt.Sprintf("%s = %q is %s: %s.", at, value, what, fix))
	}}
}

// kubernetesNamespace requires a namespace name Kubernetes accepts (a DNS-1123 label), so a typo
// fails the plan instead of a preflight or a Velero object half-way through apply.
func kubernetesNamespace() validator.String {
	return stringCheck{
		description: "a Kubernetes namespace name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
		check: func(at path.Path, value string, diags *diag.Diagnostics) {
			if errs := validation.IsDNS1123Label(value); len(errs) > 0 {
				diags.AddAttributeError(at, "Invalid namespace name",
					fmt.Sprintf("%s = %q is not a Kubernetes namespace name: %s.", at, value, strings.Join(errs, "; ")))
			}
		},
	}
}

// cronExpression requires a schedule the Velero server accepts (it is read with the server's own
// parser): otherwise Velero only marks the Schedule FailedValidation, and no backup is ever made.
func cronExpression() validator.String {
	return stringCheck{
		description: "a cron expression of five fields, or a descriptor such as @daily or @every 6h",
		check: func(at path.Path, value string, diags *diag.Diagnostics) {
			if _, err := backups.ParseCron(value, time.Now()); err != nil {
				diags.AddAttributeError(at, "Invalid schedule",
					fmt.Sprintf("%s = %q is not a schedule Velero accepts (%v): write five cron fields, minute hour day-of-month month day-of-week "+
						"(e.g. \"0 3 * * *\", UTC), or a descriptor such as \"@daily\" or \"@every 6h\".", at, value, err))
			}
		},
	}
}

// singleLine refuses line breaks in the S3 keys: they are written into an AWS credentials (ini)
// file, where a break cuts the key short and starts a line read as another setting. The message
// never quotes the value, which may be a secret.
func singleLine() validator.String {
	return stringCheck{
		description: "a single line (no newline or carriage return)",
		check: func(at path.Path, value string, diags *diag.Diagnostics) {
			if strings.ContainsAny(value, "\r\n") {
				diags.AddAttributeError(at, "Line break in "+at.String(),
					at.String()+" contains a line break; it is written into an AWS credentials file, where the break would cut the key short. "+
						"Remove it: a value read with file() usually ends with a newline, which trimspace() removes.")
			}
		},
	}
}

// warnPlainHTTP warns about an endpoint that sends backups unencrypted across a network. Plain
// http to this machine (loopback) or the link (link-local) is the usual test or sidecar setup.
func warnPlainHTTP() validator.String {
	return stringCheck{
		description: "warns when plain http:// goes to a host that is neither loopback nor link-local",
		check: func(at path.Path, value string, diags *diag.Diagnostics) {
			u, err := url.Parse(value)
			if err != nil || u.Scheme != "http" || loopbackOrLinkLocal(u.Hostname()) {
				return
			}
			diags.AddAttributeWarning(at, "Unencrypted S3 endpoint",
				fmt.Sprintf("%s = %q is plain http:// to %s, which is neither loopback nor link-local: backup data, database dumps included, "+
					"and the signed requests cross the network unencrypted. Use https:// (with ca_cert for a private CA).", at, value, u.Hostname()))
		},
	}
}

// loopbackOrLinkLocal reports whether host is "localhost" or an address in 127.0.0.0/8, ::1,
// 169.254.0.0/16 or fe80::/10.
func loopbackOrLinkLocal(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsLinkLocalUnicast()
}

// kubernetesLabels requires label keys and values Kubernetes accepts: Velero copies them onto
// its object, and the API server would refuse the object at apply.
func kubernetesLabels() validator.Map { return labelsValidator{} }

type labelsValidator struct{}

func (labelsValidator) Description(context.Context) string {
	return "Kubernetes labels: keys `[prefix/]name` (name up to 63 characters), values up to 63 characters of letters, digits, '-', '_' and '.'"
}

func (v labelsValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (labelsValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	elements := req.ConfigValue.Elements()
	for _, key := range slices.Sorted(maps.Keys(elements)) {
		at := req.Path.AtMapKey(key)
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			resp.Diagnostics.AddAttributeError(at, "Invalid label key",
				fmt.Sprintf("%s: key %q is not a Kubernetes label key: %s.", req.Path, key, strings.Join(errs, "; ")))
		}
		value, ok := elements[key].(types.String)
		if !ok || value.IsNull() || value.IsUnknown() {
			continue
		}
		if errs := validation.IsValidLabelValue(value.ValueString()); len(errs) > 0 {
			resp.Diagnostics.AddAttributeError(at, "Invalid label value",
				fmt.Sprintf("%s: value %q of key %q is not a Kubernetes label value: %s.", req.Path, value.ValueString(), key, strings.Join(errs, "; ")))
		}
	}
}

// positiveTimeouts adds positiveDuration to each duration of a timeouts attribute (the package
// checks only their syntax).
func positiveTimeouts(timeouts schema.Attribute) schema.Attribute {
	nested, ok := timeouts.(schema.SingleNestedAttribute)
	if !ok {
		panic(fmt.Sprintf("timeouts attribute is a %T, not a single nested attribute", timeouts))
	}
	for name, a := range nested.Attributes {
		if s, ok := a.(schema.StringAttribute); ok {
			s.Validators = append(slices.Clone(s.Validators), positiveDuration())
			nested.Attributes[name] = s
		}
	}
	return nested
}
