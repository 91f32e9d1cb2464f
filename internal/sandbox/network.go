package sandbox

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// The stack's network is one link-local bridge that the host and every pod sit on. Pods get no
// default route, so they can reach only that subnet and the service IP routed through the host.

// serviceDNAT sends pods' connections to the "kubernetes" service IP to the API server.
var serviceDNAT = []string{
	"-i", BridgeName, "-d", KubernetesSvcIP + "/32", "-p", "tcp", "--dport", "443",
	"-m", "comment", "--comment", IptablesComment,
	"-j", "DNAT", "--to-destination", fmt.Sprintf("%s:%d", BridgeAddress, APIServerPort),
}

func networkUp(ctx context.Context) error {
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
	// Guard: the host never routes the service range anywhere (its default route leads off the
	// machine). A host process dialing the service IP gets "unreachable" at once.
	routes, _ := run(ctx, "ip", "route", "show", "table", "main", "type", "unreachable")
	if !strings.Contains(routes, ServiceSubnet) {
		if _, err := run(ctx, "ip", "route", "add", "unreachable", ServiceSubnet); err != nil {
			return fmt.Errorf("network: guard route: %w", err)
		}
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

// networkDown removes exactly what networkUp added; it is safe to run when nothing is there.
func networkDown(ctx context.Context) error {
	var errs []string
	for _, rule := range taggedRules(ctx) {
		args := append([]string{"-t", "nat"}, strings.Fields(strings.Replace(rule, "-A ", "-D ", 1))...)
		if _, err := run(ctx, "iptables", unquote(args)...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if routes, _ := run(ctx, "ip", "route", "show", "table", "main", "type", "unreachable"); strings.Contains(routes, ServiceSubnet) {
		if _, err := run(ctx, "ip", "route", "del", "unreachable", ServiceSubnet); err != nil {
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

// NetworkLeftovers describes what of the stack's network still exists (empty when clean).
func NetworkLeftovers(ctx context.Context) []string {
	var left []string
	if _, err := net.InterfaceByName(BridgeName); err == nil {
		left = append(left, "bridge "+BridgeName)
	}
	for _, r := range taggedRules(ctx) {
		left = append(left, "iptables rule: "+r)
	}
	if routes, _ := run(ctx, "ip", "route", "show", "table", "all"); routes != "" {
		for _, line := range strings.Split(routes, "\n") {
			if strings.Contains(line, ServiceSubnet) || strings.Contains(line, PodSubnet) {
				left = append(left, "route: "+line)
			}
		}
	}
	return left
}
