// Command styrmin-sandbox builds, starts, checks and stops the project's local stack (a real
// Kubernetes node, Velero and MinIO on this machine). The GNUmakefile's sandbox-* targets call it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/styrmin/terraform-provider-styrmin/internal/sandbox"
)

const usage = `usage: styrmin-sandbox [-repo DIR] COMMAND

commands:
  up       build what is missing, start every component, wait until ready, write .sandbox/env
  down     stop everything the stack started and remove its mounts, network and state
  status   show each component and its health (exit 1 if not all up)
  leftovers  list anything of the stack still present (exit 1 if any)
`

func main() {
	repo := flag.String("repo", ".", "repository root")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	layout, err := sandbox.NewLayout(*repo)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	switch flag.Arg(0) {
	case "up":
		err = sandbox.Up(ctx, layout, os.Stdout)
	case "down":
		err = sandbox.Down(context.WithoutCancel(ctx), layout, os.Stdout)
	case "status":
		var ok bool
		ok, err = sandbox.Status(ctx, layout, os.Stdout)
		if err == nil && !ok {
			os.Exit(1)
		}
	case "leftovers":
		left := sandbox.Leftovers(ctx, layout)
		for _, l := range left {
			fmt.Println(l)
		}
		if len(left) > 0 {
			os.Exit(1)
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "styrmin-sandbox:", err)
	os.Exit(1)
}
