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
  up         build what is missing, start every component, wait until ready, write .sandbox/env;
             refuses when the machine's stack belongs to another checkout (one stack per machine)
  down       stop everything this checkout's stack started and remove its mounts, network and
             state; touches nothing of another checkout's stack
  down -orphaned
             also remove a stack whose checkout is gone, or stack parts no checkout claims
  test-env up | down
             start (or find) the clone guide's test environment on the running stack: Velero in
             namespace velero-test with a key that reads only the bucket's production/ prefix
             (and writes its restores/); down deletes it
  du PREFIX...
             the bytes the stack's bucket holds under each prefix
  upload-probe MB
             upload MB of random bytes to the bucket on the stack's network, delete them, print
             the throughput (the machine's limit the benchmarks compare against)
  status     show each component and its health (exit 1 if not all up)
  leftovers  list anything of the stack still present (exit 1 if any)
  unguard    remove the guard routes that keep the stack's addresses on this machine (they
             outlive down on purpose; only when no local stack will run here again)
`

func main() {
	repo := flag.String("repo", ".", "repository root")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	flag.Parse()
	if flag.NArg() < 1 || (flag.NArg() > 1 && flag.Arg(0) != "down" && flag.Arg(0) != "test-env" && flag.Arg(0) != "du" && flag.Arg(0) != "upload-probe") {
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
		opts := flag.NewFlagSet("down", flag.ExitOnError)
		orphaned := opts.Bool("orphaned", false, "also remove a stack whose checkout is gone, or stack parts no checkout claims")
		_ = opts.Parse(flag.Args()[1:])
		err = sandbox.Down(context.WithoutCancel(ctx), layout, os.Stdout, sandbox.DownOptions{Orphaned: *orphaned})
	case "test-env":
		switch flag.Arg(1) {
		case "up":
			var env sandbox.TestEnvironment
			if env, err = layout.UpTestEnvironment(ctx, os.Stdout); err == nil {
				fmt.Printf("test environment up: Velero in namespace %s, key %s (secret in %s)\n", env.Namespace, env.Key.AccessKeyID, layout.PKIDir())
			}
		case "down":
			err = layout.DownTestEnvironment(ctx)
		default:
			flag.Usage()
			os.Exit(2)
		}
	case "du":
		for _, prefix := range flag.Args()[1:] {
			var n int64
			if n, err = layout.BucketBytes(ctx, prefix); err != nil {
				break
			}
			fmt.Println(n, prefix)
		}
	case "upload-probe":
		var mb int
		if _, err = fmt.Sscan(flag.Arg(1), &mb); err == nil {
			var rate float64
			if rate, err = layout.UploadProbe(ctx, mb); err == nil {
				fmt.Printf("%.1f MB/s\n", rate)
			}
		}
	case "unguard":
		err = sandbox.Unguard(ctx, layout)
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
