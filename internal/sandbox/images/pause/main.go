// Command pause is PID 1 of every pod sandbox: it holds the pod's namespaces open, reaps zombie
// children (orphans of the pod's containers are reparented to it when the PID namespace is
// shared), and exits cleanly on SIGTERM or SIGINT.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Println("styrmin pause 1")
		return
	}
	sigs := make(chan os.Signal, 8)
	// As PID 1 the kernel ignores signals without a handler, so the handlers are what make
	// SIGTERM/SIGINT stop the sandbox.
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	reap()
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			fmt.Fprintf(os.Stderr, "pause: %s, exiting\n", sig)
			os.Exit(0)
		}
	}
}

// reap collects every exited child without blocking; SIGCHLD signals coalesce, so one signal may
// stand for several children.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
