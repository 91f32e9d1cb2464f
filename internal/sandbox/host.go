package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// hostPackages are the Debian packages the stack runs as they are, keyed by a file each provides.
var hostPackages = map[string]string{
	"/usr/bin/containerd": "containerd",
	"/usr/bin/ctr":        "containerd",
	"/usr/sbin/runc":      "runc",
	"/usr/lib/cni/bridge": "containernetworking-plugins",
	"/usr/bin/etcd":       "etcd-server",
	"/usr/sbin/iptables":  "iptables",
	"/usr/sbin/ip":        "iproute2",
	"/usr/bin/mmdebstrap": "mmdebstrap",
	"/usr/bin/dpkg-deb":   "dpkg",
	"/usr/bin/shellcheck": "shellcheck",
}

// ensureHostPackages installs the Debian packages that are missing, so a fresh machine needs
// nothing installed by hand.
func ensureHostPackages(ctx context.Context, log io.Writer) error {
	missing := map[string]bool{}
	for file, pkg := range hostPackages {
		if _, err := os.Stat(file); err != nil {
			missing[pkg] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var pkgs []string
	for p := range missing {
		pkgs = append(pkgs, p)
	}
	fmt.Fprintf(log, "installing Debian packages: %s\n", strings.Join(pkgs, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	update := exec.CommandContext(ctx, "apt-get", "update", "-qq")
	update.Env = env
	if out, err := update.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w: %s", err, out)
	}
	install := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)...)
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %w: %s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}
