package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/styrmin/terraform-provider-styrmin/internal/provider"
)

// These are set by goreleaser through ldflags
// (-X main.version={{.Version}} -X main.commit={{.Commit}}).
var (
	version = "dev"
	commit  = "none"
)

func main() {
	provider.TuneProcess()
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
