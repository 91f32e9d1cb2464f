package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/styrmin/terraform-provider-styrmin/internal/provider"
)

// These are set by goreleaser through ldflags
// (-X main.version={{.Version}} -X main.commit={{.Commit}}).
var (
	version = "dev"
	commit  = "none"
)

// quietUnlessLogging turns the SDK's logs off when Terraform collects none: the framework
// formats a JSON TRACE line per step of every request otherwise, a quarter of the CPU of a
// large refresh, all of it thrown away by Terraform.
func quietUnlessLogging() {
	if provider.LoggingRequested() {
		return
	}
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		os.Setenv(v, "off")
	}
}

func main() {
	quietUnlessLogging()
	// A provider process lives for one Terraform command and allocates a lot of short-lived
	// schema data per request: collecting less often saves a fifth of a large refresh's CPU.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	var debug bool

	flag.BoolVar(&debug, "debug", false, "set to true to run the provider with support for debuggers like delve")
	flag.Parse()

	opts := providerserver.ServeOpts{
		Address:         "registry.terraform.io/styrmin/styrmin",
		Debug:           debug,
		ProtocolVersion: 6,
	}

	if err := providerserver.Serve(context.Background(), provider.New(version), opts); err != nil {
		log.Fatalf("terraform-provider-styrmin %s (%s): %s", version, commit, err)
	}
}
