package sandbox

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// The stack's network is one link-local bridge that the host and every pod sit on. Pods get no
// default route, so they can reach only that subnet and the service IP routed through the host.
//
// Guard routes keep every address of the stack on this machine: an unreachable route for each of
// its ranges, with a metric above the kernel's route for the bridge (metric 0), so the kernel uses
// a guard only when the bridge does not serve the range: its address removed, the bridge deleted,
// the stack down. Without them a connection to the API server's address (a stale kubeconfig, a
// component still running) would follow the default route off the machine. They are added before
// the bridge and never removed by down: they cost nothing, and go with a reboot or `unguard`.

// guardRanges are the stack's link-local ranges: the bridge with its pods, and the services.
var guardRanges = []string{PodSubnet, ServiceSubnet}

// GuardMetric is the guard routes' metric; the bridge's own route (metric 0) wins while it exists.
const GuardMetric = 4096

func guardRoute(verb, cidr string) []string {
	return []string{"route", verb, "unreachable", cidr, "metric", fmt.Sprint(GuardMetric)}
}

// guardUp adds the guard routes; `replace` makes it idempotent.
func guardUp(ctx context.Context) error {
	for _, cidr := range guardRanges {
		if _, err := run(ctx, "ip", guardRoute("replace", cidr)...); err != nil {
			return fmt.Errorf("network: guard route for %s: %w", cidr, err)
		}
	}
	return nil
}

// GuardDown removes the guard routes. Only for a machine where no local stack will run again.
func GuardDown(ctx context.Context) error {
	present := guardsPresent(ctx)
	for _, cidr := range guardRanges {
		if !present[cidr] {
			continue
		}
		if _, err := run(ctx, "ip", guardRoute("del", cidr)...); err != nil {
			return err
		}
	}
	return nil
}

// MissingGuards lists the stack's ranges that have no guard route.
func MissingGuards(ctx context.Context) []string {
	present := guardsPresent(ctx)
	var missing []string
	for _, cidr := range guardRanges {
		if !present[cidr] {
			missing = append(missing, cidr)
		}
	}
	return missing
}

// guardsPresent reports, by range, which guard routes the main table holds.
func guardsPresent(ctx context.Context) map[string]bool {
	out, _ := run(ctx, "ip", "-o", "route", "show", "table", "main", "type", "unreachable")
	present := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); isGuardRoute(line) {
			present[f[1]] = true
		}
	}
	return present
}

// isGuardRoute tells a guard route from the other routes of the stack's ranges in `ip route` output.
func isGuardRoute(line string) bool {
	f := strings.Fields(line)
	return len(f) >= 4 && f[0] == "unreachable" && f[2] == "metric" && f[3] == fmt.Sprint(GuardMetric)
}

// serviceDNAT sends pods' connections to the "kubernetes" service IP to the API server.
var serviceDNAT = []string{
	"-i", BridgeName, "-d", KubernetesSvcIP + "/32", "-p", "tcp", "--dport", "443",
	"-m", "comment", "--comment", IptablesComment,
	"-j", "DNAT", "--to-destination", fmt.Sprintf("%s:%d", BridgeAddress, APIServerPort),
}

func networkUp(ctx context.Context) error {
	if err := guardUp(ctx); err != nil {
		return err
	}
	if _, err := net.InterfaceByName(BridgeName); err != nil {
		if _, err := run(ctx, "ip", "link", "add", BridgeName, "type", "bridge"); err != nil {
			return fmt.Errorf("network: create bridge: %w", err)
		}
	}
	addrs, _ := run(ctx, "ip", "-4", "-o", "addr", "show", "dev", BridgeName)
	if !strings.Contains(addrs, BridgeAddress+"/") {
		if _, err := run(ctx, "ip", "addr", "add", BridgeAddress+"/24", "dev", BridgeName); err != nil {
			return fmt.Errorf("network: address bridge: %w", err)
		}
	}
	if _, err := run(ctx, "ip", "link", "set", BridgeName, "up"); err != nil {
		return fmt.Errorf("network: bridge up: %w", err)
	}
	if _, err := run(ctx, "iptables", natRule("-C", serviceDNAT)...); err != nil {
		if _, err := run(ctx, "iptables", natRule("-A", serviceDNAT)...); err != nil {
			return fmt.Errorf("network: service DNAT rule: %w", err)
		}
	}
	return nil
}

func natRule(verb string, spec []string) []string {
	return append([]string{"-t", "nat", verb, "PREROUTING"}, spec...)
}

// networkDown removes what networkUp added but the guard routes; it is safe to run when nothing is
// there. It also removes the unguarded service route that stacks made before the guards.
func networkDown(ctx context.Context) error {
	var errs []string
	for _, rule := range taggedRules(ctx) {
		args := append([]string{"-t", "nat"}, strings.Fields(strings.Replace(rule, "-A ", "-D ", 1))...)
		if _, err := run(ctx, "iptables", unquote(args)...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, line := range stackRoutes(ctx) {
		if _, err := run(ctx, "ip", append([]string{"route", "del"}, strings.Fields(line)...)...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if _, err := net.InterfaceByName(BridgeName); err == nil {
		if _, err := run(ctx, "ip", "link", "del", BridgeName); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("network teardown: %s", strings.Join(errs, "; "))
	}
	return nil
}

// taggedRules lists the nat rules carrying the stack's comment, in `iptables -S` form.
func taggedRules(ctx context.Context) []string {
	out, err := run(ctx, "iptables", "-t", "nat", "-S")
	if err != nil {
		return nil
	}
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-A ") && strings.Contains(line, IptablesComment) {
			rules = append(rules, line)
		}
	}
	return rules
}

// unquote strips the quotes iptables -S puts around comments.
func unquote(args []string) []string {
	for i, a := range args {
		args[i] = strings.Trim(a, `"`)
	}
	return args
}

// stackRoutes lists the main table's routes for the stack's ranges other than the guards and the
// kernel's own route of the bridge, in `ip -o route` form.
func stackRoutes(ctx context.Context) []string {
	out, _ := run(ctx, "ip", "-o", "route", "show", "table", "main")
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || isGuardRoute(line) || strings.Contains(line, "proto kernel") {
			continue
		}
		for _, cidr := range guardRanges {
			if strings.Contains(line, cidr) {
				lines = append(lines, line)
				break
			}
		}
	}
	return lines
}

// NetworkLeftovers describes what of the stack's network still exists (empty when clean); the
// guard routes are kept on purpose and not listed.
func NetworkLeftovers(ctx context.Context) []string {
	var left []string
	if _, err := net.InterfaceByName(BridgeName); err == nil {
		left = append(left, "bridge "+BridgeName)
	}
	for _, r := range taggedRules(ctx) {
		left = append(left, "iptables rule: "+r)
	}
	for _, r := range stackRoutes(ctx) {
		left = append(left, "route: "+r)
	}
	return left
}

// RouteTo is the kernel's route for ip as `ip route get` prints its first line, or "unreachable"
// when the kernel has none (a guard route).
func RouteTo(ctx context.Context, ip string) string {
	out, err := run(ctx, "ip", "route", "get", ip)
	if err != nil {
		if strings.Contains(out, "No route to host") {
			return "unreachable"
		}
		return err.Error()
	}
	first, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(first)
}
