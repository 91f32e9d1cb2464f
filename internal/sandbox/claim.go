package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// One stack runs per machine: its bridge, addresses, ports, iptables rule and the kubelet's pod
// cgroups are machine-wide. A claim file names the checkout whose stack owns them. Up writes it
// before it creates anything and refuses while another checkout (or a crashed run of one) holds
// it; Down releases it last, and in any other checkout touches nothing of the machine.

// machineDir holds the claim and the lock. Unit tests point it at a temporary directory.
var machineDir = "/run/styrmin-sandbox"

// Claim names the checkout whose stack owns this machine's stack resources.
type Claim struct {
	Dir   string    `json:"dir"` // that checkout's .sandbox directory
	PID   int       `json:"pid"` // the `styrmin-sandbox up` that wrote it
	Since time.Time `json:"since"`
}

// Repo is the claiming checkout.
func (c Claim) Repo() string { return filepath.Dir(c.Dir) }

// ClaimFile is where the machine's claim lives.
func ClaimFile() string { return filepath.Join(machineDir, "claim.json") }

// ReadClaim returns the machine's claim, or nil when no checkout holds one.
func ReadClaim() (*Claim, error) {
	data, err := os.ReadFile(ClaimFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Claim
	if err := json.Unmarshal(data, &c); err != nil || c.Dir == "" {
		return nil, fmt.Errorf("%s is not a claim (%v): remove it once no local stack runs", ClaimFile(), err)
	}
	return &c, nil
}

func writeClaim(c Claim) error {
	if err := os.MkdirAll(machineDir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := ClaimFile() + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, ClaimFile())
}

// releaseClaim removes the claim if, and only if, it names dir.
func releaseClaim(dir string) error {
	c, err := ReadClaim()
	if err != nil || c == nil || c.Dir != dir {
		return err
	}
	return os.Remove(ClaimFile())
}

// lockMachine serialises up and down across checkouts: a second one fails at once, naming the
// one that runs, instead of racing it for the bridge and the claim.
func lockMachine(dir string) (release func(), err error) {
	if err := os.MkdirAll(machineDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(machineDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another styrmin-sandbox up or down is running (%s): wait for it to end", strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d, checkout %s", os.Getpid(), filepath.Dir(dir))
	return func() {
		_ = f.Truncate(0)
		f.Close() // closing drops the lock; a crashed holder drops it too
	}, nil
}

// OwnedElsewhereError is Up's refusal: the machine's stack belongs to another checkout, or parts
// of a stack are present that no checkout claims.
type OwnedElsewhereError struct {
	Owner     string         // the owning .sandbox directory; "" when nobody claims the leftovers
	Since     time.Time      // when the owner claimed the machine (zero when inferred from processes)
	Processes []stackProcess // the owner's live processes
	Leftovers []string       // what is present of a stack with no owner, or of a gone owner
}

func (e *OwnedElsewhereError) Error() string {
	var b strings.Builder
	if e.Owner == "" {
		fmt.Fprintf(&b, "this machine holds parts of a local stack that no checkout claims: %s.\n", strings.Join(e.Leftovers, "; "))
		b.WriteString("One stack runs per machine. Remove them with  make sandbox-down ORPHANED=1  " +
			"(it stops only processes of a local stack; a port held by another program must be freed by hand).")
		return b.String()
	}
	repo := filepath.Dir(e.Owner)
	fmt.Fprintf(&b, "the local stack of the checkout %s owns this machine", repo)
	if !e.Since.IsZero() {
		fmt.Fprintf(&b, " (claimed %s)", e.Since.Local().Format(time.RFC3339))
	}
	switch {
	case len(e.Processes) > 0:
		fmt.Fprintf(&b, "; %d of its processes run (%s)", len(e.Processes), describeProcesses(e.Processes, 4))
	case len(e.Leftovers) > 0:
		fmt.Fprintf(&b, "; none of its processes runs, but it left %s", strings.Join(e.Leftovers, "; "))
	default:
		b.WriteString("; none of its processes runs (a crashed or interrupted run)")
	}
	b.WriteString(".\nOne stack runs per machine: nothing was touched. ")
	if exists(repo) {
		fmt.Fprintf(&b, "Stop that stack first:  make -C %s sandbox-down", repo)
	} else {
		b.WriteString("Its checkout is gone; remove what it left with  make sandbox-down ORPHANED=1")
	}
	return b.String()
}

func describeProcesses(ps []stackProcess, limit int) string {
	var parts []string
	for i, p := range ps {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(ps)-limit))
			break
		}
		parts = append(parts, fmt.Sprintf("%s pid %d", p.Name, p.PID))
	}
	return strings.Join(parts, ", ")
}
