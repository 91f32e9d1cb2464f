package provider

import (
	"context"
	"sync/atomic"

	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// Serve runs p as a Terraform plugin (protocol 6) at address, as providerserver.Serve does,
// with the framework's server behind RequestScoped.
func Serve(newProvider func() fwprovider.Provider, address string, debug bool) error {
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	return tf6server.Serve(address, func() tfprotov6.ProviderServer {
		return RequestScoped(providerserver.NewProtocol6(newProvider())())
	}, opts...)
}

// RequestScoped wraps a framework protocol server so that the per-resource calls hand it a
// context that lets go of the request's values (its loggers, about 30 KB) once the call
// returns. terraform-plugin-framework v1.19 keeps every request's context until the provider
// is stopped (proto6server.registerContext), so a plan of 1000 resources held about 90 MB live
// in any framework provider. The calls made once per command pass through unchanged.
func RequestScoped(server tfprotov6.ProviderServer) tfprotov6.ProviderServer {
	return requestScoped{server}
}

type requestScoped struct{ tfprotov6.ProviderServer }

// scopedCall runs rpc with a context that carries ctx's values and cancellation while rpc runs,
// and neither once it returns.
func scopedCall[Req, Resp any](ctx context.Context, req Req, rpc func(context.Context, Req) (Resp, error)) (Resp, error) {
	scoped, done := scopeContext(ctx)
	defer done()
	return rpc(scoped, req)
}

func scopeContext(parent context.Context) (context.Context, func()) {
	// Not a child of parent: a child would keep parent, values and all, for as long as the
	// framework keeps the child. Cancellation is forwarded instead.
	base, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(parent, cancel)
	scoped := &requestContext{Context: base}
	scoped.values.Store(&parent)
	return scoped, func() {
		scoped.values.Store(nil)
		stop()
		cancel()
	}
}

// requestContext is a cancellable context whose values are those of the request it serves,
// until that request ends.
type requestContext struct {
	context.Context // cancellation (and the context package's own lookups)
	values          atomic.Pointer[context.Context]
}

func (c *requestContext) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	if parent := c.values.Load(); parent != nil {
		return (*parent).Value(key)
	}
	return nil
}

func (s requestScoped) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s requestScoped) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s requestScoped) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ReadResource)
}

func (s requestScoped) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s requestScoped) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s requestScoped) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ImportResourceState)
}

func (s requestScoped) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ValidateDataResourceConfig)
}

func (s requestScoped) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return scopedCall(ctx, req, s.ProviderServer.ReadDataSource)
}
