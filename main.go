package main

import (
	"flag"
	"log"

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

	if err := provider.Serve(provider.New(version), "registry.terraform.io/styrmin/styrmin", debug); err != nil {
		log.Fatalf("terraform-provider-styrmin %s (%s): %s", version, commit, err)
	}
}
